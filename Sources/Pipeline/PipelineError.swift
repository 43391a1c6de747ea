import Plans
import ChurnModel
import Ledger
import RetainIO
import SparkEngine
import Segmentation

/// Exit statuses of docs/CONTRACT.md, in one place.
public enum ExitStatus: Int32, Sendable {
    case success = 0
    case failure = 1
    case badData = 65
    case noInput = 66
    case cannotWrite = 73
    case locked = 75
    case badConfig = 78
    /// Stopped by SIGINT / SIGTERM (128 + the signal's number, as shells report it).
    case interrupted = 130
    case terminated = 143
}

/// Errors of the pipeline layer: the pipeline file, the run folder, the stages' checks.
/// Every message names the file and line, or the key, and says what to do.
public enum PipelineError: Error, CustomStringConvertible, Sendable {
    case syntax(file: String, line: Int, column: Int, message: String)
    case unknownKey(file: String, key: String, line: Int, suggestion: String?)
    case wrongType(file: String, key: String, line: Int, expected: String, found: String)
    case missingKey(file: String, key: String, hint: String)
    case invalidValue(file: String, key: String, line: Int, message: String)
    case pipelineUnreadable(file: String, reason: String)
    case inputMissing(pattern: String, key: String)
    case locked(folder: String, holder: String)
    case tooManyRejects(rejected: Int, read: Int, limit: Double, rejectsFile: String)
    case noCustomers(detail: String)
    case upstreamMissing(stage: String, needs: String, detail: String)
    case invalidOption(String)
    /// Something in the output folder that retain would have to follow or overwrite blindly.
    case unsafeOutput(path: String, reason: String)
    /// A publish journal with an entry outside the output folder (line 0: the file itself).
    case unsafeJournal(path: String, line: Int, reason: String)
    /// SIGINT or SIGTERM arrived; the previous outputs stand.
    case stopped(signal: String)
    /// A run's failure as reported: the message with staging paths replaced by where the
    /// failure's files are kept, and the exit status of the error it came from.
    case failed(message: String, status: ExitStatus)

    public var description: String {
        switch self {
        case .syntax(let file, let line, let column, let message):
            return "\(file):\(line):\(column): \(MessageText.excerpt(message, limit: 600))"
        case .unknownKey(let file, let key, let line, let suggestion):
            return "\(file):\(line): unknown key \(MessageText.excerpt(key))" + (suggestion.map { "; did you mean \($0)?" } ?? "; see the pipeline keys in README.md")
        case .wrongType(let file, let key, let line, let expected, let found):
            return "\(file):\(line): \(key) must be \(expected), not \(MessageText.excerpt(found))"
        case .missingKey(let file, let key, let hint):
            return "\(file): \(key) is required: \(hint)"
        case .invalidValue(let file, let key, let line, let message):
            return "\(file):\(line): \(key): \(MessageText.excerpt(message, limit: 600))"
        case .pipelineUnreadable(let file, let reason):
            return "cannot read pipeline file \(file): \(reason)"
        case .inputMissing(let pattern, let key):
            return "input \(pattern) (\(key)) matches no readable file; check the path, relative to the pipeline file"
        case .locked(let folder, let holder):
            return "another run holds the lock on \(folder) (\(holder)); wait for it to finish, or check that process"
        case .tooManyRejects(let rejected, let read, let limit, let file):
            let share = read > 0 ? Double(rejected) / Double(read) * 100 : 0
            return "rejected \(rejected) of \(read) rows (\(MessageText.percent(share))), over the limit of \(MessageText.percent(limit * 100)) "
                + "(validation.max_reject_share); see \(file)"
        case .noCustomers(let detail):
            return "no usable customers: \(detail)"
        case .upstreamMissing(let stage, let needs, let detail):
            return "stage \(stage) needs the output of \(needs) (\(detail)); run `retain run PIPELINE --from \(needs)` first"
        case .invalidOption(let message):
            return message
        case .unsafeOutput(let path, let reason):
            return "\(path): refusing to use it: \(reason)"
        case .unsafeJournal(let path, let line, let reason):
            return "\(path)\(line > 0 ? ":\(line)" : ""): refusing the publish journal, nothing was changed: \(reason); "
                + "remove the journal if the folder's files are as they should be"
        case .stopped(let signal):
            return "stopped by \(signal); the previous outputs are unchanged, and last-failure/ records this run"
        case .failed(let message, _):
            return message
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .syntax, .unknownKey, .wrongType, .missingKey, .invalidValue, .invalidOption: return .badConfig
        case .pipelineUnreadable, .inputMissing: return .noInput
        case .locked: return .locked
        case .tooManyRejects, .noCustomers: return .badData
        case .upstreamMissing: return .badConfig
        case .unsafeOutput: return .cannotWrite
        case .unsafeJournal: return .badData
        case .stopped(let signal): return signal == "SIGINT" ? .interrupted : .terminated
        case .failed(_, let status): return status
        }
    }
}


/// The exit status for any error a run can raise.
public func exitStatus(for error: any Error) -> ExitStatus {
    switch error {
    case let e as PipelineError: return e.exitStatus
    case let e as LedgerError:
        switch e {
        case .inputUnreadable: return .noInput
        case .inputMismatch, .corrupt, .foreignVersion: return .badData
        case .cannotWrite: return .cannotWrite
        case .ambiguousMapping: return .badConfig
        }
    case let e as IOError:
        switch e {
        case .cannotRead: return .noInput
        case .cannotWrite: return .cannotWrite
        case .malformed: return .badData
        }
    case let e as ChurnModelError:
        switch e {
        case .missingFeature, .modelUnreadable, .emptyWithoutFill: return .badConfig
        default: return .badData
        }
    case let e as PlansError:
        switch e {
        case .damagedPlan: return .badData
        case .planNotAvailable, .notGenerated: return .badConfig
        }
    case let e as SparkError:
        switch e {
        case .inputMissing: return .noInput
        case .submitNotFound: return .badConfig
        case .noHeader: return .badData
        case .jobFailed, .badResult: return .failure
        }
    case let e as SegmentationError:
        switch e {
        case .strategicAccountsUnreadable: return .noInput
        case .strategicAccountsMalformed: return .badData
        case .missingColumn: return .badConfig
        case .stopped: return .failure
        }
    default: return .failure
    }
}
