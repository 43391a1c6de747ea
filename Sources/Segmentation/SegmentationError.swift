/// Errors of the segment stage, each naming the file and line and saying what to do.
public enum SegmentationError: Error, CustomStringConvertible, Sendable {
    case strategicAccountsUnreadable(path: String, reason: String)
    case strategicAccountsMalformed(path: String, line: Int, message: String)
    case missingColumn(file: String, column: String)
    /// The retention history was stopped before it finished (its run ended first).
    case stopped

    public var description: String {
        switch self {
        case .strategicAccountsUnreadable(let path, let reason):
            return "cannot read the strategic accounts file \(path) (segment.strategic_accounts): \(reason)"
        case .strategicAccountsMalformed(let path, let line, let message):
            return "\(path):\(line): \(message); the file needs a header customer_id,role and one account per line"
        case .missingColumn(let file, let column):
            return "\(file) has no column \(column); rerun the score stage (retain run PIPELINE --from score)"
        case .stopped:
            return "the retention history was stopped before it finished; rerun the segment stage (retain run PIPELINE --only segment)"
        }
    }
}
