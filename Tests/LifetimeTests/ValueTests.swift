import Foundation
import Testing
@testable import Lifetime
import RetainIO
import RetainTestSupport

@Suite("Lifetime value")
struct ValueTests {
    static let purchases = BGNBD(r: 0.5, alpha: 60, a: 0.8, b: 2.5)
    static let spend = GammaGamma(p: 6, q: 3.5, gamma: 15)

    /// Expected figures from lifetimes 0.11 at the same parameters (BetaGeoFitter and
    /// GammaGammaFitter with `params_` set; CLV summed by hand over 3 months of 365.25/12
    /// days at (1.1)^(1/12) − 1 a month): x = 2, tₓ = 30, T = 60, z̄ = 22.5, margin 0.3,
    /// cost to serve 1: P(alive) 0.68063713, E[Y(90)] 1.08222031, spend 24.82758621,
    /// CLV 6.95855574; x = 0, T = 45, margin 0.4: P(alive) 1, E[Y(90)] 0.37628905, spend
    /// pγ/(q − 1) = 36, CLV 5.40473070.
    @Test("CLV by hand for two customers, one without a repeat purchase")
    func twoCustomers() {
        var settings = ValueSettings()
        settings.horizonMonths = 3
        let model = LifetimeValue(purchases: Self.purchases, spend: Self.spend, settings: settings, targetDays: 90, minimumTenureDays: 30)
        let v = model.values([
            ValueInput(x: 2, tx: 30, T: 60, meanSpend: 22.5, churnProbability: 0.5, observedSpend: 20, marginRate: 0.3, serviceCost: 1),
            ValueInput(x: 0, tx: 0, T: 45, meanSpend: 0, churnProbability: 0.5, observedSpend: 20, marginRate: 0.4, serviceCost: 0),
        ])
        #expect(isClose(v[0].pAlive, 0.68063713, rel: 1e-7))
        #expect(isClose(v[0].expectedPurchases, 1.0822203093596372, rel: 1e-9))
        #expect(isClose(v[0].expectedSpend, 24.82758620689655, rel: 1e-12))
        #expect(isClose(v[0].clv, 6.958555738573329, rel: 1e-9))
        #expect(isClose(v[1].pAlive, 1, rel: 1e-15))
        #expect(isClose(v[1].expectedPurchases, 0.37628904625392584, rel: 1e-9))
        #expect(isClose(v[1].expectedSpend, 36, rel: 1e-12))
        #expect(isClose(v[1].clv, 5.404730703822042, rel: 1e-9))
    }

    @Test("P(no purchase) over t: 1 at t = 0, falling with t, and equal to 1 − P(alive) for a customer who cannot come back")
    func noPurchase() {
        let m = Self.purchases
        #expect(isClose(m.pNoPurchase(0, x: 2, tx: 30, T: 60), 1, rel: 1e-15))
        let p90 = m.pNoPurchase(90, x: 2, tx: 30, T: 60), p365 = m.pNoPurchase(365, x: 2, tx: 30, T: 60)
        #expect(p90 > p365 && p365 > 1 - m.pAlive(x: 2, tx: 30, T: 60))
    }

    @Test("the fallbacks: without BG/NBD, P(alive) = 1 − p and purchases at the observed rate; without Gamma-Gamma, the observed spend")
    func fallbacks() {
        var settings = ValueSettings()
        settings.horizonMonths = 1
        settings.annualDiscountRate = 0
        let model = LifetimeValue(purchases: nil, spend: nil, settings: settings, targetDays: 90, minimumTenureDays: 30)
        let v = model.values([ValueInput(x: 3, tx: 40, T: 80, meanSpend: 10, churnProbability: 0.25, observedSpend: 12,
                                         marginRate: 0.5, serviceCost: 2)])[0]
        // Rate (x + 1)/T = 4/80 a day; E[Y(90)] = 0.75 · 0.05 · 90; CLV = 0.75 · 0.05 · 30.4375 · (12 · 0.5 − 2).
        #expect(isClose(v.pAlive, 0.75, rel: 1e-15))
        #expect(isClose(v.expectedPurchases, 0.75 * 0.05 * 90, rel: 1e-12))
        #expect(isClose(v.expectedSpend, 12, rel: 1e-15))
        #expect(isClose(v.clv, 0.75 * 0.05 * 30.4375 * 4, rel: 1e-12))
    }

