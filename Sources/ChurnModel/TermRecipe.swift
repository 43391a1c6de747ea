import Foundation
import RetainIO

/// One column of the model's design matrix, and how it is made from a snapshot column.
/// Stored in `model.json`, so scoring rebuilds exactly the columns the model was fitted on.
public struct TermRecipe: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case value, missingIndicator = "missing_indicator" }

    /// Column name in `training_matrix.csv` and `coefficients.csv`.
    public var name: String
    public var kind: Kind
    /// The snapshot column it comes from; an indicator may stand for several features that
    /// are empty on exactly the same rows (mean_gap_days and recency_over_gap for a
    /// customer with one order), which would otherwise be two identical columns.
    public var features: [String]
    /// Signed log1p first, then clipping at these bounds (see `TermTransform`).
    public var log1p: Bool
    public var clipLower: Double?
    public var clipUpper: Double?
    /// Used where the feature is empty (a value that does not exist, such as the gap of a
    /// one-order customer): the median of the fitting data after transforms. The
    /// indicator term then carries the "is empty" information.
    public var fill: Double?

    public init(name: String, kind: Kind, features: [String], log1p: Bool = false,
                clipLower: Double? = nil, clipUpper: Double? = nil, fill: Double? = nil) {
        self.name = name; self.kind = kind; self.features = features; self.log1p = log1p
        self.clipLower = clipLower; self.clipUpper = clipUpper; self.fill = fill
    }

    /// The transformed value of a raw snapshot value `x` (NaN = empty): the log step
    /// (`logged`), then the other `steps`.
    @inline(__always) public func value(_ x: Double) -> Double {
        steps.apply(log1p ? Self.logged(x) : x)
    }

    /// The log step: sign(x)·log(1 + |x|) rounded to 9 decimals (NaN stays NaN). Rounded so
    /// that every value of the design has an exact short decimal form (as have the clip
    /// bounds), and `training_matrix.csv` holds the very doubles fitted, written fast; 5e-10
    /// is far below any effect on the model.
    @inline(__always) public static func logged(_ x: Double) -> Double {
        FixedPoint.rounded(signedLog1p(x), decimals: 9)
    }

    /// The steps after the log, on a value that has had it (when the term logs): an
    /// indicator's 1 for empty; the fill for empty; clipping. Plain numbers: concurrent
    /// loops copy this, not the recipe, whose strings and arrays would make the workers
    /// contend on reference counts.
    struct Steps: Sendable {
        let indicator: Bool
        /// NaN when the term has no fill (an empty value then stays empty).
        let fill: Double
        /// -inf / +inf when not clipped.
        let lower, upper: Double

        /// Every value as it is (an empty value stays empty).
        static let identity = Steps(indicator: false, fill: .nan, lower: -.infinity, upper: .infinity)

        @inline(__always) func apply(_ b: Double) -> Double {
            if indicator { return b.isNaN ? 1 : 0 }
            guard !b.isNaN else { return fill }
            return Swift.min(Swift.max(b, lower), upper)
        }
    }

    var steps: Steps {
        Steps(indicator: kind == .missingIndicator, fill: fill ?? .nan, lower: clipLower ?? -.infinity, upper: clipUpper ?? .infinity)
    }

    /// sign(x)·log(1 + |x|).
    @inline(__always) static func signedLog1p(_ x: Double) -> Double {
        x < 0 ? -Foundation.log1p(-x) : Foundation.log1p(x)
    }
}
