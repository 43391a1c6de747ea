import CLAPACKE
import Foundation

/// The Cholesky factorisation A = L·Lᵀ of a symmetric positive-definite matrix
/// (LAPACK `dpotrf`), with solves (`dpotrs`) and the inverse (`dpotri`).
///
/// A Newton step for logistic regression solves (X'WX) δ = X'(y - μ); X'WX is symmetric
/// positive definite unless a feature is constant or collinear, which `dpotrf` reports as
/// a non-positive leading minor; that surfaces as `LinalgError.notPositiveDefinite`.
public struct Cholesky: Sendable {
    /// The lower factor L (upper triangle zeroed).
    public let lower: Matrix

    public init(_ a: Matrix) throws(LinalgError) {
        guard a.rows == a.columns else { throw .dimensionMismatch("Cholesky of a \(a.rows)x\(a.columns) matrix") }
        guard a.storage.allSatisfy({ $0.isFinite }) else { throw .nonFinite("the matrix to factor") }
        var f = a
        let n = a.rows
        let info = f.storage.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), p.baseAddress, Int32(max(n, 1)))
        }
        if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw .lapack(routine: "dpotrf", info: Int(info)) }
        for j in 0..<n { for i in 0..<j { f[i, j] = 0 } }
        lower = f
    }

    /// Solves A x = b.
    public func solve(_ b: [Double]) throws(LinalgError) -> [Double] {
        let n = lower.rows
        guard b.count == n else { throw .dimensionMismatch("right-hand side has \(b.count) values, matrix is \(n)x\(n)") }
        guard b.allSatisfy({ $0.isFinite }) else { throw .nonFinite("the right-hand side") }
        var x = b
        var l = lower
        let info = l.storage.withUnsafeMutableBufferPointer { lp in
            x.withUnsafeMutableBufferPointer { xp in
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), 1,
                               lp.baseAddress, Int32(max(n, 1)), xp.baseAddress, Int32(max(n, 1)))
            }
        }
        if info != 0 { throw .lapack(routine: "dpotrs", info: Int(info)) }
        return x
    }

    /// A⁻¹, from the factor (`dpotri`); its diagonal gives coefficient variances.
    public func inverse() throws(LinalgError) -> Matrix {
        let n = lower.rows
        var inv = lower
        let info = inv.storage.withUnsafeMutableBufferPointer { p in
            LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), p.baseAddress, Int32(max(n, 1)))
        }
        if info > 0 { throw .notPositiveDefinite(minor: Int(info)) }
        if info < 0 { throw .lapack(routine: "dpotri", info: Int(info)) }
        inv.symmetrizeFromLower()
        return inv
    }

    /// log det A = 2 Σ log Lᵢᵢ.
    public var logDeterminant: Double { 2 * lower.diagonal.reduce(0) { $0 + log($1) } }
}

