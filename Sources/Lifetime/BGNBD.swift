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
        return 1 - alive + alive * noPurchaseIfAlive(t, x: x, T: T)
    }

    /// P(no purchase in (T, T + t] | alive, x, T) = ((α + T)/(α + T + t))^(r + x).
    public func noPurchaseIfAlive(_ t: Double, x: Double, T: Double) -> Double {
        exp((r + x) * (log(alpha + T) - log(alpha + T + t)))
    }

    /// E[purchases in (0, t]] for a new customer (FHL 2005, eq. 9).
    public func expectedPurchasesNew(_ t: Double) -> Double {
        let z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - exp(r * (log(alpha) - log(alpha + t))) * Special.hyp2f1(r, b, a + b - 1, z))
    }

    /// Σ log L over `summary` (weights as counts), its gradient and Hessian in θ = log(r, α, a, b).
    ///
    /// Per customer (FHL 2005, eq. 6), with A₁ = log Γ(r + x) − log Γ(r) + r log α,
    /// A₂ = log B(a, b + x) − log B(a, b), A₃ = −(r + x) log(α + T) and, for x > 0,
    /// A₄ = log a − log(b + x − 1) − (r + x) log(α + tₓ): log L = A₁ + A₂ + log(e^A₃ + e^A₄).
    /// Derivatives are analytic: ∇log(e^A₃ + e^A₄) = w₃∇A₃ + w₄∇A₄ and
    /// ∇²log(e^A₃ + e^A₄) = w₃∇²A₃ + w₄∇²A₄ + w₃w₄(∇A₃ − ∇A₄)(∇A₃ − ∇A₄)ᵀ, wᵢ = e^Aᵢ/(e^A₃ + e^A₄);
    /// the Γ and B terms (digamma, trigamma) depend on x alone and are taken once per group.
    /// With whole days, log(α + d) and 1/(α + d) come from a table per evaluation.
    static func logLikelihood(_ s: CustomerSummary, theta: [Double]) -> MaximumLikelihood.Evaluation {
        let r = exp(theta[0]), alpha = exp(theta[1]), a = exp(theta[2]), b = exp(theta[3])
        let lgR = Special.logGamma(r), psiR = Special.digamma(r), triR = Special.trigamma(r), logAlpha = log(alpha)
        let betaAB = Special.logGamma(a + b) - Special.logGamma(b)
        let psiAB = Special.digamma(a + b), psiB = Special.digamma(b), triAB = Special.trigamma(a + b), triB = Special.trigamma(b)
        let logA = log(a), invA = 1 / a
        // log(α + d) and 1/(α + d) for every whole day up to the largest T.
        let days = s.wholeDays ? Int(s.T.max() ?? 0) + 1 : 0
        let logDay = (0..<days).map { log(alpha + Double($0)) }, invDay = (0..<days).map { 1 / (alpha + Double($0)) }
        let groups = s.groups
        // [value, g_r, g_α, g_a, g_b, H_rr, H_rα, H_ra, H_rb, H_αα, H_αa, H_αb, H_aa, H_ab, H_bb], in φ.
        let total = s.weight.withUnsafeBufferPointer { weights in s.T.withUnsafeBufferPointer { ages in s.tx.withUnsafeBufferPointer { spans in
          MaximumLikelihood.sum(s.rows, width: 15) { range in
            var acc = [Double](repeating: 0, count: 15)
            var g = groups.firstIndex { $0.rows.upperBound > range.lowerBound } ?? groups.count
            while g < groups.count && groups[g].rows.lowerBound < range.upperBound {
                let xi = Int(groups[g].x), x = Double(xi), u = r + x
                let rows = max(groups[g].rows.lowerBound, range.lowerBound)..<min(groups[g].rows.upperBound, range.upperBound)
                let c4 = xi > 0 ? logA - log(b + x - 1) : 0, ib = xi > 0 ? 1 / (b + x - 1) : 0
                var v = 0.0, gr = 0.0, gal = 0.0, ga = 0.0, gb = 0.0, w = 0.0
                var hrr = 0.0, hra = 0.0, hrA = 0.0, hrB = 0.0, haa = 0.0, haA = 0.0, haB = 0.0, hAA = 0.0, hAB = 0.0, hBB = 0.0
                for i in rows {
                    let wi = weights[i]
                    let lT: Double, iT: Double
                    if days > 0 { let d = Int(ages[i]); lT = logDay[d]; iT = invDay[d] } else { lT = log(alpha + ages[i]); iT = 1 / (alpha + ages[i]) }
                    let a3 = -u * lT
                    w += wi
                    if xi == 0 {
                        v += wi * a3; gr -= wi * lT; gal -= wi * u * iT
                        hra -= wi * iT; haa += wi * u * iT * iT
                        continue
                    }
                    let lt: Double, it: Double
                    if days > 0 { let d = Int(spans[i]); lt = logDay[d]; it = invDay[d] } else { lt = log(alpha + spans[i]); it = 1 / (alpha + spans[i]) }
                    let a4 = c4 - u * lt
                    // log(e^A₃ + e^A₄) without overflow.
                    let hi = max(a3, a4), e = exp(min(a3, a4) - hi)
                    let w4 = a4 >= a3 ? 1 / (1 + e) : e / (1 + e), w3 = 1 - w4, q = wi * w3 * w4
                    v += wi * (hi + log1p(e))
                    gr -= wi * (w3 * lT + w4 * lt)
                    gal -= wi * u * (w3 * iT + w4 * it)
                    ga += wi * w4 * invA
                    gb -= wi * w4 * ib
                    let d0 = lt - lT, d1 = u * (it - iT), d2 = -invA, d3 = ib
                    hrr += q * d0 * d0
                    hra += -wi * (w3 * iT + w4 * it) + q * d0 * d1
                    hrA += q * d0 * d2
                    hrB += q * d0 * d3
                    haa += wi * u * (w3 * iT * iT + w4 * it * it) + q * d1 * d1
                    haA += q * d1 * d2
                    haB += q * d1 * d3
                    hAA += -wi * w4 * invA * invA + q * d2 * d2
                    hAB += q * d2 * d3
                    hBB += wi * w4 * ib * ib + q * d3 * d3
                }
                // The terms of x alone, times the group's weight in this range.
                let a1 = Special.logGamma(u) - lgR + r * logAlpha
                let a2 = betaAB + Special.logGamma(b + x) - Special.logGamma(a + b + x)
                let psiABX = Special.digamma(a + b + x), triABX = Special.trigamma(a + b + x)
                let parts = [v + w * (a1 + a2),
                             gr + w * (Special.digamma(u) - psiR + logAlpha), gal + w * r / alpha,
                             ga + w * (psiAB - psiABX), gb + w * (psiAB + Special.digamma(b + x) - psiB - psiABX),
                             hrr + w * (Special.trigamma(u) - triR), hra + w / alpha, hrA, hrB,
                             haa - w * r / (alpha * alpha), haA, haB,
                             hAA + w * (triAB - triABX), hAB + w * (triAB - triABX),
                             hBB + w * (triAB + Special.trigamma(b + x) - triB - triABX)]
                for j in 0..<15 { acc[j] += parts[j] }
                g += 1
            }
            return acc
          }
        } } }
        let h = total
        let hessian = [h[5], h[6], h[7], h[8],
                       h[6], h[9], h[10], h[11],
                       h[7], h[10], h[12], h[13],
                       h[8], h[11], h[13], h[14]]
        return MaximumLikelihood.toLogScale(value: h[0], phi: [r, alpha, a, b], gradient: Array(h[1...4]), hessian: hessian)
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
    /// `start`: parameters to start the search from (a fit of a nearby date: fewer
    /// iterations); nil starts from r = a = b = 1 and α of the data's scale.
    public static func fit(_ summary: CustomerSummary, start startingAt: BGNBD? = nil, maxIterations: Int = 200) throws(LifetimeError) -> Fit {
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
        var start = [0, log(max(meanT / max(meanX, 0.1), 1)), 0, 0]
        // Without a nearby fit, a large base starts from the fit of every 16th row (its
        // counts as weights): most iterations then run on a sixteenth of the data.
        var near = startingAt
        if near == nil, s.rows > 100_000, let sub = try? fit(s.everyNth(16), maxIterations: maxIterations) { near = sub.model }
        var initial: MaximumLikelihood.Evaluation? = nil
        if let m = near, m.parameters.allSatisfy({ $0 > 0 && $0.isFinite }) {
            let warm = m.parameters.map { min(max(log($0), -MaximumLikelihood.bound), MaximumLikelihood.bound) }
            let e = logLikelihood(s, theta: warm)
            if e.value.isFinite { start = warm; initial = e }
        }
        let first = initial ?? logLikelihood(s, theta: start)
        guard first.value.isFinite else { throw .notFinite(model: "BG/NBD") }
        let m = MaximumLikelihood.maximise({ logLikelihood(s, theta: $0) }, start: start, initial: first, weight: n, maxIterations: maxIterations)
        let p = m.theta.map(exp)
        let warnings = m.warnings("BG/NBD", names: names)
        return Fit(model: BGNBD(r: p[0], alpha: p[1], a: p[2], b: p[3]), logLikelihood: m.logLikelihood, standardErrors: m.standardErrors,
                   iterations: m.iterations, converged: m.converged, customers: n, repeatCustomers: repeaters, warnings: warnings)
    }
}
