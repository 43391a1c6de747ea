#if canImport(Glibc)
import Glibc
#endif

/// The special functions the customer-base models need, for positive arguments.
enum Special {
    /// log Γ(x) for x > 0 (`lgamma_r`: reentrant, unlike `lgamma`, which sets a global).
    @inline(__always) static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// ψ(x) = d/dx log Γ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 6,
    /// then the asymptotic series to x⁻¹⁰; absolute error below 1e-13.
    static func digamma(_ x: Double) -> Double {
        var x = x, shift = 0.0
        while x < 6 { shift -= 1 / x; x += 1 }
        let f = 1 / (x * x)
        let series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
        return shift + log(x) - 0.5 / x - series
    }

    /// ψ′(x) = d²/dx² log Γ(x) for x > 0: ψ′(x) = ψ′(x + 1) + 1/x² up to x ≥ 6, then the
    /// asymptotic series 1/x + 1/(2x²) + Σ B₂ₖ/x^(2k+1) to x⁻¹¹; absolute error below 1e-13.
    static func trigamma(_ x: Double) -> Double {
        var x = x, shift = 0.0
        while x < 6 { shift += 1 / (x * x); x += 1 }
        let f = 1 / (x * x)
        let series = (1 + f * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * (5.0 / 66)))))) / x
        return shift + series + f / 2
    }

    /// The Gauss hypergeometric function ₂F₁(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1,
    /// by its series Σₖ (a)ₖ(b)ₖ/((c)ₖ k!) zᵏ, summed until a term is below 1e-15 of the
    /// sum. The terms' ratio tends to z, so z near 1 needs many terms: BG/NBD's argument
    /// t/(α + T + t) is there only for horizons far longer than the history's scale.
    static func hyp2f1(_ a: Double, _ b: Double, _ c: Double, _ z: Double) -> Double {
        var term = 1.0, sum = 1.0
        var k = 0.0
        while k < 100_000 {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z
            sum += term
            if abs(term) <= 1e-15 * abs(sum) { break }
            k += 1
        }
        return sum
    }
}
