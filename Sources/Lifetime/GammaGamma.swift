import Foundation
import RetainIO

/// The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee, "RFM and CLV: Using
/// Iso-Value Curves for Customer Base Analysis", 2005; the note "The Gamma-Gamma Model of
/// Monetary Value", 2013). A customer's purchases are Gamma(p, ν) around their own mean
/// p/ν; ν ~ Gamma(q, γ) across customers. Money in the log's currency; γ in currency.
/// Fitted on repeat customers' mean spend z̄ over their x repeat purchases, assuming spend
/// and frequency independent (the stage reports their correlation).
public struct GammaGamma: Sendable, Equatable, Codable {
    public var p: Double
    public var q: Double
    public var gamma: Double

    public init(p: Double, q: Double, gamma: Double) { self.p = p; self.q = q; self.gamma = gamma }

    public var parameters: [Double] { [p, q, gamma] }
    public static let names = ["p", "q", "gamma"]

    /// E[spend per purchase | x, z̄] = p(γ + x z̄)/(p x + q − 1): a weighted mean of the
    /// population mean pγ/(q − 1) and the customer's own z̄. Currency per purchase.
    public func expectedSpend(x: Double, meanSpend: Double) -> Double {
        guard x > 0 else { return populationMean }
        return p * (gamma + x * meanSpend) / (p * x + q - 1)
    }

    /// E[spend per purchase] of a customer with no repeat purchase: pγ/(q − 1) (needs q > 1).
    public var populationMean: Double { p * gamma / (q - 1) }

    /// Repeat customers grouped by x (the terms of x alone are then taken once per group),
    /// with log z̄ summed per group once: the data of `logLikelihood`.
    ///
    /// Made in two passes over the columns (count per distinct x, then place), so that the
    /// only memory a customer costs is its x·z̄: the columns can be a mapped snapshot.
    struct Data {
        var groups: [(x: Double, count: Double, sumLogSpend: Double, rows: Range<Int>)] = []
        /// x·z̄ per customer, in group order (ascending x, then the columns' order).
        var xz: [Double] = []

        init(x: UnsafeBufferPointer<Double>, meanSpend z: UnsafeBufferPointer<Double>) {
            var slot: [Double: Int] = [:], distinct: [Double] = [], counts: [Int] = []
            for i in 0..<x.count where isRepeatCustomer(x: x[i], meanSpend: z[i]) {
                if let g = slot[x[i]] { counts[g] += 1 } else { slot[x[i]] = distinct.count; distinct.append(x[i]); counts.append(1) }
            }
            let order = distinct.indices.sorted { distinct[$0] < distinct[$1] }
            var start = [Int](repeating: 0, count: distinct.count), total = 0
            for g in order { start[g] = total; total += counts[g] }
            var next = start, sumLog = [Double](repeating: 0, count: distinct.count)
            xz = [Double](repeating: 0, count: total)
            for i in 0..<x.count where isRepeatCustomer(x: x[i], meanSpend: z[i]) {
                guard let g = slot[x[i]] else { continue }
                xz[next[g]] = x[i] * z[i]
                next[g] += 1
                sumLog[g] += log(z[i])
            }
            groups = order.map { g in (distinct[g], Double(counts[g]), sumLog[g], start[g]..<(start[g] + counts[g])) }
        }
    }

    /// Σ log L over the customers of `data`, its gradient and Hessian in θ = log(p, q, γ).
    /// Per customer (FHL 2013, eq. 1 as lifetimes writes it), with s = x z̄ + γ:
    /// log L = log Γ(px + q) − log Γ(px) − log Γ(q) + q log γ + (px − 1) log z̄ + px log x − (px + q) log s.
    /// Derivatives analytic (digamma, trigamma); per customer only log s and 1/s vary.
    static func logLikelihood(_ data: Data, theta: [Double]) -> MaximumLikelihood.Evaluation {
        let p = exp(theta[0]), q = exp(theta[1]), g = exp(theta[2])
        let lgQ = Special.logGamma(q), psiQ = Special.digamma(q), triQ = Special.trigamma(q), logG = log(g)
        let groups = data.groups, xz = data.xz
        // [value, g_p, g_q, g_γ, H_pp, H_pq, H_pγ, H_qq, H_qγ, H_γγ], in φ.
        let t = MaximumLikelihood.sum(xz.count, width: 10) { range in
            var acc = [Double](repeating: 0, count: 10)
            var k = groups.firstIndex { $0.rows.upperBound > range.lowerBound } ?? groups.count
            while k < groups.count && groups[k].rows.lowerBound < range.upperBound {
                let grp = groups[k], x = grp.x, px = p * x
                let rows = max(grp.rows.lowerBound, range.lowerBound)..<min(grp.rows.upperBound, range.upperBound)
                var ls = 0.0, inv = 0.0, inv2 = 0.0
                for i in rows { let sv = xz[i] + g; ls += log(sv); let iv = 1 / sv; inv += iv; inv2 += iv * iv }
                // Σ log z̄ is the group's, counted in the range that holds its first row.
                let n = Double(rows.count), lz = rows.lowerBound == grp.rows.lowerBound ? grp.sumLogSpend : 0
                let psiPQ = Special.digamma(px + q), triPQ = Special.trigamma(px + q), lx = log(x)
                acc[0] += n * (Special.logGamma(px + q) - Special.logGamma(px) - lgQ + q * logG + px * lx) + (px - 1) * lz - (px + q) * ls
                acc[1] += x * (n * (psiPQ - Special.digamma(px) + lx) - ls) + x * lz
                acc[2] += n * (psiPQ - psiQ + logG) - ls
                acc[3] += n * q / g - (px + q) * inv
                acc[4] += n * x * x * (triPQ - Special.trigamma(px))
                acc[5] += n * x * triPQ
                acc[6] -= x * inv
                acc[7] += n * (triPQ - triQ)
                acc[8] += n / g - inv
                acc[9] += -n * q / (g * g) + (px + q) * inv2
                k += 1
            }
            return acc
        }
        let hessian = [t[4], t[5], t[6], t[5], t[7], t[8], t[6], t[8], t[9]]
        return MaximumLikelihood.toLogScale(value: t[0], phi: [p, q, g], gradient: Array(t[1...3]), hessian: hessian)
    }

