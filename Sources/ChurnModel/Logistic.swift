import Foundation
import Linalg
import RetainIO

/// A fitted logistic regression, on the scale of the design matrix's columns.
public struct LogisticFit: Sendable {
    /// Intercept first, then one per term; log-odds per unit of the term.
    public let coefficients: [Double]
    /// Square roots of the diagonal of `covariance`.
    public let standardErrors: [Double]
    /// The inverse of the (penalised) observed information at the optimum, carried to the
    /// design's scale: Cov(β) = A·H⁻¹·Aᵀ with θ ↦ β = Aθ the undoing of standardisation.
    public let covariance: Matrix
    /// Coefficients on the standardised scale (intercept first), and the column means and
    /// scales (population standard deviations) used: z = (x - mean) / scale.
    public let standardised: [Double]
    public let means: [Double]
    public let scales: [Double]
    /// Weighted log-likelihood Σ cᵢ·(yᵢ·ηᵢ - log(1 + e^ηᵢ)) at the optimum (no penalty), and
    /// of the intercept-only model; nats.
    public let logLikelihood: Double
    public let nullLogLikelihood: Double
    public let iterations: Int
    public let stepHalvings: Int
    public let converged: Bool
    public let l2: Double

    /// Wald z = β / SE and two-sided p = erfc(|z| / √2).
    public var z: [Double] { zip(coefficients, standardErrors).map { $0 / $1 } }
    public var pValues: [Double] { z.map { erfc(abs($0) / 2.0.squareRoot()) } }

    /// Churn probabilities for a design built with the same terms.
    public func probabilities(_ x: DesignMatrix) -> [Double] { Logistic.probabilities(coefficients, x) }
}

/// Logistic regression by Newton's method (IRLS), on BLAS and LAPACK.
///
/// Columns are standardised inside the fit (z = (x - mean) / scale), which keeps X'WX well
/// conditioned and makes one L2 penalty mean the same for every feature; the result is
/// carried back to the design's own scale, so it equals a fit of the design as is.
/// Per iteration, one pass over the rows in blocks of `blockRows`, in chunks over the workers:
/// the block's standardised rows Z made from the snapshot's columns (`DesignMatrix.Cells`),
/// η = Zθ (`dgemv`), the gradient Zᵀ·c(y - μ) (`dgemv`), and X'WX as (√w·Z)ᵀ(√w·Z) (`dsyrk`);
/// the step solves (X'WX + λP)δ = g by Cholesky (`dpotrf`/`dpotrs`). Memory beyond the
/// snapshot's columns is two blocks and p×p per chunk: no matrix of every customer's cells.
public enum Logistic {
    public static let blockRows = 2048

    /// Why a fit could not finish; the trainer turns these into its recovery or an error.
    public enum Failure: Error, Sendable {
        /// Coefficients run off (separation): the index (into the design's terms) of the
        /// largest standardised one, and the iterations done.
        case separation(term: Int, iterations: Int)
        /// X'WX is not positive definite at some iterate.
        case singular(LinalgError)
        case notConverged(iterations: Int)
        /// Columns (indices into the design's terms) that are linear combinations of
        /// earlier ones, found from X'WX at the start, with the earlier column each
        /// depends on most.
        case collinear([(column: Int, dependsOn: Int?)])
    }

    /// Standardised coefficients beyond this (log-odds per standard deviation) mean the
    /// likelihood has no finite maximum: no real effect moves the odds e^15 ≈ 3·10⁶-fold
    /// per standard deviation.
    public static let runawayLimit = 15.0

    /// A weight per class (`ModelSettings.classWeight`): row i weighs `churned` when
    /// yᵢ = 1, else `stayed`. Per class, not per row: no array the length of the snapshot.
    public struct ClassWeights: Sendable {
        public var stayed: Double
        public var churned: Double
        public init(stayed: Double, churned: Double) { self.stayed = stayed; self.churned = churned }
        @inline(__always) func of(_ y: Double) -> Double { y == 1 ? churned : stayed }
    }

