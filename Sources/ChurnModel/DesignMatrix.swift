import Foundation
import Linalg
import RetainIO

/// The design matrix: one row per customer, one column per term (no intercept), the
/// values after transforms; the label when the snapshot has one.
public struct DesignMatrix: Sendable {
    public let terms: [TermRecipe]
    public let rows: Int
    /// Row-major, `rows x terms.count`.
    public var values: [Double]
    /// 1 = churned; nil for an unlabelled snapshot.
    public let labels: [Double]?

    public var width: Int { terms.count }

    /// Per column: mean, population standard deviation, minimum and maximum, in two
    /// row-wise passes (column-wise loops over a row-major matrix miss the cache).
    /// Sums are taken per chunk (`Workers.chunks`) and added in chunk order, so the result
    /// is the same for any worker count.
    public func moments() -> (mean: [Double], sd: [Double], min: [Double], max: [Double]) {
        let q = width, n = rows
        let chunks = Workers.chunks(n, grain: DesignMatrix.reductionRows)
        struct Part: Sendable { var sum, ss, lo, hi: [Double] }
        let parts = Slots<Part>(count: chunks.count)
        // Pass 1: sums, minima and maxima of each chunk.
        values.withUnsafeBufferPointer { vb in
            let v = UnsafeSendable(vb)
            Workers.run(chunks.count) { k in
                var part = Part(sum: [Double](repeating: 0, count: q), ss: [Double](repeating: 0, count: q),
                                lo: [Double](repeating: .infinity, count: q), hi: [Double](repeating: -.infinity, count: q))
                for i in chunks[k] {
                    for j in 0..<q {
                        let x = v.value[i * q + j]
                        part.sum[j] += x
                        if x < part.lo[j] { part.lo[j] = x }
                        if x > part.hi[j] { part.hi[j] = x }
                    }
                }
                parts[k] = part
            }
        }
        var mean = [Double](repeating: 0, count: q)
        var lo = [Double](repeating: .infinity, count: q), hi = [Double](repeating: -.infinity, count: q)
        for k in chunks.indices {
            guard let p = parts[k] else { continue }
            for j in 0..<q { mean[j] += p.sum[j]; lo[j] = Swift.min(lo[j], p.lo[j]); hi[j] = Swift.max(hi[j], p.hi[j]) }
        }
        for j in 0..<q { mean[j] /= Double(Swift.max(n, 1)) }
        // Pass 2: squared deviations from the mean (two passes: no cancellation).
        let means = mean
        values.withUnsafeBufferPointer { vb in
            let v = UnsafeSendable(vb)
            Workers.run(chunks.count) { k in
                var ss = [Double](repeating: 0, count: q)
                for i in chunks[k] {
                    for j in 0..<q { let d = v.value[i * q + j] - means[j]; ss[j] += d * d }
                }
                parts[k]?.ss = ss
            }
        }
        var ss = [Double](repeating: 0, count: q)
        for k in chunks.indices { if let p = parts[k] { for j in 0..<q { ss[j] += p.ss[j] } } }
        return (mean, ss.map { ($0 / Double(Swift.max(n, 1))).squareRoot() }, lo, hi)
    }

    /// Rows per partial sum of a reduction (`Workers.chunks`): a snapshot of fewer
    /// customers is summed in one serial pass.
    public static let reductionRows = 65_536

    /// The column of term `j`.
    public func column(_ j: Int) -> [Double] {
        let q = width
        return (0..<rows).map { values[$0 * q + j] }
    }

    /// Builds the matrix of `table` by `terms`; a term whose feature the table lacks is
    /// an error naming both, never a silent column of zeros.
    public static func build(_ table: CSVTable, terms: [TermRecipe]) throws(ChurnModelError) -> DesignMatrix {
        try build(SnapshotColumns(table), terms: terms)
    }

    /// As `build(_:terms:)`, reading logged columns from `columns` (computed there once).
    public static func build(_ columns: SnapshotColumns, terms: [TermRecipe]) throws(ChurnModelError) -> DesignMatrix {
        let table = columns.table
        let n = table.count, q = terms.count
        var sources: [[Double]] = []
        for t in terms {
            guard let f = t.features.first, let col = columns.base(f, log1p: t.log1p) else {
                throw .missingFeature(term: t.name, feature: t.features.first ?? "?", file: table.path)
            }
            sources.append(col)
        }
        let steps = terms.map(\.steps)
        // Blocks of rows over the workers, each filled row by row across its terms: every cell
        // written once (no zeroing first), each row's cache lines while they are hot.
        let block = 8_192
        let blocks = (n + block - 1) / block
        let bad = Slots<Int>(count: Swift.max(blocks, 1))
        let values = [Double](unsafeUninitializedCapacity: n * q) { out, initialized in
            guard let o = out.baseAddress else { return }
            let op = UnsafeSendable(o)
            ColumnBuffers.reading(sources) { src in
                let sp = UnsafeSendable(src)
                steps.withUnsafeBufferPointer { sb in
                    guard let s0 = sb.baseAddress else { return }
                    let stp = UnsafeSendable(s0)
                    Workers.run(blocks) { b in
                        let out = op.value, src = sp.value, steps = stp.value
                        var firstBad = Int.max
                        let lo = b * block, hi = Swift.min(n, lo + block)
                        for i in lo..<hi {
                            let row = out + i * q
                            for j in 0..<q {
                                let v = steps[j].apply(src[j][i])
                                if !v.isFinite && firstBad == Int.max { firstBad = i * q + j }
                                row[j] = v
                            }
                        }
                        if firstBad != Int.max { bad[b] = firstBad }
                    }
                }
            }
            initialized = n * q
        }
        if let cell = (0..<blocks).lazy.compactMap({ bad[$0] }).first {
            // The first bad cell in row order; the message names its customer and feature.
            let (i, j) = cell.quotientAndRemainder(dividingBy: q)
            if sources[j][i].isNaN { throw .emptyWithoutFill(feature: terms[j].features[0], customer: table.key(i), file: table.path) }
            throw .nonFinite(feature: terms[j].features[0], customer: table.key(i), file: table.path)
        }
        var labels: [Double]? = nil
        if let y = table.column("churned") {
            for (i, v) in y.enumerated() where v != 0 && v != 1 {
                throw .badLabel(customer: table.key(i), value: v, file: table.path)
            }
            labels = y
        }
        return DesignMatrix(terms: terms, rows: n, values: values, labels: labels)
    }

