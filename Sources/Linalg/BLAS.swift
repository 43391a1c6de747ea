import CBLAS

/// Level-2/3 BLAS operations on row-major data blocks.
///
/// Retain builds its design matrix row by row (one customer per row), so a block of `n`
/// rows and `p` columns stored row-major is, to column-major BLAS, the `p x n` matrix Aᵀ.
/// The routines below take that view, which avoids any transpose copy. A block may be a
/// reused buffer longer than its rows: only the first `rows x p` values are read.
public enum BLAS {
    /// Makes OpenBLAS run each call on the calling thread. Retain splits its row passes
    /// over the cores itself, in blocks too small for OpenBLAS's own threads to pay: left
    /// on, the callers' worker pools spin against each other. Call once, before the first
    /// parallel pass; idempotent.
    public static func runCallsOnCallingThread() {
        _ = singleThreaded
    }

    private static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// `C := alpha * AᵀA + beta * C` for a row-major block A of `rows x C.columns`
    /// (BLAS `dsyrk`). Only the lower triangle of C is updated; call
    /// `symmetrizeFromLower()` once all blocks are in. Accumulating X'WX in blocks keeps
    /// memory at O(p²) beyond the block itself.
    public static func symmetricRankKUpdate(
        _ c: inout Matrix, rowMajor a: [Double], rows n: Int, alpha: Double = 1, beta: Double = 1
    ) throws(LinalgError) {
        let p = c.rows
        guard c.columns == p else { throw .dimensionMismatch("C is \(c.rows)x\(c.columns), not square") }
        guard a.count >= n * p else {
            throw .dimensionMismatch("block has \(a.count) values, expected \(n) rows x \(p) columns")
        }
        guard n > 0, p > 0 else { return }
        a.withUnsafeBufferPointer { ap in
            c.storage.withUnsafeMutableBufferPointer { cp in
                // Column-major view: A is p x n with leading dimension p; C = A·Aᵀ.
                cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans,
                            Int32(p), Int32(n), alpha, ap.baseAddress, Int32(p),
                            beta, cp.baseAddress, Int32(p))
            }
        }
    }

    /// `y := alpha * Aᵀx + beta * y` for a row-major block A of `rows x y.count`
    /// (BLAS `dgemv`); with x = residuals this is the logistic gradient's block sum.
    public static func transposedTimes(
        rowMajor a: [Double], rows n: Int, vector x: [Double], into y: inout [Double],
        alpha: Double = 1, beta: Double = 1
    ) throws(LinalgError) {
        let p = y.count
        guard a.count >= n * p, x.count >= n else {
            throw .dimensionMismatch("block \(a.count) values, x \(x.count), expected \(n) x \(p)")
        }
        guard n > 0, p > 0 else { return }
        a.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    // Column-major A is p x n; (Aᵀ)ᵀ-view times x is a no-transpose gemv.
                    cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(p), Int32(n), alpha,
                                ap.baseAddress, Int32(p), xp.baseAddress, 1, beta, yp.baseAddress, 1)
                }
            }
        }
    }

    /// `A x` for a row-major block A of `rows x x.count`: one linear predictor per row.
    public static func times(rowMajor a: [Double], rows n: Int, vector x: [Double]) throws(LinalgError) -> [Double] {
        var y = [Double](repeating: 0, count: n)
        try times(rowMajor: a, rows: n, vector: x, into: &y)
        return y
    }

    /// `y[0..<rows] := A x` into a reused buffer (a fit calls it once per block and
    /// iteration; allocating per block would dominate).
    public static func times(rowMajor a: [Double], rows n: Int, vector x: [Double], into y: inout [Double]) throws(LinalgError) {
        let p = x.count
        guard a.count >= n * p, y.count >= n else { throw .dimensionMismatch("block \(a.count) values, y \(y.count), expected \(n) x \(p)") }
        guard n > 0, p > 0 else { return }
        a.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    cblas_dgemv(CblasColMajor, CblasTrans, Int32(p), Int32(n), 1,
                                ap.baseAddress, Int32(p), xp.baseAddress, 1, 0, yp.baseAddress, 1)
                }
            }
        }
    }
}