    /// `classWeights`: nil weighs every row 1. `standardisation`: the columns' means and
    /// scales when the caller has them (one pass over the design saved), else computed here.
    public static func fit(_ x: DesignMatrix, labels y: DoubleColumn, classWeights c: ClassWeights?, l2: Double,
                           tolerance: Double, maxIterations: Int,
                           standardisation given: (means: [Double], scales: [Double])? = nil) throws(Failure) -> LogisticFit {
        let n = x.rows, q = x.width, p = q + 1
        let (means, scales) = given ?? standardisation(x)
        let pass = Pass(x: x, y: y, c: c, means: means, scales: scales)
        // Start at the weighted base rate: θ₀ = logit(ȳ), slopes 0.
        var sw = 0.0, swy = 0.0
        for i in 0..<n { let w = c?.of(y[i]) ?? 1; sw += w; swy += w * y[i] }
        let base = swy / sw
        var theta = [Double](repeating: 0, count: p)
        theta[0] = log(base / (1 - base))
        let nullLL = sw * (base * log(base) + (1 - base) * log(1 - base))

        func penalised(_ ll: Double, _ t: [Double]) -> Double {
            var s = 0.0
            for j in 1..<p { s += t[j] * t[j] }
            return ll - 0.5 * l2 * s
        }
        var current = try pass.run(theta)
        // At θ₀ every weight is the same, so X'WX is the Gram matrix of the standardised
        // columns (times a constant): the place to find collinear columns, before any step.
        let dependent = current.hessian.dependentColumns().filter { $0.column > 0 }
        if !dependent.isEmpty {
            throw .collinear(dependent.map { ($0.column - 1, $0.dependsOn.flatMap { $0 > 0 ? $0 - 1 : nil }) })
        }
        var objective = penalised(current.logLikelihood, theta)
        var iterations = 0, halvings = 0
        var converged = false
        var logLikelihood = current.logLikelihood
        while iterations < maxIterations {
            iterations += 1
            var h = current.hessian
            var g = current.gradient
            for j in 1..<p { h[j, j] += l2; g[j] -= l2 * theta[j] }
            let delta: [Double]
            do { delta = try Cholesky(h).solve(g) } catch { throw .singular(error) }
            if delta.reduce(0, { max($0, abs($1)) }) < tolerance {
                // Converged: this last step is below the tolerance, so it is taken without
                // another pass. ℓ there is its second-order expansion ℓ + g·δ - ½δ'Hδ (error
                // O(|δ|³)), and the covariance uses X'WX at the previous iterate (relative
                // error O(|δ|)): both far below what any comparison can see, one pass saved.
                var quadratic = 0.0, linear = 0.0
                for i in 0..<p {
                    linear += current.gradient[i] * delta[i]
                    for j in 0..<p { quadratic += delta[i] * current.hessian[i, j] * delta[j] }
                }
                logLikelihood = current.logLikelihood + linear - 0.5 * quadratic
                theta = zip(theta, delta).map { $0 + $1 }
                converged = true
                break
            }
            var step = 1.0
            var candidate = zip(theta, delta).map { $0 + $1 }
            var next = try pass.run(candidate)
            var nextObjective = penalised(next.logLikelihood, candidate)
            // Step-halving: a full Newton step can overshoot far from the optimum.
            while !(nextObjective >= objective - 1e-12 * abs(objective)) && halvings < 10 * maxIterations && step > 1e-10 {
                step /= 2
                halvings += 1
                candidate = zip(theta, delta).map { $0 + step * $1 }
                next = try pass.run(candidate)
                nextObjective = penalised(next.logLikelihood, candidate)
            }
            theta = candidate; current = next; objective = nextObjective
            logLikelihood = current.logLikelihood
            if l2 == 0, let (j, v) = theta.dropFirst().enumerated().max(by: { abs($0.1) < abs($1.1) }), abs(v) > runawayLimit {
                throw .separation(term: j, iterations: iterations)
            }
        }
        if !converged {
            if l2 == 0, let (j, _) = theta.dropFirst().enumerated().max(by: { abs($0.1) < abs($1.1) }) {
                throw .separation(term: j, iterations: iterations)
            }
            throw .notConverged(iterations: iterations)
        }
        let (beta, cov) = try designScale(theta, hessian: current.hessian, l2: l2, means: means, scales: scales)
        return LogisticFit(coefficients: beta, standardErrors: cov.diagonal.map { $0.squareRoot() }, covariance: cov,
                           standardised: theta, means: means, scales: scales, logLikelihood: logLikelihood,
                           nullLogLikelihood: nullLL, iterations: iterations, stepHalvings: halvings,
                           converged: converged, l2: l2)
    }

