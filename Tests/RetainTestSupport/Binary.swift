import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `retain` executable, as cron or an analyst would.
public enum RetainBinary {
    /// The binary next to the test bundle (`swift test` builds it: the end-to-end tests
    /// depend on the executable target), or `$RETAIN_BINARY`.
    public static let path: String = {
        if let p = ProcessInfo.processInfo.environment["RETAIN_BINARY"] { return p }
        var candidates: [String] = []
        if let exe = Bundle.main.executablePath { candidates.append((exe as NSString).deletingLastPathComponent + "/retain") }
        let arg0 = (CommandLine.arguments.first ?? "") as NSString
        candidates.append(arg0.deletingLastPathComponent + "/retain")
        candidates.append((arg0.deletingLastPathComponent as NSString).deletingLastPathComponent + "/retain")
        candidates.append(RepoPaths.path(".build/debug/retain"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? RepoPaths.path(".build/debug/retain")
    }()

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public var lines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs `retain ARGS` to completion in `directory`, with `environment` added to this
    /// process's.
    @discardableResult
    public static func run(_ args: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let p = try start(args, in: directory, environment: environment)
        return p.wait()
    }

    final class Captured: @unchecked Sendable { var data = Data() }

    public final class Running: @unchecked Sendable {
        public let process: Process
        let out: Pipe, err: Pipe
        init(process: Process, out: Pipe, err: Pipe) { self.process = process; self.out = out; self.err = err }

        /// Both pipes are drained at once: read one after the other, a process that fills
        /// the second (64 KiB of errors) while the first is open would never exit.
        public func wait() -> Result {
            let errors = Captured()
            let done = DispatchSemaphore(value: 0)
            let handle = err.fileHandleForReading
            DispatchQueue.global().async { errors.data = handle.readDataToEndOfFile(); done.signal() }
            let o = out.fileHandleForReading.readDataToEndOfFile()
            done.wait()
            let e = errors.data
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }

        public func kill() { Glibc.kill(process.processIdentifier, SIGKILL) }
        public func signal(_ number: Int32) { Glibc.kill(process.processIdentifier, number) }
    }

    public static func start(_ args: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return Running(process: p, out: out, err: err)
    }
}

/// A plain subprocess (gzip, cat) for building test inputs.
public func shell(_ command: String) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}
