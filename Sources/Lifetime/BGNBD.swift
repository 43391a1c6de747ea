import Foundation

/// The BG/NBD model of repeat purchasing (Fader, Hardie & Lee, "Counting Your Customers the
/// Easy Way", Marketing Science 24(2), 2005). While alive, a customer buys at a Poisson
/// rate λ ~ Gamma(r, α) (λ per day, α in days); after each purchase they drop out with
/// probability p ~ Beta(a, b). Time is in days throughout (CDNOW's published figures are in
/// weeks: α in days is 7 × α in weeks, the other parameters are unitless).
public struct BGNBD: Sendable, Equatable, Codable {
    public var r: Double
    public var alpha: Double
    public var a: Double
    public var b: Double

    public init(r: Double, alpha: Double, a: Double, b: Double) {
        self.r = r; self.alpha = alpha; self.a = a; self.b = b
    }

    public var parameters: [Double] { [r, alpha, a, b] }
    public static let names = ["r", "alpha", "a", "b"]

    /// P(alive | x, tₓ, T) = 1 / (1 + [x > 0]·a/(b + x − 1)·((α + T)/(α + tₓ))^(r + x))
    /// (FHL 2005, eq. 11). A customer with no repeat purchase cannot have dropped out.
    public func pAlive(x: Double, tx: Double, T: Double) -> Double {
        guard x > 0 else { return 1 }
        let odds = a / (b + x - 1) * exp((r + x) * (log(alpha + T) - log(alpha + tx)))
        return 1 / (1 + odds)
    }

    /// E[purchases in (T, T + t] | x, tₓ, T] (FHL 2005, eq. 10), t in days:
    /// (a + b + x − 1)/(a − 1)·[1 − ((α + T)/(α + T + t))^(r + x)·₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))]
    /// divided by 1 + [x > 0]·a/(b + x − 1)·((α + T)/(α + tₓ))^(r + x). (For a < 1 both
    /// factors of the numerator are negative; a = 1 exactly is a removable singularity that
    /// a fit does not land on.)
    public func expectedPurchases(_ t: Double, x: Double, tx: Double, T: Double) -> Double {
        expectedIfAlive(t, x: x, T: T) * pAlive(x: x, tx: tx, T: T)
    }

    /// The numerator of `expectedPurchases` (depends on x, T and t, not on tₓ).
    public func expectedIfAlive(_ t: Double, x: Double, T: Double) -> Double {
        guard t > 0 else { return 0 }
        let z = t / (alpha + T + t)
        let power = exp((r + x) * (log(alpha + T) - log(alpha + T + t)))
        return (a + b + x - 1) / (a - 1) * (1 - power * Special.hyp2f1(r + x, b + x, a + b + x - 1, z))
    }

    /// P(no purchase in (T, T + t] | x, tₓ, T) = 1 − P(alive) + P(alive)·((α + T)/(α + T + t))^(r + x):
    /// a dead customer buys nothing; a living one (rate λ | history ~ Gamma(r + x, α + T))
    /// buys nothing with probability E[e^(−λt)], and cannot drop out without a purchase.
    public func pNoPurchase(_ t: Double, x: Double, tx: Double, T: Double) -> Double {
        let alive = pAlive(x: x, tx: tx, T: T)
        return 1 - alive + alive * exp((r + x) * (log(alpha + T) - log(alpha + T + t)))
    }