    /// θ and its covariance (the inverse of the penalised X'WX at the optimum) carried from
    /// the standardised scale to the design's: β = Aθ, Cov(β) = A·H⁻¹·Aᵀ, with A undoing
    /// z = (x - mean) / scale (intercept: θ₀ - Σ θⱼ·meanⱼ/scaleⱼ; slopes: θⱼ / scaleⱼ).
    static func designScale(_ theta: [Double], hessian: Matrix, l2: Double, means: [Double],
                            scales: [Double]) throws(Failure) -> (beta: [Double], covariance: Matrix) {
        let q = means.count, p = q + 1
        // Covariance at the optimum, standardised, then carried to the design's scale.
        var h = hessian
        for j in 1..<p { h[j, j] += l2 }
        let covTheta: Matrix
        do { covTheta = try Cholesky(h).inverse() } catch { throw .singular(error) }
        var a = Matrix(rows: p, columns: p)
        a[0, 0] = 1
        for j in 0..<q {
            a[0, j + 1] = -means[j] / scales[j]
            a[j + 1, j + 1] = 1 / scales[j]
        }
        let cov: Matrix
        do { cov = try covTheta.sandwiched(by: a) } catch { throw .singular(error) }
        var beta = [Double](repeating: 0, count: p)
        beta[0] = theta[0]
        for j in 0..<q {
            beta[j + 1] = theta[j + 1] / scales[j]
            beta[0] -= theta[j + 1] * means[j] / scales[j]
        }
        return (beta, cov)
    }

    /// Column means and scales for z = (x - mean) / scale (population standard deviation;
    /// 1 for a constant column, which the trainer has left out before a fit).
    static func standardisation(_ x: DesignMatrix) -> (means: [Double], scales: [Double]) {
        let m = x.moments()
        return (m.mean, m.sd.map { $0 > 0 ? $0 : 1 })
    }

    /// 1 / (1 + e^-η) per row, η = β₀ + Σ βⱼ·xⱼ (β: intercept first, one per design column).
    /// Rows over the workers, each written once into the result.
    public static func probabilities(_ beta: [Double], _ x: DesignMatrix) -> [Double] {
        let q = x.width, n = x.rows
        return x.withCells { cells in
            beta.withUnsafeBufferPointer { b in
                [Double](unsafeUninitializedCapacity: n) { out, count in
                    guard let o = out.baseAddress, let bp = b.baseAddress else { count = 0; return }
                    let op = UnsafeSendable(o), bv = UnsafeSendable(bp)
                    Workers.forEachRange(n, grain: 32_768) { rows in
                        DesignMatrix.blocks(of: rows, width: q, cells) { v, block in
                            for i in 0..<block.count {
                                var eta = bv.value[0]
                                for j in 0..<q { eta += bv.value[j + 1] * v[i * q + j] }
                                op.value[block.lowerBound + i] = sigmoid(eta)
                            }
                        }
                    }
                    count = n
                }
            }
        }
    }

    /// 1 / (1 + e^-η), without overflow for large |η|.
    @inline(__always) public static func sigmoid(_ eta: Double) -> Double {
        eta >= 0 ? 1 / (1 + exp(-eta)) : { let e = exp(eta); return e / (1 + e) }()
    }

}

/// One pass over the rows at θ: log-likelihood, gradient and X'WX (standardised).
struct Pass: Sendable {
    let x: DesignMatrix
    let y: DoubleColumn
    let c: Logistic.ClassWeights?
    let means: [Double]
    let scales: [Double]

    struct Result: Sendable {
        var logLikelihood: Double
        var gradient: [Double]
        var hessian: Matrix
        /// A BLAS shape error (a bug, never data): reported, not ignored.
        var error: LinalgError? = nil
    }

    func run(_ theta: [Double]) throws(Logistic.Failure) -> Result {
        let n = x.rows
        BLAS.runCallsOnCallingThread()
        // Partial sums per chunk, added in chunk order: the same for any worker count.
        let chunks = Workers.chunks(n, grain: 4 * Logistic.blockRows)
        let slots = Slots<Result>(count: chunks.count)
        x.withCells { cells in
            Workers.run(chunks.count) { k in
                slots[k] = part(theta, cells, from: chunks[k].lowerBound, to: chunks[k].upperBound)
            }
        }
        var total = slots[0] ?? x.withCells { part(theta, $0, from: 0, to: 0) }
        for k in 1..<chunks.count {
            guard let r = slots[k] else { continue }
            total.logLikelihood += r.logLikelihood
            for j in 0..<total.gradient.count { total.gradient[j] += r.gradient[j] }
            for j in 0..<total.hessian.storage.count { total.hessian.storage[j] += r.hessian.storage[j] }
        }
        for k in chunks.indices { if let e = slots[k]?.error { throw .singular(e) } }
        total.hessian.symmetrizeFromLower()
        return total
    }

