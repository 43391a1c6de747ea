import Foundation
import Linalg
import RetainIO

/// Maximum likelihood over positive parameters, searched on their logarithms θ = log φ
/// (so every step stays in the positive domain and the scales of a and b, which can reach
/// thousands, do not dwarf r's).
///
/// Newton with the analytic Hessian: where −H is not positive definite, μI is added until
/// it is (Levenberg), and a step that does not raise the log-likelihood is halved.
/// Converged when the next step's largest change in θ is below 1e-8 (Newton's error is
/// then about its square; the step is not taken) and the gradient per customer below 1e-7. Newton rather than BFGS: a dozen likelihood passes over millions of customers
/// instead of a hundred, and its Hessian is the one the standard errors come from.
struct MaximumLikelihood {
    /// log-likelihood, its gradient and Hessian (row-major) in θ, at θ.
    typealias Objective = ([Double]) -> Evaluation

    struct Evaluation {
        var value: Double
        var gradient: [Double]
        var hessian: [Double]
    }

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

        /// At most one line on how the search ended badly, for `model` with parameters
        /// `names`: a parameter at its bound (why the search did not settle), else no
        /// convergence. Either way the estimates reached are used.
        func warnings(_ model: String, names: [String]) -> [String] {
            if !atBound.isEmpty {
                return ["\(model): " + atBound.map { "\(names[$0]) ran to its bound (\(String(format: "%.3g", exp(theta[$0]))))" }.joined(separator: ", ")
                    + ": the data do not pin it down; the bounded estimates are used"]
            }
            return converged ? [] : ["\(model): the fit did not converge in \(iterations) iterations; the last estimates are used"]
        }
    }

    /// θ is kept in [-bound, bound]: e^±15 (3.3 million) is far outside any sensible shape,
    /// or scale in days; a fit that runs there is a degenerate one, and says so.
    static let bound = 15.0

    /// `initial`: f(start), when the caller has it already (each evaluation is a pass over
    /// every customer).
    static func maximise(_ f: Objective, start: [Double], initial: Evaluation? = nil, weight: Double, maxIterations: Int = 200) -> Result {
        let k = start.count
        var theta = start
        var current = initial ?? f(theta)
        var iterations = 0, converged = false
        var mu = 0.0
        func flat(_ g: [Double], _ limit: Double) -> Bool { (g.map(abs).max() ?? 0) / max(weight, 1) < limit }
        while iterations < maxIterations {
            iterations += 1
            let (ll, g, h) = (current.value, current.gradient, current.hessian)
            var step: [Double]? = nil
            mu /= 10
            for _ in 0..<40 {
                var a = Matrix(rows: k, columns: k)
                for i in 0..<k { for j in 0..<k { a[i, j] = -h[i * k + j] + (i == j ? mu : 0) } }
                if let c = try? Cholesky(a), let s = try? c.solve(g) { step = s; break }
                mu = mu == 0 ? 1e-6 * max(1, abs(ll) / max(weight, 1)) : mu * 10
            }
            guard var s = step else { break }
            // A step this small changes nothing that matters: stop without a pass for it.
            if (s.map(abs).max() ?? 0) < 1e-8 && flat(g, 1e-7) { converged = true; break }
            var accepted = false
            for _ in 0..<50 {
                let next = zip(theta, s).map { min(max($0 + $1, -bound), bound) }
                let e = f(next)
                if e.value.isFinite && e.value >= ll {
                    let largest = zip(next, theta).map { abs($0 - $1) }.max() ?? 0
                    theta = next; current = e; accepted = true
                    if largest < 1e-8 && flat(e.gradient, 1e-7) { converged = true }
                    break
                }
                s = s.map { $0 / 2 }
            }
            if !accepted {
                // No step raises the likelihood: at a maximum if the gradient is flat.
                converged = flat(g, 1e-6)
                break
            }
            if converged { break }
        }
        let atBound = (0..<k).filter { abs(theta[$0]) >= bound - 1e-9 }
        var se: [Double]? = nil
        var info = Matrix(rows: k, columns: k)
        for i in 0..<k { for j in 0..<k { info[i, j] = -current.hessian[i * k + j] } }
        if let c = try? Cholesky(info), let inv = try? c.inverse() {
            se = (0..<k).map { exp(theta[$0]) * sqrt(max(inv[$0, $0], 0)) }
        }
        return Result(theta: theta, logLikelihood: current.value, gradient: current.gradient, iterations: iterations,
                      converged: converged, atBound: atBound, standardErrors: se)
    }

    /// From derivatives in φ to θ = log φ: g_θ = φ·g_φ and
    /// H_θ[i, j] = φᵢ φⱼ H_φ[i, j] + [i = j] φᵢ g_φ[i].
    static func toLogScale(value: Double, phi: [Double], gradient g: [Double], hessian h: [Double]) -> Evaluation {
        let k = phi.count
        var hh = [Double](repeating: 0, count: k * k)
        for i in 0..<k { for j in 0..<k { hh[i * k + j] = phi[i] * phi[j] * h[i * k + j] + (i == j ? phi[i] * g[i] : 0) } }
        return Evaluation(value: value, gradient: zip(phi, g).map { $0 * $1 }, hessian: hh)
    }

    /// Σ over `n` items of `body(range)`'s partial sums, cut by `Workers.chunks` (which
    /// depends on n only) and added in chunk order: the same bits for any worker count.
    static func sum(_ n: Int, width: Int, _ body: (Range<Int>) -> [Double]) -> [Double] {
        let chunks = Workers.chunks(n, grain: 1 << 13)
        let parts = Slots<[Double]>(count: chunks.count)
        Workers.run(chunks.count) { c in parts[c] = body(chunks[c]) }
        var total = [Double](repeating: 0, count: width)
        for c in 0..<chunks.count { if let p = parts[c] { for i in 0..<width { total[i] += p[i] } } }
        return total
    }
}
