import ArgumentParser
import Foundation
import Ledger
import Pipeline
import Plans
import RetainIO

@main
struct Retain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retain",
        abstract: "Turn transaction logs into a churn forecast and a retention plan.",
        discussion: """
            Exit status: 0 success; 65 bad data; 66 input missing or unreadable; 73 cannot \
            write the output; 75 another run holds the output's lock; 78 bad pipeline file \
            or options, or a stale upstream artifact; 130 / 143 stopped by SIGINT / SIGTERM \
            (previous outputs intact); 1 anything else.
            """,
        version: Runner.version,
        subcommands: [RunCommand.self, ValidateCommand.self, GenerateCommand.self, EvaluateCommand.self])

    /// Parses and runs, mapping every failure to docs/CONTRACT.md's exit status and one line.
    static func main() {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }  // --help, --version
            writeLine("retain: error: \(message(for: error).split(separator: "\n").first.map(String.init) ?? "bad options") (see retain --help)")
            Foundation.exit(ExitStatus.badConfig.rawValue)
        }
        do {
            var c = command
            try c.run()
        } catch {
            // Help, version and option errors raised while running belong to ArgumentParser.
            let isDomainError = error is PipelineError || error is LedgerError || error is IOError || error is PlansError || error is ValidationError
            if !isDomainError && exitCode(for: error) == .success { exit(withError: error) }
            if error is ValidationError {
                writeLine("retain: error: \(message(for: error)) (see retain --help)")
                Foundation.exit(ExitStatus.badConfig.rawValue)
            }
            let status = exitStatus(for: error)
            let text = String(describing: error).replacingOccurrences(of: "\n", with: " ")
            writeLine("retain: error: \(text)")
            Foundation.exit(status.rawValue)
        }
    }
}

func writeLine(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// `--quiet` / `--verbose`, shared by the commands that log.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print warnings and errors only.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print details of every step.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("give --quiet or --verbose, not both") }
    }

    var reporter: Reporter { Reporter(level: quiet ? .quiet : verbose ? .verbose : .normal) }
}

/// `--workers`, shared by the commands that read data: the threads every parallel loop
/// uses. Without it, `RETAIN_WORKERS`; without that, the processors this process may run
/// on. Outputs are the same for any count.
struct WorkerOptions: ParsableArguments {
    @Option(name: .long, help: "Worker threads (default: RETAIN_WORKERS, else the processors this process may run on).")
    var workers: Int?

    /// The count asked for, by option or environment; nil for the default.
    func requested() throws -> Int? {
        if let workers {
            guard Workers.parse(String(workers)) != nil else {
                throw ValidationError("--workers \(workers): give a whole number from 1 to \(Workers.maximum)")
            }
            return workers
        }
        guard let text = ProcessInfo.processInfo.environment["RETAIN_WORKERS"] else { return nil }
        guard let n = Workers.parse(text) else {
            throw ValidationError("RETAIN_WORKERS='\(MessageText.excerpt(text))': give a whole number from 1 to \(Workers.maximum), or unset it")
        }
        return n
    }

    func validate() throws { _ = try requested() }

    /// Sets the process's worker count.
    func apply() throws {
        if let n = try requested() { Workers.use(n) }
    }
}
