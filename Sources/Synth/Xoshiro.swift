import Foundation

/// xoshiro256** seeded through SplitMix64: fast, high quality, and the same sequence on
/// every platform for a seed, which is what makes `retain generate` reproducible.
public struct Xoshiro: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    @inline(__always) static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = Self.rotl(s.3, 45)
        return result
    }

    /// Uniform in (0, 1): never exactly 0, so logarithms are safe.
    @inline(__always) public mutating func uniform() -> Double {
        (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }

    public mutating func normal() -> Double {
        sqrt(-2 * log(uniform())) * cos(2 * .pi * uniform())
    }

    public mutating func exponential(rate: Double) -> Double { -log(uniform()) / rate }

    /// Gamma(shape k, scale θ) by Marsaglia and Tsang (2000); k < 1 via the boost k+1.
    public mutating func gamma(shape k: Double, scale: Double) -> Double {
        if k < 1 { return gamma(shape: k + 1, scale: scale) * pow(uniform(), 1 / k) }
        let d = k - 1.0 / 3.0, c = 1 / sqrt(9 * d)
        while true {
            var x: Double, v: Double
            repeat { x = normal(); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v * scale }
        }
    }

    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(shape: a, scale: 1), y = gamma(shape: b, scale: 1)
        return x / (x + y)
    }

    /// Poisson by inversion (means here are small).
    public mutating func poisson(_ mean: Double) -> Int {
        let l = exp(-mean)
        var k = 0
        var p = uniform()
        while p > l && k < 1000 { k += 1; p *= uniform() }
        return k
    }

    public mutating func lognormal(median: Double, sigma: Double) -> Double { median * exp(sigma * normal()) }
}
