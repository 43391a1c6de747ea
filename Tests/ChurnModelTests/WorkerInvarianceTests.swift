@testable import ChurnModel
import Foundation
import RetainIO
import RetainTestSupport
import Testing

/// Reductions over many chunks give the same bits for any worker count. (Other tests may
/// run meanwhile: they are unaffected, since no result depends on the count.)
@Suite("Worker count, in-process")
struct WorkerInvarianceTests {
    /// 300,000 rows of three columns: four chunks for the moments, thirty-six for a pass.
    static func design() -> (DesignMatrix, [Double]) {
        var rng = SplitMix(seed: 7)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        let n = 300_000, q = 3
        var values = [Double](repeating: 0, count: n * q), labels = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<q { values[i * q + j] = uniform() * Double(j + 1) - 0.5 }
            let eta = 0.8 * values[i * q] - 0.5 * values[i * q + 1] + 0.3 * values[i * q + 2]
            labels[i] = uniform() < Logistic.sigmoid(eta) ? 1 : 0
        }
        let terms = (0..<q).map { TermRecipe(name: "x\($0)", kind: .value, features: ["x\($0)"]) }
        return (DesignMatrix(terms: terms, rows: n, values: values, labels: labels), labels)
    }

    @Test("moments, a logistic fit and probabilities: identical bits for 1, 2, 3, 5 and 8 workers")
    func identical() throws {
        let (x, y) = Self.design()
        defer { Workers.use(Workers.available()) }
        var reference: [UInt64]? = nil
        for n in [1, 2, 3, 5, 8] {
            Workers.use(n)
            let m = x.moments()
            let fit = try Logistic.fit(x, labels: DoubleColumn(y), classWeights: nil, l2: 0, tolerance: 1e-10, maxIterations: 50)
            let p = Logistic.probabilities(fit.coefficients, x)
            let bits = (m.mean + m.sd + fit.coefficients + fit.standardErrors + [p.reduce(0, +)]).map(\.bitPattern)
            if let reference { #expect(bits == reference, "\(n) workers") } else { reference = bits }
        }
    }
}

@Suite("Design matrix: memory")
struct DesignMemoryTests {
    /// The design reads the snapshot's own columns (and `SnapshotColumns`' one logged copy):
    /// building it, and leaving terms out of it, copies no column.
    @Test("a design and its selections share the snapshot's columns")
    func sharesColumns() throws {
        let n = 10_000
        let money: [Double] = (0..<n).map { Double($0 % 97) + 0.5 }, count: [Double] = (0..<n).map { Double($0 % 5) }
        let y: [Double] = (0..<n).map { Double($0 % 2) }
        let columns = SnapshotColumns(table([("money", money), ("count", count), ("churned", y)]))
        var s = ModelSettings()
        s.transforms = ["money": TermTransform(log1p: true)]
        let (terms, _) = try DesignMatrix.recipes(for: columns, settings: s)
        let d = try DesignMatrix.build(columns, terms: terms)
        func address(_ a: DoubleColumn) -> UnsafePointer<Double>? { a.withUnsafeBufferPointer { $0.baseAddress } }
        let logged = try #require(columns.base("money", log1p: true)), raw = try #require(columns.column("count"))
        #expect(d.sources.map(address) == [address(logged), address(raw)])
        #expect(d.selecting([1]).sources.map(address) == [address(raw)])
    }
}