    public struct Fit: Sendable {
        public var model: GammaGamma
        public var logLikelihood: Double
        public var standardErrors: [Double]?
        public var iterations: Int
        public var converged: Bool
        /// Repeat customers with a positive mean spend: the data fitted.
        public var customers: Int
        /// Pearson correlation of x and z̄ over those customers; the model assumes 0.
        public var frequencySpendCorrelation: Double
        public var warnings: [String]
    }

    /// The customers Gamma-Gamma models: x > 0 repeat purchases and a mean spend z̄ > 0 (a
    /// customer whose refunds cancel their repeat purchases has no spend to model).
    @inline(__always) public static func isRepeatCustomer(x: Double, meanSpend z: Double) -> Bool { x > 0 && z > 0 }

    /// How many of the customers of the columns Gamma-Gamma models (`isRepeatCustomer`).
    public static func repeatCustomers(x: DoubleColumn, meanSpend z: DoubleColumn) -> Int {
        x.withUnsafeBufferPointer { xs in z.withUnsafeBufferPointer { zs in
            var n = 0
            for i in 0..<min(xs.count, zs.count) where isRepeatCustomer(x: xs[i], meanSpend: zs[i]) { n += 1 }
            return n
        } }
    }

    /// Fewer repeat customers than this and the three parameters are not worth fitting.
    public static let minimumCustomers = 50

    /// As `fit(x:meanSpend:)` on columns in memory.
    public static func fit(x: [Double], meanSpend z: [Double]) throws(LifetimeError) -> Fit {
        try fit(x: DoubleColumn(x), meanSpend: DoubleColumn(z))
    }

    /// Fitted by maximum likelihood on the repeat customers (`isRepeatCustomer`) of the
    /// columns x and z̄ (one row per customer, the same length; in memory or mapped).
    public static func fit(x: DoubleColumn, meanSpend z: DoubleColumn) throws(LifetimeError) -> Fit {
        let result = x.withUnsafeBufferPointer { xs in
            z.withUnsafeBufferPointer { zs in fitted(x: UnsafeBufferPointer(rebasing: xs[..<min(xs.count, zs.count)]), meanSpend: zs) }
        }
        return try result.get()
    }

    private static func fitted(x: UnsafeBufferPointer<Double>, meanSpend z: UnsafeBufferPointer<Double>) -> Result<Fit, LifetimeError> {
        var count = 0, sumX = 0.0, sumZ = 0.0
        for i in 0..<x.count where isRepeatCustomer(x: x[i], meanSpend: z[i]) { count += 1; sumX += x[i]; sumZ += z[i] }
        guard count >= minimumCustomers else {
            return .failure(.tooFewCustomers(model: "Gamma-Gamma", what: "repeat customers with a positive spend", found: count, needed: minimumCustomers))
        }
        let n = Double(count)
        let meanZ = sumZ / n, meanX = sumX / n
        var sxx = 0.0, szz = 0.0, sxz = 0.0
        for i in 0..<x.count where isRepeatCustomer(x: x[i], meanSpend: z[i]) {
            let dx = x[i] - meanX, dz = z[i] - meanZ
            sxx += dx * dx; szz += dz * dz; sxz += dx * dz
        }
        let corr = sxx > 0 && szz > 0 ? sxz / (sxx * szz).squareRoot() : 0
        // Start: p = q = 2 and γ = the mean spend (the population mean pγ/(q − 1) is then 2 z̄).
        let start = [log(2.0), log(2.0), log(max(meanZ, 1e-6))]
        let data = Data(x: x, meanSpend: z)
        let first = logLikelihood(data, theta: start)
        guard first.value.isFinite else { return .failure(.notFinite(model: "Gamma-Gamma")) }
        let m = MaximumLikelihood.maximise({ logLikelihood(data, theta: $0) }, start: start, initial: first, weight: n)
        let p = m.theta.map(exp)
        var warnings = m.warnings("Gamma-Gamma", names: names)
        if abs(corr) > 0.3 {
            warnings.append("Gamma-Gamma: frequency and mean spend correlate (\(String(format: "%.2f", corr))); the model assumes they do not, so its spend estimates lean")
        }
        if p[1] <= 1 {
            warnings.append("Gamma-Gamma: q = \(String(format: "%.3g", p[1])) ≤ 1, so the population mean spend is unbounded; customers without a repeat purchase use the mean observed spend")
        }
        return .success(Fit(model: GammaGamma(p: p[0], q: p[1], gamma: p[2]), logLikelihood: m.logLikelihood, standardErrors: m.standardErrors,
                            iterations: m.iterations, converged: m.converged, customers: count, frequencySpendCorrelation: corr, warnings: warnings))
    }
}
