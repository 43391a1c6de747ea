/// Errors of the churn model: data it cannot learn from, and models that do not fit the
/// data they are asked to score. Each says what is wrong and what to do.
public enum ChurnModelError: Error, CustomStringConvertible, Sendable {
    /// A model term needs a snapshot column the file lacks.
    case missingFeature(term: String, feature: String, file: String)
    /// An infinite value (empty fields are handled; infinities are not data).
    case nonFinite(feature: String, customer: String, file: String)
    /// An empty value for a term whose recipe has no fill (a model.json written before
    /// every value term carried one).
    case emptyWithoutFill(feature: String, customer: String, file: String)
    case badLabel(customer: String, value: Double, file: String)
    case noLabels(file: String)
    /// Nobody churned, or everybody did: there is nothing to tell apart.
    case oneClass(churned: Int, customers: Int, file: String)
    case tooFewRows(customers: Int, terms: Int, file: String)
    case noTerms(file: String)
    /// The Newton iterations did not settle even with a penalty.
    case fitFailed(String)
    case modelUnreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFeature(let term, let feature, let file):
            return "\(file) has no column \(feature), which model term \(term) needs; "
                + "retrain the model on snapshots with the same features (retain run PIPELINE --from train), or drop it from model.features"
        case .nonFinite(let feature, let customer, let file):
            return "\(file): \(feature) is infinite for customer \(customer), which the features stage never writes "
                + "(it leaves a value that does not exist empty): the file was changed after it was written; "
                + "rebuild it with retain run PIPELINE --from features"
        case .emptyWithoutFill(let feature, let customer, let file):
            return "\(file): \(feature) is empty for customer \(customer), and the model has no fill value for it "
                + "(a model.json from an earlier retain); retrain it with retain run PIPELINE --from train"
        case .badLabel(let customer, let value, let file):
            return "\(file): churned is \(value) for customer \(customer), not 0 or 1; rerun the features stage"
        case .noLabels(let file):
            return "\(file) has no churned column, so no model can be fitted on it; rerun the features stage"
        case .oneClass(let churned, let customers, let file):
            let who = churned == 0 ? "none of the \(customers) customers churned" : "all \(customers) customers churned"
            return "\(file): \(who), so there is nothing for a churn model to learn; "
                + "check features.horizon_days and features.active_window_days against the data's span"
        case .tooFewRows(let customers, let terms, let file):
            return "\(file): \(customers) customers cannot fit a model of \(terms) terms; "
                + "use more data, a longer features.active_window_days, or fewer model.features"
        case .noTerms(let file):
            return "\(file): every model feature was left out (constant, empty or collinear); check model.features"
        case .fitFailed(let why):
            return "the churn model could not be fitted: \(why); set model.l2 (for example 1) to stabilise it"
        case .modelUnreadable(let path, let reason):
            return "cannot use the model \(path): \(reason); rerun the train stage (retain run PIPELINE --from train)"
        }
    }
}
