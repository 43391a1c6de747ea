import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a run prints. Cron mails whatever is printed, so: plain log lines, one per event,
/// on standard error; progress (overwritten in place) only when standard error is a
/// terminal; `quiet` keeps warnings and errors only, `verbose` adds details.
public final class Reporter: @unchecked Sendable {
    public enum Level: Int, Sendable { case quiet, normal, verbose }
    public let level: Level
    private let isTerminal: Bool
    private var progressShown = false
    private let lock = NSLock()

    public init(level: Level = .normal, isTerminal: Bool = isatty(2) != 0) {
        self.level = level
        self.isTerminal = isTerminal
    }

    private func emit(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        if progressShown { writeError("\r\u{1B}[K"); progressShown = false }
        writeError(text + "\n")
    }

    public func info(_ message: String) { if level != .quiet { emit("retain: \(message)") } }
    public func detail(_ message: String) { if level == .verbose { emit("retain: \(message)") } }
    public func warning(_ message: String) { emit("retain: warning: \(message)") }
    public func error(_ message: String) { emit("retain: error: \(message)") }

    /// A transient status line; shown only on a terminal and not in quiet mode.
    public func progress(_ message: String) {
        guard isTerminal, level != .quiet else { return }
        lock.lock(); defer { lock.unlock() }
        writeError("\r\u{1B}[K" + message)
        progressShown = true
    }
}


/// Writes straight to file descriptor 2 (unbuffered, so lines are never interleaved
/// half-way and nothing is lost if the process is killed).
func writeError(_ text: String) {
    var t = text
    t.withUTF8 { u in
        guard let base = u.baseAddress else { return }
        var off = 0
        while off < u.count {
            let n = write(2, base + off, u.count - off)
            if n <= 0 { break }
            off += n
        }
    }
}
