/// What went wrong handing work to Spark, said so that the run's one error line names it.
public enum SparkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The submit command is not there to run.
    case submitNotFound(command: String, hint: String)
    /// Spark could not find an input path or table (`message` is Spark's own).
    case inputMissing(message: String, log: String)
    /// The job failed for another reason (`message` is Spark's own).
    case jobFailed(status: Int32, message: String, log: String)
    /// A result Spark should have written is missing or not what the script writes.
    case badResult(path: String, detail: String)
    /// An input file without the header line the mapping names.
    case noHeader(input: String, names: [String])

    public var description: String {
        switch self {
        case .submitNotFound(let command, let hint):
            return "engine.submit: \(command) is not a command this machine can run; \(hint)"
        case .inputMissing(let message, let log):
            return "spark: \(message) (full log: \(log))"
        case .jobFailed(let status, let message, let log):
            return "spark: the job failed (exit \(status)): \(message) (full log: \(log))"
        case .badResult(let path, let detail):
            return "spark: \(path): \(detail)"
        case .noHeader(let input, let names):
            return "\(input): no line holds the column names input.columns gives (\(names.joined(separator: ", "))); "
                + "fix the mapping, or set input.header = false and map positions"
        }
    }

    /// Whether the failure is a missing input (exit 66) rather than anything else.
    public var isMissingInput: Bool {
        if case .inputMissing = self { return true }
        return false
    }
}
