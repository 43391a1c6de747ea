/// A dense matrix of `Double` stored column-major, the layout BLAS and LAPACK expect.
///
/// Kept deliberately small: Retain's numerics need a Gram matrix (p x p, p about 10-30),
/// its Cholesky factor and inverse, never general matrix algebra.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Column-major elements: element (i, j) is at `i + j * rows`.
    public var storage: [Double]

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.storage = Array(repeating: value, count: rows * columns)
    }

    /// Builds a matrix from rows written the way people write them: `[[1, 2], [3, 4]]`.
    public init(_ rowsOfValues: [[Double]]) throws(LinalgError) {
        let r = rowsOfValues.count
        let c = rowsOfValues.first?.count ?? 0
        guard rowsOfValues.allSatisfy({ $0.count == c }) else {
            throw .dimensionMismatch("rows of unequal length")
        }
        self.init(rows: r, columns: c)
        for i in 0..<r { for j in 0..<c { self[i, j] = rowsOfValues[i][j] } }
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public subscript(i: Int, j: Int) -> Double {
        get { storage[i + j * rows] }
        set { storage[i + j * rows] = newValue }
    }

    /// Copies the lower triangle onto the upper one (BLAS `dsyrk` and LAPACK `dpotri`
    /// fill only one triangle).
    public mutating func symmetrizeFromLower() {
        precondition(rows == columns, "only square matrices can be symmetrised")
        for j in 0..<columns { for i in (j + 1)..<max(rows, j + 1) { self[j, i] = self[i, j] } }
    }

    /// The diagonal, as a plain array.
    public var diagonal: [Double] { (0..<min(rows, columns)).map { self[$0, $0] } }
}
