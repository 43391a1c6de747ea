/// What the lifetime-value models could not do, said so that the value stage can fall back.
public enum LifetimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Too few customers of the kind a model needs (`what` names them) to fit it.
    case tooFewCustomers(model: String, what: String, found: Int, needed: Int)
    /// The likelihood could not be evaluated at the start or along the whole search.
    case notFinite(model: String)
    /// A value file the stage reads is missing a column or holds a bad number.
    case badSummary(file: String, detail: String)

    public var description: String {
        switch self {
        case .tooFewCustomers(let model, let what, let found, let needed):
            return "\(model): \(found) \(what), fewer than the \(needed) the fit needs"
        case .notFinite(let model):
            return "\(model): the likelihood is not finite for these data"
        case .badSummary(let file, let detail):
            return "\(file): \(detail)"
        }
    }
}
