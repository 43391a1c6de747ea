import Foundation

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

    /// Σ log L over customers (x, z̄) and its gradient in θ = log(p, q, γ). Per customer
    /// (FHL 2013, eq. 1 as lifetimes writes it):
    /// log L = log Γ(px + q) − log Γ(px) − log Γ(q) + q log γ + (px − 1) log z̄ + px log x − (px + q) log(x z̄ + γ).
    static func logLikelihood(x: [Double], meanSpend z: [Double], theta: [Double]) -> (value: Double, gradient: [Double]) {
        let p = exp(theta[0]), q = exp(theta[1]), g = exp(theta[2])
        let lgQ = Special.logGamma(q), psiQ = Special.digamma(q), logG = log(g)
        let total = MaximumLikelihood.sum(x.count, width: 4) { range in
            var v = 0.0, dp = 0.0, dq = 0.0, dg = 0.0
            for i in range {
                let xi = x[i], zi = z[i]
                let px = p * xi, lz = log(zi), lx = log(xi), ls = log(xi * zi + g)
                v += Special.logGamma(px + q) - Special.logGamma(px) - lgQ + q * logG + (px - 1) * lz + px * lx - (px + q) * ls
                let psiPQ = Special.digamma(px + q)
                dp += xi * (psiPQ - Special.digamma(px) + lz + lx - ls)
                dq += psiPQ - psiQ + logG - ls
                dg += q / g - (px + q) / (xi * zi + g)
            }
            return [v, dp, dq, dg]
        }
        return (total[0], [p * total[1], q * total[2], g * total[3]])
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

    /// Fewer repeat customers than this and the three parameters are not worth fitting.
    public static let minimumCustomers = 50

    public static func fit(x: [Double], meanSpend z: [Double]) throws(LifetimeError) -> Fit {
        guard x.count >= minimumCustomers else {
            throw .tooFewCustomers(model: "Gamma-Gamma", what: "repeat customers with a positive spend", found: x.count, needed: minimumCustomers)
        }
        let n = Double(x.count)
        let meanZ = z.reduce(0, +) / n, meanX = x.reduce(0, +) / n
        var sxx = 0.0, szz = 0.0, sxz = 0.0
        for i in 0..<x.count { let dx = x[i] - meanX, dz = z[i] - meanZ; sxx += dx * dx; szz += dz * dz; sxz += dx * dz }
        let corr = sxx > 0 && szz > 0 ? sxz / (sxx * szz).squareRoot() : 0
        // Start: p = q = 2 and γ = the mean spend (the population mean pγ/(q − 1) is then 2 z̄).
        let start = [log(2.0), log(2.0), log(max(meanZ, 1e-6))]
        guard logLikelihood(x: x, meanSpend: z, theta: start).value.isFinite else { throw .notFinite(model: "Gamma-Gamma") }
        let m = MaximumLikelihood.maximise({ logLikelihood(x: x, meanSpend: z, theta: $0) }, start: start, weight: n)
        let p = m.theta.map(exp)
        var warnings: [String] = []
        // One line per bad case: a parameter at its bound is why the search did not settle.
        if !m.atBound.isEmpty {
            warnings.append("Gamma-Gamma: " + m.atBound.map { "\(names[$0]) ran to its bound (\(String(format: "%.3g", p[$0])))" }.joined(separator: ", ")
                + ": the data do not pin it down; the bounded estimates are used")
        } else if !m.converged {
            warnings.append("Gamma-Gamma: the fit did not converge in \(m.iterations) iterations; the last estimates are used")
        }
        if abs(corr) > 0.3 {
            warnings.append("Gamma-Gamma: frequency and mean spend correlate (\(String(format: "%.2f", corr))); the model assumes they do not, so its spend estimates lean")
        }
        if p[1] <= 1 {
            warnings.append("Gamma-Gamma: q = \(String(format: "%.3g", p[1])) ≤ 1, so the population mean spend is unbounded; customers without a repeat purchase use the mean observed spend")
        }
        return Fit(model: GammaGamma(p: p[0], q: p[1], gamma: p[2]), logLikelihood: m.logLikelihood, standardErrors: m.standardErrors,
                   iterations: m.iterations, converged: m.converged, customers: x.count, frequencySpendCorrelation: corr, warnings: warnings)
    }
}
