/// Everything the Ledger module reports, each naming the file and what to do.
public enum LedgerError: Error, CustomStringConvertible, Sendable {
    /// An input file cannot be opened or read (exit 66).
    case inputUnreadable(path: String, reason: String)
    /// The input does not fit the pipeline's format mapping (exit 65).
    case inputMismatch(path: String, line: Int, reason: String)
    /// A ledger file is damaged, truncated, or not a ledger (exit 65).
    case corrupt(path: String, reason: String)
    /// A ledger written by another format version (exit 65).
    case foreignVersion(path: String, found: UInt32, expected: UInt32)
    /// A ledger file cannot be written (exit 73).
    case cannotWrite(path: String, reason: String)
    /// The column mapping does not say which column it means (a header name twice; exit 78).
    case ambiguousMapping(path: String, reason: String)

    public var description: String {
        switch self {
        case .inputUnreadable(let path, let reason):
            return "cannot read input \(path): \(reason)"
        case .inputMismatch(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .ambiguousMapping(let path, let reason):
            return "\(path):1: \(reason)"
        case .corrupt(let path, let reason):
            return "ledger \(path) is damaged (\(reason)); rerun the ingest stage (retain run PIPELINE --only ingest)"
        case .foreignVersion(let path, let found, let expected):
            return "ledger \(path) has format version \(found), this retain reads version \(expected); "
                + "rerun the ingest stage to rebuild it"
        case .cannotWrite(let path, let reason):
            return "cannot write ledger \(path): \(reason)"
        }
    }
}