    @Test("a fit stopped before it converges says so once, and its estimates are finite")
    func noConvergence() throws {
        let (summary, _, _) = try CDNOWTests.publishedSummary()
        let fit = try BGNBD.fit(summary, maxIterations: 1)
        #expect(!fit.converged && fit.warnings == ["BG/NBD: the fit did not converge in 1 iterations; the last estimates are used"], "\(fit.warnings)")
        #expect(fit.model.parameters.allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test("bad cases: no repeat purchase at all, fewer than 50 repeat customers: errors the stage falls back on")
    func badCases() {
        let oneOff = CustomerSummary(x: [0, 0, 0], tx: [0, 0, 0], T: [10, 20, 30])
        #expect(throws: LifetimeError.self) { try BGNBD.fit(oneOff) }
        #expect(throws: LifetimeError.tooFewCustomers(model: "Gamma-Gamma", what: "repeat customers with a positive spend", found: 3, needed: 50)) {
            try GammaGamma.fit(x: [1, 2, 3], meanSpend: [10, 20, 30])
        }
    }
}

/// The P(alive) matrix against lifetimes 0.11: `BetaGeoFitter` with `params_` set to
/// r 0.2683, alpha 41.99, a 0.4832, b 2.1086 (CDNOW's fit, in days), then
/// `conditional_probability_alive(frequency, recency, T=545)`.
@Suite("P(alive) matrix")
struct AliveMatrixTests {
    @Test func cellsMatchLifetimes() throws {
        let model = BGNBD(r: 0.2683, alpha: 41.99, a: 0.4832, b: 2.1086)
        let x = (0...18).map(Double.init), T = x.map { 545 * ($0 + 1) / 19 }
        let m = try #require(AliveMatrix.make(model, x: x, T: T, columns: 4))
        #expect(m.ageDays == 545 && m.frequencies == Array(0...18))
        #expect(allClose(m.recencyDays, [0, 136.25, 272.5, 408.75, 545]))
        #expect(m.pAlive[0].allSatisfy { $0 == 1 })
        #expect(isClose(m.pAlive[1][0], 0.1333232828415619, rel: 1e-9))
        #expect(isClose(m.pAlive[1][2], 0.6641535376284383, rel: 1e-9))
        #expect(isClose(m.pAlive[5][4], 0.9266968051215145, rel: 1e-9))
        #expect(isClose(AliveMatrix.make(model, x: [0, 5], T: [100, 545], columns: 4)?.pAlive[5][0] ?? 0,
                        model.pAlive(x: 5, tx: 0, T: 545), rel: 1e-12))
        // The rows stop at the 99th percentile of x (at least 5): one buyer of 200 does not make 200 rows.
        #expect(AliveMatrix.make(model, x: Array(repeating: 1, count: 200) + [200], T: Array(repeating: 300, count: 201))?.frequencies.last == 5)
        #expect(AliveMatrix.make(model, x: [], T: []) == nil)
    }
}

/// The value stage reads `summary.csv` and `scores.csv` into mapped columns and writes
/// `value.csv` a block of customers at a time: what it fits and writes must not depend on
/// either.
@Suite("Value stage inputs as whole columns, outputs in blocks")
struct ValueColumnsTests {
    /// CDNOW's 946 repeat customers with customers Gamma-Gamma leaves out put between them
    /// (no repeat purchase; repeat purchases whose refunds leave no spend; no spend figure).
    static func columns() throws -> (x: [Double], z: [Double], repeatX: [Double], repeatZ: [Double]) {
        let (_, rx, rz) = try CDNOWTests.publishedSummary()
        var x: [Double] = [], z: [Double] = []
        for i in rx.indices {
            x.append(rx[i]); z.append(rz[i])
            switch i % 4 {
            case 0: x.append(0); z.append(0)
            case 1: x.append(2); z.append(0)
            case 2: x.append(0); z.append(.nan)
            default: break
            }
        }
        return (x, z, rx, rz)
    }