    /// E[purchases in (0, t]] for a new customer (FHL 2005, eq. 9).
    public func expectedPurchasesNew(_ t: Double) -> Double {
        let z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - exp(r * (log(alpha) - log(alpha + t))) * Special.hyp2f1(r, b, a + b - 1, z))
    }

    /// Σ log L over `summary` (weights as counts) and its gradient in θ = log(r, α, a, b).
    ///
    /// Per customer (FHL 2005, eq. 6), with A₁ = log Γ(r + x) − log Γ(r) + r log α,
    /// A₂ = log B(a, b + x) − log B(a, b), A₃ = −(r + x) log(α + T) and, for x > 0,
    /// A₄ = log a − log(b + x − 1) − (r + x) log(α + tₓ): log L = A₁ + A₂ + log(e^A₃ + e^A₄).
    /// The gradient is analytic (digamma for the Γ and B terms).
    static func logLikelihood(_ s: CustomerSummary, theta: [Double]) -> (value: Double, gradient: [Double]) {
        let r = exp(theta[0]), alpha = exp(theta[1]), a = exp(theta[2]), b = exp(theta[3])
        let common = (lgR: Special.logGamma(r), psiR: Special.digamma(r), logAlpha: log(alpha),
                      betaAB: Special.logGamma(a + b) - Special.logGamma(b), psiAB: Special.digamma(a + b), psiB: Special.digamma(b))
        let groups = s.groups
        // value, ∂/∂r, ∂/∂α, ∂/∂a, ∂/∂b; a group's customers are cut across chunks as needed.
        let total = MaximumLikelihood.sum(s.rows, width: 5) { range in
            var acc = [Double](repeating: 0, count: 5)
            var g = groups.firstIndex { $0.rows.upperBound > range.lowerBound } ?? groups.count
            while g < groups.count && groups[g].rows.lowerBound < range.upperBound {
                let xi = Int(groups[g].x), x = Double(xi)
                let rows = max(groups[g].rows.lowerBound, range.lowerBound)..<min(groups[g].rows.upperBound, range.upperBound)
                let a1 = Special.logGamma(r + x) - common.lgR + r * common.logAlpha
                let a2 = common.betaAB + Special.logGamma(b + x) - Special.logGamma(a + b + x)
                let da1dr = Special.digamma(r + x) - common.psiR + common.logAlpha
                let da2da = common.psiAB - Special.digamma(a + b + x)
                let da2db = common.psiAB + Special.digamma(b + x) - common.psiB - Special.digamma(a + b + x)
                let a4c = xi > 0 ? log(a) - log(b + x - 1) : 0
                var v = 0.0, gr = 0.0, gal = 0.0, ga = 0.0, gb = 0.0, w = 0.0
                for i in rows {
                    let wi = s.weight[i]
                    let lT = log(alpha + s.T[i])
                    let a3 = -(r + x) * lT
                    var term = a3, w4 = 0.0, lt = 0.0
                    if xi > 0 {
                        lt = log(alpha + s.tx[i])
                        let a4 = a4c - (r + x) * lt
                        // log(e^A₃ + e^A₄) without overflow; w₄ = e^A₄ / (e^A₃ + e^A₄).
                        let hi = max(a3, a4), lo = min(a3, a4)
                        let e = exp(lo - hi)
                        term = hi + log1p(e)
                        w4 = a4 >= a3 ? 1 / (1 + e) : e / (1 + e)
                    }
                    let w3 = 1 - w4
                    v += wi * term
                    gr += wi * (-w3 * lT - w4 * lt)
                    gal += wi * (-(r + x) * (w3 / (alpha + s.T[i]) + (xi > 0 ? w4 / (alpha + s.tx[i]) : 0)))
                    ga += wi * w4 / a
                    gb += wi * (xi > 0 ? -w4 / (b + x - 1) : 0)
                    w += wi
                }
                acc[0] += v + w * (a1 + a2)
                acc[1] += gr + w * da1dr
                acc[2] += gal + w * r / alpha
                acc[3] += ga + w * da2da
                acc[4] += gb + w * da2db
                g += 1
            }
            return acc
        }
        // Chain rule to θ = log φ: ∂/∂θ = φ·∂/∂φ.
        return (total[0], [r * total[1], alpha * total[2], a * total[3], b * total[4]])
    }

    /// A fitted BG/NBD and how the fit went.
    public struct Fit: Sendable {
        public var model: BGNBD
        public var logLikelihood: Double
        /// Standard errors of r, α, a, b from the observed information (LAPACK); nil when
        /// it is not positive definite (a flat or degenerate likelihood).
        public var standardErrors: [Double]?
        public var iterations: Int
        public var converged: Bool
        public var customers: Double
        public var repeatCustomers: Double
        /// One line each: what was unusual and what the stage does about it.
        public var warnings: [String]
    }

    /// Fits by maximum likelihood. Throws when there is nothing to fit (no customer with a
    /// repeat purchase: the dropout process is then not identified).
    public static func fit(_ summary: CustomerSummary) throws(LifetimeError) -> Fit {
        let s = summary.purchasesOnly()
        let repeaters = zip(s.x, s.weight).reduce(0.0) { $0 + ($1.0 > 0 ? $1.1 : 0) }
        let n = s.customers
        guard repeaters > 0 else {
            throw .tooFewCustomers(model: "BG/NBD", what: "customers with a repeat purchase", found: 0, needed: 1)
        }
        // Start: r = 1 and α = the mean of T per purchase (a rate of the data's order), a = 1, b = 1.
        var meanT = 0.0, meanX = 0.0
        for i in 0..<s.rows { meanT += s.weight[i] * s.T[i]; meanX += s.weight[i] * Double(s.x[i]) }
        meanT /= n; meanX /= n
        let start = [0, log(max(meanT / max(meanX, 0.1), 1)), 0, 0]
        guard logLikelihood(s, theta: start).value.isFinite else { throw .notFinite(model: "BG/NBD") }
        let m = MaximumLikelihood.maximise({ logLikelihood(s, theta: $0) }, start: start, weight: n)
        let p = m.theta.map(exp)
        var warnings: [String] = []
        // One line per bad case: a parameter at its bound is why the search did not settle.
        if !m.atBound.isEmpty {
            warnings.append("BG/NBD: " + m.atBound.map { "\(names[$0]) ran to its bound (\(String(format: "%.3g", p[$0])))" }.joined(separator: ", ")
                + ": the data do not pin it down; the bounded estimates are used")
        } else if !m.converged {
            warnings.append("BG/NBD: the fit did not converge in \(m.iterations) iterations; the last estimates are used")
        }
        return Fit(model: BGNBD(r: p[0], alpha: p[1], a: p[2], b: p[3]), logLikelihood: m.logLikelihood, standardErrors: m.standardErrors,
                   iterations: m.iterations, converged: m.converged, customers: n, repeatCustomers: repeaters, warnings: warnings)
    }
}
