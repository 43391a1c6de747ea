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

extension Matrix {
    /// A·self·Aᵀ for a symmetric `self` (a covariance carried through the linear map A,
    /// e.g. from standardised to original units). Plain loops: p is small (under 50).
    public func sandwiched(by a: Matrix) throws(LinalgError) -> Matrix {
        guard rows == columns, a.columns == rows else {
            throw .dimensionMismatch("A is \(a.rows)x\(a.columns), C is \(rows)x\(columns)")
        }
        var ac = Matrix(rows: a.rows, columns: columns)
        for i in 0..<a.rows { for j in 0..<columns {
            var s = 0.0
            for k in 0..<rows { s += a[i, k] * self[k, j] }
            ac[i, j] = s
        } }
        var out = Matrix(rows: a.rows, columns: a.rows)
        for i in 0..<a.rows { for j in 0..<a.rows {
            var s = 0.0
            for k in 0..<columns { s += ac[i, k] * a[j, k] }
            out[i, j] = s
        } }
        return out
    }

    /// Columns that are (numerically) linear combinations of earlier columns, for a Gram
    /// or correlation matrix: a Cholesky factorisation in column order that skips a column
    /// whose remaining pivot is below `tolerance` times its diagonal (its share of variance
    /// not explained by the kept columns before it). Returns the skipped column indices;
    /// the earlier column a skipped one depends on most is `dependsOn`.
    public func dependentColumns(tolerance: Double = 1e-9) -> [(column: Int, dependsOn: Int?)] {
        let p = rows
        var l = Matrix(rows: p, columns: p)
        var kept: [Int] = []
        var dropped: [(Int, Int?)] = []
        for j in 0..<p {
            let diag = self[j, j]
            var d = diag
            for k in kept { d -= l[j, k] * l[j, k] }
            guard diag > 0, d > tolerance * diag else {
                // The kept column with the largest |correlation| with this one.
                let partner = kept.max { abs(self[j, $0]) / (self[$0, $0] * max(diag, .leastNonzeroMagnitude)).squareRoot()
                    < abs(self[j, $1]) / (self[$1, $1] * max(diag, .leastNonzeroMagnitude)).squareRoot() }
                dropped.append((j, partner))
                continue
            }
            let ljj = d.squareRoot()
            l[j, j] = ljj
            for i in (j + 1)..<max(p, j + 1) {
                var s = self[i, j]
                for k in kept { s -= l[i, k] * l[j, k] }
                l[i, j] = s / ljj
            }
            kept.append(j)
        }
        return dropped
    }
}
