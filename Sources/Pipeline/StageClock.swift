import RetainIO

/// Times a stage and makes its `run.json` record.
struct StageClock {
    let wall = ResourceUse.now()
    let cpu = ResourceUse.cpuSeconds()

    /// The record of a stage that succeeded; non-finite measures are left out (JSON has no NaN).
    func record(counts: [String: Int] = [:], dates: [String: String] = [:], notes: [String] = [],
                measures: [String: Double] = [:]) -> RunManifest.StageRecord {
        RunManifest.StageRecord(status: "succeeded", seconds: ResourceUse.now() - wall, cpuSeconds: ResourceUse.cpuSeconds() - cpu,
                          peakMemoryMegabytes: ResourceUse.peakMemoryMegabytes(), counts: counts, dates: dates, notes: notes,
                          measures: measures.filter { $0.value.isFinite })
    }
}

/// Says how long each step of a stage took, with `--verbose`.
final class StepTimer {
    private var lap = ResourceUse.now()
    private let stage: String
    private let reporter: Reporter

    init(_ stage: Stage, reporter: Reporter) { self.stage = stage.rawValue; self.reporter = reporter }

    func done(_ what: String) {
        let t = ResourceUse.now()
        reporter.detail("\(stage): \(what) in \(MessageText.seconds(t - lap))")
        lap = t
    }
}