    private func part(_ theta: [Double], _ cells: DesignMatrix.Cells, from lo: Int, to hi: Int) -> Result {
        let q = x.width, p = q + 1
        let block = Logistic.blockRows
        var z = [Double](repeating: 0, count: block * p)
        var eta = [Double](repeating: 0, count: block)
        var r = [Double](repeating: 0, count: block)
        var result = Result(logLikelihood: 0, gradient: [Double](repeating: 0, count: p), hessian: Matrix(rows: p, columns: p))
        let inverseScales = scales.map { 1 / $0 }
        var start = lo
        while start < hi {
            let m = min(block, hi - start)
            // The block's cells, standardised, after a leading 1; the row loops run on raw
            // pointers (bounds checks here cost as much as the arithmetic).
            z.withUnsafeMutableBufferPointer { zb in
                means.withUnsafeBufferPointer { mb in
                    inverseScales.withUnsafeBufferPointer { sb in
                        guard let zp = zb.baseAddress, let mp = mb.baseAddress, let sp = sb.baseAddress else { return }
                        cells.fill(rows: start, count: m, into: zp, stride: p, offset: 1, centre: mp, scale: sp)
                        for i in 0..<m { zp[i * p] = 1 }
                    }
                }
            }
            do { try BLAS.times(rowMajor: z, rows: m, vector: theta, into: &eta) } catch { result.error = error; return result }
            var ll = 0.0
            y.withUnsafeBufferPointer { yb in
                eta.withUnsafeMutableBufferPointer { eb in
                    r.withUnsafeMutableBufferPointer { rb in
                        if let c {
                            for i in 0..<m {
                                let e = eb[i], yi = yb[start + i], ci = c.of(yi)
                                // One exponential serves both: t = e^-|η|, μ = 1/(1+t) or t/(1+t),
                                // log(1 + e^η) = max(η, 0) + log1p(t).
                                let t = exp(-abs(e))
                                let mu = e >= 0 ? 1 / (1 + t) : t / (1 + t)
                                ll += ci * (yi * e - (max(e, 0) + log1p(t)))
                                rb[i] = ci * (yi - mu)
                                eb[i] = (ci * mu * (1 - mu)).squareRoot()  // reused: √w
                            }
                        } else {
                            // Unweighted: Σ log1p(tᵢ) is taken as the log of the product of
                            // (1 + tᵢ) ∈ (1, 2], one log per 512 rows (the product stays
                            // below 2^512). The product's rounding error is at most 512·2⁻⁵³
                            // relative, i.e. 6e-14 absolute per log: invisible in ℓ, and the
                            // per-row log1p was a third of the pass.
                            var product = 1.0, logSum = 0.0
                            for i in 0..<m {
                                let e = eb[i], yi = yb[start + i]
                                let t = exp(-abs(e))
                                let inverse = 1 / (1 + t)
                                let mu = e >= 0 ? inverse : t * inverse
                                ll += yi * e - max(e, 0)
                                product *= 1 + t
                                if i & 511 == 511 { logSum += log(product); product = 1 }
                                rb[i] = yi - mu
                                eb[i] = (mu * (1 - mu)).squareRoot()  // reused: √w
                            }
                            ll -= logSum + log(product)
                        }
                    }
                }
            }
            result.logLikelihood += ll
            do { try BLAS.transposedTimes(rowMajor: z, rows: m, vector: r, into: &result.gradient) } catch { result.error = error; return result }
            z.withUnsafeMutableBufferPointer { zb in
                eta.withUnsafeBufferPointer { eb in
                    guard let zp = zb.baseAddress else { return }
                    for i in 0..<m {
                        let s = eb[i], row = zp + i * p
                        for j in 0..<p { row[j] *= s }
                    }
                }
            }
            do { try BLAS.symmetricRankKUpdate(&result.hessian, rowMajor: z, rows: m) } catch { result.error = error; return result }
            start += m
        }
        return result
    }
}