    @Test("Gamma-Gamma on whole columns, in memory or mapped, fits the repeat customers to the bit of a fit on their rows alone")
    func gammaGammaOnColumns() throws {
        let (x, z, rx, rz) = try Self.columns()
        let alone = try GammaGamma.fit(x: rx, meanSpend: rz)
        let dir = TemporaryFolder()
        let csv = "customer_id,x,zbar\n" + x.indices.map { "c\($0),\(x[$0]),\(z[$0].isNaN ? "" : String(z[$0]))\n" }.joined()
        let mapped = try MappedColumns.read(try dir.write("summary.csv", csv), scratch: dir.path, blockBytes: 4096)
        let mx = try #require(mapped.column("x")), mz = try #require(mapped.column("zbar"))
        #expect(GammaGamma.repeatCustomers(x: mx, meanSpend: mz) == 946)
        for fit in [try GammaGamma.fit(x: x, meanSpend: z), try GammaGamma.fit(x: mx, meanSpend: mz)] {
            #expect(fit.customers == 946)
            #expect(fit.model.parameters.map(\.bitPattern) == alone.model.parameters.map(\.bitPattern))
            #expect(fit.logLikelihood.bitPattern == alone.logLikelihood.bitPattern)
            #expect(fit.frequencySpendCorrelation.bitPattern == alone.frequencySpendCorrelation.bitPattern)
        }
    }

    /// The rows of the matrix stop at the 99th percentile of x, the value at rank
    /// ⌈0.99 (n − 1)⌉ of the sorted x: read off counts, it must be that value.
    @Test("the P(alive) matrix's rows stop where the sorted x puts the 99th percentile")
    func percentileByCounts() {
        let model = BGNBD(r: 0.2683, alpha: 41.99, a: 0.4832, b: 2.1086)
        var rng = SplitMix(seed: 9)
        for n in [1, 2, 99, 100, 101, 1000, 4321] {
            let x = (0..<n).map { _ in Double(rng.next() % 60) }
            let sorted = x.sorted(), p99 = sorted[min(n - 1, Int((Double(n - 1) * 0.99).rounded(.up)))]
            let m = AliveMatrix.make(model, x: x + [.nan], T: x.map { 10 + $0 } + [.infinity])
            #expect(m?.frequencies.last == min(40, max(5, Int(p99.rounded(.up)))), "n \(n)")
            #expect(m?.ageDays == 10 + sorted[n - 1])
        }
    }

    @Test("value.csv is the same file whatever the block, each customer asked for once, in order")
    func blocks() throws {
        let dir = TemporaryFolder()
        let n = 1003
        let csv = "customer_id,churn_probability\n" + (0..<n).map { $0 % 17 == 0 ? "\"c,\($0)\"\n" : "c\($0)\n" }.map { $0.dropLast() + ",0.5\n" }.joined()
        let keys = try MappedColumns.read(try dir.write("scores.csv", csv), scratch: dir.path)
        let file = ValueFile(asOf: "2025-12-31", settings: ValueSettings(), targetDays: 90, bgnbd: nil, gammaGamma: nil, fallbacks: [], warnings: [])
        var written: [String] = []
        for block in [1, 7, 1000, 1 << 18] {
            let out = dir.file("b\(block)")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var asked: [Int] = []
            try ValueOutputs.write(customers: n, keys: keys, values: { range in
                asked += Array(range)
                return range.map { i in CustomerLifetimeValue(pAlive: Double(i) / Double(n), expectedPurchases: 0.1 * Double(i), expectedSpend: 20, clv: -Double(i) / 3) }
            }, file: { file }, staging: { out + "/" + $0 }, block: block)
            #expect(asked == Array(0..<n), "block \(block)")
            written.append(try String(contentsOfFile: out + "/value.csv", encoding: .utf8))
        }
        #expect(Set(written).count == 1)
        #expect(written[0].hasPrefix("customer_id,p_alive,expected_purchases,expected_spend,clv\n\"c,0\",0,0,20,0\n"))
        #expect(written[0].split(separator: "\n").count == n + 1)
    }
}
