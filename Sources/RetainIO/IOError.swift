#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of file input and output, each naming the path and the system's reason.
public enum IOError: Error, CustomStringConvertible, Sendable {
    /// An input could not be opened or read (exit 66 at the command line).
    case cannotRead(path: String, reason: String)
    /// An output could not be created, written or renamed into place (exit 73).
    case cannotWrite(path: String, reason: String)
    /// A file Retain wrote for a later stage no longer has the shape it wrote (edited by
    /// hand, or cut short): the line and what is wrong (exit 65).
    case malformed(path: String, line: Int, message: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            return "cannot read \(path): \(reason); check that it exists and is readable"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason); check the folder exists, is writable and has space"
        case .malformed(let path, let line, let message):
            return "\(path):\(line): \(message); rerun the stage that writes this file"
        }
    }

    /// The text of the current `errno`.
    public static func systemReason(_ code: Int32 = errno) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }
}
