import Foundation

/// Settings of the train stage (pipeline file, `[model]` and `[model.transforms]`).
public struct ModelSettings: Sendable, Equatable {
    /// Snapshot columns the model may use; nil = every feature the snapshot has but the
    /// BG/NBD columns, which only the hybrid model adds (`variant(_:table:)`).
    public var features: [String]? = nil
    /// L2 penalty λ on the slopes, in standardised units: the fit maximises
    /// ℓ(θ) − (λ/2)·Σⱼ θⱼ² (j over slopes, intercept free), ℓ the (weighted) log-likelihood.
    /// 0 gives the plain maximum-likelihood fit that statsmodels reproduces.
    public var l2: Double = 0
    /// Row weights: `.none`, or `.balanced` = n / (2·n_class) per class (scikit-learn's
    /// "balanced"), so churners and stayers weigh the same in total.
    public var classWeight: ClassWeight = .none
    /// The fit stops after a Newton step whose largest change of a standardised
    /// coefficient is below this. Newton converges quadratically, so the coefficients
    /// are then exact to about its square.
    public var tolerance: Double = 1e-8
    public var maxIterations: Int = 50
    /// Per feature: transforms applied before standardising (see `TermTransform`).
    public var transforms: [String: TermTransform] = [:]
    /// Quantiles of the fitting data at which a feature with `clip` is clipped.
    public var clipLower: Double = 0.01
    public var clipUpper: Double = 0.99
    /// λ used instead when the data separates the classes and the plain fit runs off.
    public var separationRidge: Double = 1
    /// Which model scores (`ModelChoice`).
    public var choice: ModelChoice = .best

    public init() {}
}

public enum ClassWeight: String, Sendable, Equatable, Codable {
    case none, balanced
}

/// What is done to a feature before it enters the model, in this order:
/// - `log1p`: x ↦ sign(x)·log(1 + |x|) (money and counts: tames the long right tail;
///   signed so a net refund, a negative amount, stays defined and ordered);
/// - `clip`: x ↦ min(max(x, q_lo), q_hi) with the quantiles of the fitting data, stored in
///   `model.json` so scoring clips at the same bounds.
public struct TermTransform: Sendable, Equatable, Codable {
    public var log1p: Bool
    public var clip: Bool

    public init(log1p: Bool = false, clip: Bool = false) { self.log1p = log1p; self.clip = clip }

    /// Parses the pipeline file's spelling: "none", "log1p", "clip", "log1p+clip".
    public init?(spec: String) {
        let parts = spec.split(separator: "+").map { $0.trimmingCharacters(in: .whitespaces) }
        var t = TermTransform()
        for p in parts {
            switch p {
            case "none": continue
            case "log1p": t.log1p = true
            case "clip": t.clip = true
            default: return nil
            }
        }
        self = t
    }

    public var spec: String {
        let parts = (log1p ? ["log1p"] : []) + (clip ? ["clip"] : [])
        return parts.isEmpty ? "none" : parts.joined(separator: "+")
    }
}
