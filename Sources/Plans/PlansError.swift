/// What the plan archive and the evaluation could not do, naming the file and what to do.
public enum PlansError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An archived plan's file is missing, unreadable, or not what its plan.json recorded.
    case damagedPlan(path: String, detail: String)
    /// `--plan` names a plan the archive does not hold, or one not yet judgeable.
    case planNotAvailable(asOf: String, detail: String)
    /// `retain generate --treat`: the plan is not one of a generated log's.
    case notGenerated(path: String, detail: String)

    public var description: String {
        switch self {
        case .damagedPlan(let path, let detail):
            return "\(path): \(detail); the plan cannot be judged (remove its folder to drop it from the archive, or rerun retain run --as-of for that date to make it again)"
        case .planNotAvailable(let asOf, let detail):
            return "plan \(asOf): \(detail)"
        case .notGenerated(let path, let detail):
            return "\(path): \(detail)"
        }
    }
}
