import Foundation

/// The speed-ups of a whole run, set up in one place (`Runner.run`). Each has a plain path
/// that writes the same outputs, taken when it is off; `RETAIN_PLAIN=1` turns all of them
/// off, to tell a fault in a speed-up from one in the stage (`WorkerCountTests` checks
/// that both paths write the same files).
public struct RunSpeedUps: Sendable, Equatable {
    /// A table a stage writes goes in memory to the later stage of the same run that reads
    /// it (`RunFolder.table(at:)`): a parse of `scores.csv` saved. Plain: the file is read.
    public var handOverTables = true
    /// The retention history is computed on an idle-priority thread while train and score
    /// run (`BackgroundHistory`), so the segment stage finds it done. Plain: the segment
    /// stage computes it, beside its own work.
    public var historyInBackground = true
    /// Memory a stage frees stays in the process for the next (and goes back to the kernel
    /// before features, the largest), so fewer pages are faulted in fresh (`ProcessMemory`);
    /// only after retain's features stage ran in the process (`keepsFreedMemory`).
    /// Plain: the allocator's default.
    public var reuseFreedMemory = true

    /// Whether `stage` runs keeping what it frees (`reuseFreedMemory`). Only after retain's
    /// own features stage ran in this process: that stage's peak, the log's per-customer
    /// sums, is then the run's, and what a later stage frees fits under it. A stage that
    /// starts the process (`--only train`, `--from value`) or follows Spark's snapshots may
    /// be the largest there is (a snapshot of 100 M customers): kept, its freed arrays
    /// would stay in the process beside the next ones, and its peak be theirs summed.
    public static func keepsFreedMemory(_ stage: Stage, featuresRanHere: Bool, engine: Engine) -> Bool {
        stage > .features && featuresRanHere && engine == .retain
    }

    public init(handOverTables: Bool = true, historyInBackground: Bool = true, reuseFreedMemory: Bool = true) {
        self.handOverTables = handOverTables
        self.historyInBackground = historyInBackground
        self.reuseFreedMemory = reuseFreedMemory
    }

    public static let all = RunSpeedUps()
    public static let none = RunSpeedUps(handOverTables: false, historyInBackground: false, reuseFreedMemory: false)

    /// `none` when the environment has `RETAIN_PLAIN=1`, else `all`.
    public static func fromEnvironment() -> RunSpeedUps {
        ProcessInfo.processInfo.environment["RETAIN_PLAIN"] == "1" ? .none : .all
    }
}
