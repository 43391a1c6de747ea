import Dispatch
import Foundation
import RetainIO
import SparkEngine
#if canImport(Glibc)
import Glibc
#endif

/// The manifest as far as the run has got, shared with the signal handler: what
/// `last-failure/run.json` records when the run stops early.
final class RunRecord: @unchecked Sendable {
    private let lock = Mutex()
    private var manifest: RunManifest?

    func set(_ m: RunManifest) { lock.lock(); manifest = m; lock.unlock() }

    /// The manifest so far, marked failed with `error`.
    func failed(_ error: PipelineError, finishedAt: String) throws -> RunManifest {
        lock.lock(); defer { lock.unlock() }
        guard var m = manifest else { throw error }
        m.status = "failed"
        m.finishedAt = finishedAt
        m.failure = .init(exitStatus: error.exitStatus.rawValue, message: error.description)
        return m
    }
}

/// SIGINT and SIGTERM while a run holds its folder (Ctrl-C, a stopped cron unit): the
/// run records itself in `last-failure/` beside the previous outputs, prints one
/// `retain: error:` line and exits 130 / 143, with its staging folder removed.
///
/// The signals are received on a dispatch queue (not in a signal handler), so the work
/// is ordinary code. It races the run's own publish through `RunFolder`'s lock: a signal
/// after the publish leaves the run to finish as it would have.
final class StopOnSignal: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    init(folder: RunFolder, record: RunRecord) {
        let queue = DispatchQueue(label: "retain.signals")
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                ChildProcess.stopAll()  // Spark's processes end with the run
                let stopped = PipelineError.stopped(signal: name)
                let published = (try? record.failed(stopped, finishedAt: ISO8601DateFormatter().string(from: Date())).encoded())
                    .map { (try? folder.publishFailure(record: $0)) ?? true }
                guard published ?? true else { return }  // the run had published: let it finish
                FileHandle.standardError.write(Data("retain: error: \(stopped)\n".utf8))
                _exit(stopped.exitStatus.rawValue)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Back to the default actions, once the run has ended.
    func cancel() {
        for s in sources { s.cancel() }
        sources = []
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