    /// The recipes for fitting on `table`: one value term per feature (in snapshot order),
    /// transforms and clipping bounds from `settings`, medians to fill empty values, and an
    /// indicator for each distinct pattern of empty values. `leftOut` names features with no value at all.
    public static func recipes(for table: CSVTable, settings: ModelSettings) throws(ChurnModelError) -> (terms: [TermRecipe], leftOut: [(term: String, reason: String)]) {
        try recipes(for: SnapshotColumns(table), settings: settings)
    }

    /// As `recipes(for:settings:)`, reading logged columns from `columns`.
    public static func recipes(for columns: SnapshotColumns, settings: ModelSettings) throws(ChurnModelError) -> (terms: [TermRecipe], leftOut: [(term: String, reason: String)]) {
        let table = columns.table
        let available = table.names.filter { $0 != "churned" }
        let wanted = settings.features ?? available.filter { !ModelSettings.btydColumns.contains($0) }
        var bases: [[Double]] = []
        for f in wanted {
            let transform = settings.transforms[f] ?? TermTransform()
            guard let base = columns.base(f, log1p: transform.log1p) else { throw .missingFeature(term: f, feature: f, file: table.path) }
            bases.append(base)
        }
        // What each feature's recipe needs from its column, the columns shared out over
        // the workers (each a serial scan and up to three selections); the recipes are
        // then made in feature order.
        let minimumEmpty = Self.minimumEmptyForIndicator(rows: table.count)
        let profiles = Slots<ColumnProfile>(count: wanted.count)
        let columnsToProfile = bases
        Workers.run(wanted.count) { k in
            profiles[k] = ColumnProfile(columnsToProfile[k], quantiles: [settings.clipLower, settings.clipUpper, 0.5],
                                        minimumEmptyForMask: minimumEmpty)
        }
        var terms: [TermRecipe] = []
        var indicators: [(mask: [Bool], term: TermRecipe)] = []
        var leftOut: [(term: String, reason: String)] = []
        for (k, f) in wanted.enumerated() {
            let transform = settings.transforms[f] ?? TermTransform()
            guard let profile = profiles[k] else { continue }
            var t = TermRecipe(name: f, kind: .value, features: [f], log1p: transform.log1p)
            if let i = profile.firstNonFinite { throw .nonFinite(feature: f, customer: table.key(i), file: table.path) }
            if profile.empty == bases[k].count { leftOut.append((f, "empty for every customer")); continue }
            let missing = profile.empty > 0
            if transform.clip, let q = profile.quantiles {
                t.clipLower = FixedPoint.rounded(q[0], decimals: 9); t.clipUpper = FixedPoint.rounded(q[1], decimals: 9)
            }
            // The median of the transformed values, clipped like them, fills empty values:
            // also for a feature the fitting data has no empty value of, since the snapshot
            // scored later may (a customer whose spend nets to zero has no margin rate).
            var fill = FixedPoint.rounded(profile.quantiles?[2] ?? .nan, decimals: 9)
            if let lo = t.clipLower, fill < lo { fill = lo }
            if let hi = t.clipUpper, fill > hi { fill = hi }
            t.fill = fill
            if missing {
                guard let mask = profile.emptyMask else {
                    terms.append(t)
                    continue
                }
                if let j = indicators.firstIndex(where: { $0.mask == mask }) {
                    indicators[j].term.features.append(f)
                } else {
                    indicators.append((mask, TermRecipe(name: f + "_missing", kind: .missingIndicator, features: [f])))
                }
            }
            terms.append(t)
        }
        return (terms + indicators.map(\.term), leftOut)
    }
}

/// What a recipe needs from one column after its log step: its empty (NaN) values
/// counted, the first value that is infinite, the requested quantiles of the rest (the
/// clip bounds and the fill) and, when empties are many enough for an indicator, which
/// rows are empty.
struct ColumnProfile: Sendable {
    var empty = 0
    var firstNonFinite: Int? = nil
    var quantiles: [Double]? = nil
    var emptyMask: [Bool]? = nil

    init(_ base: [Double], quantiles qs: [Double], minimumEmptyForMask: Int) {
        for (i, b) in base.enumerated() {
            if b.isNaN { empty += 1 } else if !b.isFinite && firstNonFinite == nil { firstNonFinite = i }
        }
        guard firstNonFinite == nil, empty < base.count else { return }
        var present = empty > 0 ? base.filter { !$0.isNaN } : base
        quantiles = Quantile.selecting(&present, qs)
        if empty >= minimumEmptyForMask { emptyMask = base.map(\.isNaN) }
    }
}


extension DesignMatrix {
    /// An indicator is made only when at least this many rows are empty (10, or 0.1% of
    /// the rows if more): an indicator true for a handful of customers separates them
    /// perfectly and only adds a coefficient that runs off; those rows just get the fill.
    public static func minimumEmptyForIndicator(rows: Int) -> Int { max(10, rows / 1000) }
}
