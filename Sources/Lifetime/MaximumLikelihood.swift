import Foundation
import Linalg
import RetainIO

/// Maximum likelihood over positive parameters, searched on their logarithms θ = log φ
/// (so every step stays in the positive domain and the scales of a and b, which can reach
/// thousands, do not dwarf r's).
///
/// Damped Newton: the Hessian is the central difference of the analytic gradient (step
/// 1e-5 in θ, so its entries are exact to about 1e-10 relative); where −H is not positive
/// definite, μI is added until it is (Levenberg), and a step that does not raise the
/// log-likelihood is halved. Converged when the largest step in θ is below 1e-10 and the
/// gradient per customer below 1e-7. Newton rather than BFGS: it converges in a dozen
/// iterations, and the Hessian it needs is the one the standard errors come from.
struct MaximumLikelihood {
    /// log-likelihood and its gradient in θ, at θ.
    typealias Objective = ([Double]) -> (value: Double, gradient: [Double])

    struct Result {
        var theta: [Double]
        var logLikelihood: Double
        var gradient: [Double]
        var iterations: Int
        var converged: Bool
        /// Parameters (by index) that ended at a bound of θ.
        var atBound: [Int]
        /// Standard errors of φ = exp θ (delta method: se(φ) = φ·se(θ)); nil where the
        /// observed information is not positive definite.
        var standardErrors: [Double]?
    }

    /// θ is kept in [-bound, bound]: e^±15 (3.3 million) is far outside any sensible shape, or
    /// scale in days; a fit that runs there is a degenerate one, and says so.
    static let bound = 15.0

    static func maximise(_ f: Objective, start: [Double], weight: Double, maxIterations: Int = 200) -> Result {
        let k = start.count
        var theta = start
        var (ll, g) = f(theta)
        var iterations = 0, converged = false
        var mu = 0.0
        while iterations < maxIterations {
            iterations += 1
            let h = hessian(f, at: theta)
            var step: [Double]? = nil
            mu = max(mu / 10, 0)
            for _ in 0..<40 {
                var a = Matrix(rows: k, columns: k)
                for i in 0..<k { for j in 0..<k { a[i, j] = -h[i * k + j] + (i == j ? mu : 0) } }
                if let c = try? Cholesky(a), let s = try? c.solve(g) { step = s; break }
                mu = mu == 0 ? 1e-6 * max(1, abs(ll) / max(weight, 1)) : mu * 10
            }
            guard var s = step else { break }
            var accepted = false
            for _ in 0..<50 {
                let next = zip(theta, s).map { min(max($0 + $1, -bound), bound) }
                let (l2, g2) = f(next)
                if l2.isFinite && l2 >= ll {
                    let largest = zip(next, theta).map { abs($0 - $1) }.max() ?? 0
                    theta = next; ll = l2; g = g2; accepted = true
                    if largest < 1e-10 && (g.map(abs).max() ?? 0) / max(weight, 1) < 1e-7 { converged = true }
                    break
                }
                s = s.map { $0 / 2 }
            }
            if !accepted {
                // No step raises the likelihood: at a maximum if the gradient is flat.
                converged = (g.map(abs).max() ?? 0) / max(weight, 1) < 1e-6
                break
            }
            if converged { break }
        }
        let atBound = (0..<k).filter { abs(theta[$0]) >= bound - 1e-9 }
        let h = hessian(f, at: theta)
        var se: [Double]? = nil
        var info = Matrix(rows: k, columns: k)
        for i in 0..<k { for j in 0..<k { info[i, j] = -(h[i * k + j] + h[j * k + i]) / 2 } }
        if let c = try? Cholesky(info), let inv = try? c.inverse() {
            se = (0..<k).map { exp(theta[$0]) * sqrt(max(inv[$0, $0], 0)) }
        }
        return Result(theta: theta, logLikelihood: ll, gradient: g, iterations: iterations, converged: converged,
                      atBound: atBound, standardErrors: se)
    }

    /// H[i, j] = ∂gᵢ/∂θⱼ by central differences of the analytic gradient (row-major).
    static func hessian(_ f: Objective, at theta: [Double]) -> [Double] {
        let k = theta.count, step = 1e-5
        var h = [Double](repeating: 0, count: k * k)
        for j in 0..<k {
            var up = theta, down = theta
            up[j] += step; down[j] -= step
            let gu = f(up).gradient, gd = f(down).gradient
            for i in 0..<k { h[i * k + j] = (gu[i] - gd[i]) / (2 * step) }
        }
        return h
    }

    /// Σ over `n` items of `body(range)`'s partial sums, cut by `Workers.chunks` (which
    /// depends on n only) and added in chunk order: the same bits for any worker count.
    static func sum(_ n: Int, width: Int, _ body: @Sendable (Range<Int>) -> [Double]) -> [Double] {
        let chunks = Workers.chunks(n, grain: 1 << 13)
        let parts = Slots<[Double]>(count: chunks.count)
        Workers.run(chunks.count) { c in parts[c] = body(chunks[c]) }
        var total = [Double](repeating: 0, count: width)
        for c in 0..<chunks.count { if let p = parts[c] { for i in 0..<width { total[i] += p[i] } } }
        return total
    }
}
