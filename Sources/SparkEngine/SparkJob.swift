import CSupport
import Foundation
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// One run of the generated script through the submit command: the command line, the
/// child process (in a process group of its own, so a stopped run stops all of Spark's
/// processes), its log, and what the log says (the application id, or the error).
public struct SparkJob: Sendable {
    public let settings: SparkSettings
    /// The pipeline file's folder: a submit command given as a relative path is found there.
    public let folder: String

    public init(settings: SparkSettings, folder: String) { self.settings = settings; self.folder = folder }

    /// The class spark-sql runs, for a `spark-submit` command.
    static let cliDriver = "org.apache.spark.sql.hive.thriftserver.SparkSQLCLIDriver"

    /// The command's arguments for `script` (after the command itself).
    public func arguments(script: String) -> [String] {
        let rest = Array(settings.submit.dropFirst())
        let isSubmit = (settings.submit.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "") == "spark-submit"
        var args = rest + ["--master", settings.master]
        for c in settings.conf { args += ["--conf", "\(c.key)=\(c.value)"] }
        if isSubmit { args += ["--class", Self.cliDriver, "spark-internal"] }
        return args + ["-f", script]
    }

    /// The submit command as a path: a relative path against the pipeline's folder, a bare
    /// name on PATH.
    public func executable() throws -> String {
        guard let name = settings.submit.first, !name.isEmpty else {
            throw SparkError.submitNotFound(command: "(empty)", hint: "name the command, e.g. submit = \"spark-sql\"")
        }
        let hint = "run scripts/install-deps --spark (pyspark brings spark-sql), or set engine.submit to its path"
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : URL(fileURLWithPath: folder).appendingPathComponent(name).standardizedFileURL.path
            guard access(path, X_OK) == 0 else { throw SparkError.submitNotFound(command: path, hint: hint) }
            return path
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if access(path, X_OK) == 0 { return path }
        }
        throw SparkError.submitNotFound(command: name, hint: hint)
    }

    /// What a finished job left: its application id, as its log gives it.
    public struct Outcome: Sendable {
        public let applicationID: String?
        public let seconds: Double
    }

    /// Runs `script` (a file) and waits; the command's output goes to `log`. A failure is
    /// the error Spark printed, as one line. `directory` is the command's working folder:
    /// spark-sql leaves its Hive metastore (`metastore_db/`, `derby.log`) in it, so it must be
    /// a folder of retain's (the run's results folder), never wherever retain was started.
    public func run(script: String, log: String, directory: String) throws -> Outcome {
        let command = try executable()
        let started = ResourceUse.now()
        let status = try ChildProcess.run(command, arguments: arguments(script: script), output: log,
                                          pathFirst: URL(fileURLWithPath: command).deletingLastPathComponent().path, directory: directory)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let message = Self.errorLine(text) ?? "no error message in its log"
            if Self.isMissingInput(message) { throw SparkError.inputMissing(message: message, log: log) }
            throw SparkError.jobFailed(status: status, message: message, log: log)
        }
        return Outcome(applicationID: Self.applicationID(text), seconds: ResourceUse.now() - started)
    }

    /// The application id a Spark log names: "Application Id: ..." (spark-sql), or the
    /// id YARN or a standalone master gave.
    static func applicationID(_ log: String) -> String? {
        for line in log.split(separator: "\n") {
            if let r = line.range(of: "Application Id: ") {
                return line[r.upperBound...].split(separator: " ").first.map(String.init)
            }
        }
        for pattern in ["application_[0-9]+_[0-9]+", "app-[0-9]+-[0-9]+", "local-[0-9]+"] {
            if let r = log.range(of: pattern, options: .regularExpression) { return String(log[r]) }
        }
        return nil
    }

    /// Spark's own error, as the first line of the log that states one (an error class in
    /// brackets, "Error in query", or an exception with its message), at most about 300
    /// bytes.
    static func errorLine(_ log: String) -> String? {
        let lines = log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let marked = lines.first { $0.range(of: "^\\[[A-Z_]+(\\.[A-Z_]+)*\\]", options: .regularExpression) != nil }
            ?? lines.first { $0.hasPrefix("Error in query") }
            ?? lines.first { $0.range(of: "(Exception|Error): ", options: .regularExpression) != nil }
        return marked.map { MessageText.excerpt($0, limit: 300) }
    }

    static func isMissingInput(_ message: String) -> Bool {
        ["PATH_NOT_FOUND", "Path does not exist", "TABLE_OR_VIEW_NOT_FOUND", "FileNotFoundException"].contains { message.contains($0) }
    }
}

/// A child process in a process group of its own, with its output to a file; while it
/// runs, `stopAll` (a stopped run) ends the whole group, and if retain dies (SIGKILL) the
/// kernel kills the child (`retain_spawn_tied`).
public enum ChildProcess {
    private static let lock = Mutex()
    nonisolated(unsafe) private static var groups: Set<pid_t> = []

    /// Runs `path` with `arguments`, stdin from /dev/null, stdout and stderr to `output`
    /// (created or truncated), `pathFirst` put first on PATH (so a wrapper script finds
    /// its neighbours: pyspark's spark-sql finds its Python); returns the exit status
    /// (128 + the signal for a killed child).
    public static func run(_ path: String, arguments: [String], output: String, pathFirst: String, directory: String) throws -> Int32 {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = pathFirst + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        // The C strings live until the spawn returns (freed by the defer below).
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv { free(p) }; for p in envp { free(p) } }
        var failure: Int32 = 0
        lock.lock()
        let pid = retain_spawn_tied(path, argv, envp, output, directory, &failure)
        if pid > 0 { groups.insert(pid) }
        lock.unlock()
        guard pid > 0 else {
            throw IOError.cannotRead(path: path, reason: "cannot start it (in \(directory), output to \(output)): \(String(cString: strerror(failure)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        lock.lock(); groups.remove(pid); lock.unlock()
        let code = (status >> 8) & 0xFF, signal = status & 0x7F
        return signal == 0 ? code : 128 + signal
    }

    /// Ends every running child's group (SIGTERM): a run being stopped leaves no Spark
    /// process behind.
    public static func stopAll() {
        lock.lock(); defer { lock.unlock() }
        for g in groups { kill(-g, SIGTERM) }
    }
}
