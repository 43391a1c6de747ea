/// Everything that can go wrong in the linear-algebra layer.
public enum LinalgError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Operands whose shapes do not fit together; the text says which.
    case dimensionMismatch(String)
    /// Cholesky failed: the leading minor of this order (1-based) is not positive,
    /// i.e. the matrix is singular or indefinite (constant or collinear features).
    case notPositiveDefinite(minor: Int)
    /// A non-finite value reached the layer; BLAS would silently spread it.
    case nonFinite(String)
    /// LAPACK reported an argument error (a bug in this layer, never bad data).
    case lapack(routine: String, info: Int)

    public var description: String {
        switch self {
        case .dimensionMismatch(let what):
            return "matrix dimensions do not match: \(what)"
        case .notPositiveDefinite(let minor):
            return "matrix is not positive definite (leading minor \(minor) is not positive): "
                + "a feature is constant or a linear combination of others; drop it or add an L2 penalty"
        case .nonFinite(let what):
            return "non-finite value (NaN or infinity) in \(what); clean the input before fitting"
        case .lapack(let routine, let info):
            return "LAPACK \(routine) rejected argument \(-info) (internal error, please report)"
        }
    }
}
