import Foundation

/// 95% confidence intervals for comparing a programme's two arms.
///
/// Each is checked against statsmodels (`proportion_confint(method="wilson")`,
/// `confint_proportions_2indep(method="newcomb")`, `CompareMeans.tconfint_diff(usevar="unequal")`)
/// in PlansTests, to 1e-9.
public enum Intervals {
    /// Φ⁻¹(0.975): the normal quantile of a two-sided 95% interval.
    public static let z95 = 1.959963984540054

    /// Wilson's score interval for a proportion x / n:
    /// (p + z²/2n ± z·√(p(1 − p)/n + z²/4n²)) / (1 + z²/n). (0, 1) when n = 0.
    public static func wilson(_ x: Int, _ n: Int, z: Double = z95) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let nn = Double(n), p = Double(x) / nn, z2 = z * z
        let centre = (p + z2 / (2 * nn)) / (1 + z2 / nn)
        let half = z * (p * (1 - p) / nn + z2 / (4 * nn * nn)).squareRoot() / (1 + z2 / nn)
        return (max(0, centre - half), min(1, centre + half))
    }

    /// Newcombe's hybrid score interval for p₁ − p₂ (Newcombe 1998, method 10), from the
    /// two Wilson intervals (l₁, u₁), (l₂, u₂): d − √((p₁ − l₁)² + (u₂ − p₂)²) to
    /// d + √((u₁ − p₁)² + (p₂ − l₂)²). Unlike the Wald interval it keeps its coverage
    /// with small arms and churn rates near 0 or 1, both common in a control arm.
    /// nil when an arm is empty. Shares (proportion points).
    public static func newcombe(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> (estimate: Double, low: Double, high: Double)? {
        guard n1 > 0, n2 > 0 else { return nil }
        let p1 = Double(x1) / Double(n1), p2 = Double(x2) / Double(n2)
        let (l1, u1) = wilson(x1, n1), (l2, u2) = wilson(x2, n2)
        let d = p1 - p2
        return (d, d - ((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)).squareRoot(),
                d + ((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)).squareRoot())
    }

    /// Welch's interval for mean₁ − mean₂ from each sample's mean, variance (n − 1 in the
    /// denominator) and size: d ± t(0.975, ν)·se, se = √(s₁²/n₁ + s₂²/n₂), ν by
    /// Welch–Satterthwaite. nil when an arm has fewer than 2 customers. In the unit of the
    /// means (currency per customer).
    public static func welch(mean1: Double, variance1: Double, n1: Int, mean2: Double, variance2: Double, n2: Int)
        -> (estimate: Double, low: Double, high: Double)? {
        guard n1 >= 2, n2 >= 2 else { return nil }
        let a = variance1 / Double(n1), b = variance2 / Double(n2)
        let d = mean1 - mean2, se = (a + b).squareRoot()
        guard se > 0 else { return (d, d, d) }
        let df = (a + b) * (a + b) / (a * a / Double(n1 - 1) + b * b / Double(n2 - 1))
        let t = studentQuantile975(df)
        return (d, d - t * se, d + t * se)
    }

    /// The 0.975 quantile of Student's t with `df` degrees of freedom (> 0): the t with
    /// P(T > t) = 0.025, where P(T > t) = I_{ν/(ν+t²)}(ν/2, 1/2) / 2; found by bisection
    /// (the tail falls monotonically in t), to 1e-12.
    public static func studentQuantile975(_ df: Double) -> Double {
        guard df.isFinite, df < 1e7 else { return z95 }
        var lo = 0.0, hi = 1e4
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            let tail = 0.5 * regularizedBeta(df / (df + mid * mid), df / 2, 0.5)
            if tail > 0.025 { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 { break }
        }
        return (lo + hi) / 2
    }

    /// The regularized incomplete beta function I_x(a, b), by its continued fraction
    /// (modified Lentz), on the side of (a + 1)/(a + b + 2) where it converges fast.
    static func regularizedBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a, b) / a }
        return 1 - front * continuedFraction(1 - x, b, a) / b
    }

    private static func continuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...500 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return h
    }
}
