import Foundation
import Ledger
import RetainIO

/// The stages of `retain run`, in order (docs/CONTRACT.md).
public enum Stage: String, CaseIterable, Sendable, Comparable {
    case ingest, features, train, score, value, segment, evaluate, report

    /// Position in the pipeline.
    public var rank: Int {
        switch self {
        case .ingest: return 0
        case .features: return 1
        case .train: return 2
        case .score: return 3
        case .value: return 4
        case .segment: return 5
        case .evaluate: return 6
        case .report: return 7
        }
    }

    public static func < (a: Stage, b: Stage) -> Bool { a.rank < b.rank }
}

/// Options of one `retain run`.
public struct RunOptions: Sendable {
    public var outputDir: String?
    /// The scoring date as a day number (`parseAsOf`); nil for the data's last day.
    public var asOf: Int32?
    public var only: Stage?
    public var from: Stage?
    public var to: Stage?
    public var command: String
    /// Which speed-ups the run uses (all but for diagnosis; see `RunSpeedUps`).
    public var speedUps: RunSpeedUps
    /// `retain evaluate --plan`: judge only the plan of this as-of date (a day number).
    public var evaluatePlan: Int32? = nil

    public init(outputDir: String? = nil, asOf: Int32? = nil, only: Stage? = nil, from: Stage? = nil, to: Stage? = nil,
                command: String = "retain run", speedUps: RunSpeedUps = .all) {
        self.outputDir = outputDir; self.asOf = asOf; self.only = only; self.from = from; self.to = to; self.command = command; self.speedUps = speedUps
    }

    /// `--as-of` as given on the command line: `YYYY-MM-DD`, a date that exists.
    public static func parseAsOf(_ text: String) throws -> Int32 {
        guard let d = CivilDate.parseISO(text) else { throw PipelineError.invalidOption("--as-of \(text) is not a date YYYY-MM-DD") }
        return d
    }
}

/// Runs the requested stages against one output folder and publishes their outputs
/// together. A failed or stopped run publishes nothing but `last-failure/` (its `run.json`
/// as far as it got, and the files it had finished), so the previous outputs stand.
public struct Runner {
    public static let version = "0.2.0"

    public static func run(spec: PipelineSpec, options: RunOptions, reporter: Reporter) throws -> RunManifest {
        if options.only != nil && options.from != nil {
            throw PipelineError.invalidOption("give --only or --from, not both")
        }
        let stages = try plan(options)
        if let dir = options.outputDir, dir.trimmingCharacters(in: .whitespaces).isEmpty {
            throw PipelineError.invalidOption("--out is empty; name the output folder")
        }
        guard let out = options.outputDir.map(absolute) ?? spec.outputDir else {
            throw PipelineError.missingKey(file: spec.file, key: "output.dir", hint: "set the output folder in the pipeline file or pass --out DIR")
        }
        if let pattern = Inputs.overlap(spec.inputPatterns, outputFolder: out) {
            throw PipelineError.invalidOption("input.paths entry \(pattern) reaches into the output folder \(out) "
                + "(a run would read its own outputs as input); put the output folder elsewhere")
        }
        let started = Date()
        let t0 = ResourceUse.now()
        let folder = try RunFolder(path: out, command: options.command)
        var previous: RunManifest? = nil
        let previousPath = folder.publishedPath(RunManifest.fileName)
        if FilePath.exists(previousPath) {
            do { previous = try RunManifest.load(previousPath) } catch {
                reporter.warning("\(previousPath) could not be read (\(error)); the records of stages not run now are lost")
            }
        }
        let record = RunRecord()
        var manifest = RunManifest(
            retainVersion: version, status: "running", startedAt: iso(started), finishedAt: "", command: options.command,
            pipeline: spec.file, pipelineHash: spec.fileHash, outputDir: out, asOf: options.asOf.map(CivilDate.iso),
            inputs: previous?.inputs ?? [], stages: previous?.stages ?? [:], stagesCompleted: [], workers: Workers.count, failure: nil,
            engine: previous?.engine)

        record.set(manifest)
        let stop = StopOnSignal(folder: folder, record: record)
        defer { stop.cancel() }
        var sparkResults: (group: String, current: String)? = nil

        do {
            if !stages.contains(.ingest) {
                try checkEngine(spec: spec, manifest: manifest, first: stages.first ?? .features)
                if spec.engine == .retain { try checkLedger(spec: spec, folder: folder, first: stages.first ?? .features) }
            }
            // The input files were checked by content just above.
            try Lineage.check(plan: stages, spec: spec, manifest: manifest)
            // The segment stage's retention history, computed on idle cores while train and
            // score run, when this run has them before segment (see BackgroundHistory).
            let speedUps = options.speedUps
            folder.handsOverTables = speedUps.handOverTables
            var history: BackgroundHistory? = nil
            // Stages run in order and a failure throws, so a stage after features finds it run.
            let featuresRanHere = stages.contains(.features)
            defer { history?.stop() }  // never leave while it still reads the ledger
            for stage in stages {
                if speedUps.historyInBackground, spec.engine == .retain, history == nil, stages.contains(.segment), stage > .features, stage < .segment {
                    history = BackgroundHistory(view: try folder.ledgerView(for: .segment, numbering: .dense),
                                                settings: spec.segment, activeWindowDays: spec.features.activeWindowDays, idle: true)
                }
                reporter.progress("\(stage.rawValue)...")
                // After retain's features, later stages need less memory than it did: they
                // reuse what earlier ones freed instead of faulting in fresh pages (see
                // ProcessMemory); else each gives back what it frees (see keepsFreedMemory).
                if speedUps.reuseFreedMemory, stage > .features {
                    if RunSpeedUps.keepsFreedMemory(stage, featuresRanHere: featuresRanHere, engine: spec.engine) {
                        ProcessMemory.keepFreedMemory()
                    } else if featuresRanHere {
                        ProcessMemory.returnFreedMemoryFromNow()  // Spark's features kept its snapshots' pages
                    }
                }
                // Features needs the most: what ingest freed goes back to the kernel first.
                if speedUps.reuseFreedMemory, stage == .features { ProcessMemory.returnFreedMemory() }
                switch stage {
                case .ingest:
                    let result: IngestStage.Result
                    switch spec.engine {
                    case .retain:
                        result = try IngestStage(spec: spec, folder: folder, reporter: reporter).run()
                        manifest.engine = RunManifest.EngineRecord(kind: "retain")
                    case .spark(let settings):
                        let stage = SparkIngestStage(spec: spec, folder: folder, reporter: reporter, settings: settings, asOf: options.asOf)
                        let ran = try stage.run()
                        result = ran.result
                        manifest.engine = ran.engine
                        sparkResults = (stage.resultsFolder().group, ran.engine.results ?? "")
                    }
                    manifest.inputs = result.inputs
                    manifest.stages[stage.rawValue] = result.record
                    if let stop = result.stop { record.set(manifest); throw stop }
                case .features:
                    manifest.stages[stage.rawValue] = try FeaturesStage(spec: spec, folder: folder, reporter: reporter, asOf: options.asOf,
                                                                           reuseFreedMemory: speedUps.reuseFreedMemory, engine: manifest.engine).run()
                case .train:
                    manifest.stages[stage.rawValue] = try TrainStage(spec: spec, folder: folder, reporter: reporter,
                                                                     features: manifest.stages[Stage.features.rawValue]).run()
                case .score:
                    manifest.stages[stage.rawValue] = try ScoreStage(spec: spec, folder: folder, reporter: reporter).run()
                case .value:
                    manifest.stages[stage.rawValue] = try ValueStage(spec: spec, folder: folder, reporter: reporter,
                                                                     features: manifest.stages[Stage.features.rawValue]).run()
                case .segment:
                    manifest.stages[stage.rawValue] = try SegmentStage(spec: spec, folder: folder, reporter: reporter,
                                                                       activeWindowDays: spec.features.activeWindowDays,
                                                                       features: manifest.stages[Stage.features.rawValue],
                                                                       history: history, engine: manifest.engine).run()
                case .evaluate:
                    manifest.stages[stage.rawValue] = try EvaluateStage(spec: spec, folder: folder, reporter: reporter,
                                                                        onlyPlan: options.evaluatePlan, engine: manifest.engine).run()
                case .report:
                    manifest.stages[stage.rawValue] = try ReportStage(spec: spec, folder: folder, reporter: reporter, manifest: manifest).run()
                }
                Lineage.record(stage, spec: spec, in: &manifest)
                manifest.stagesCompleted = (manifest.stagesCompleted ?? []) + [stage.rawValue]
                record.set(manifest)
            }
            manifest.status = "succeeded"
            manifest.finishedAt = iso(Date())
            try AtomicFile.write(try folder.stagedPath(RunManifest.fileName), contents: try manifest.encoded())
            folder.removeOnPublish(RunFolder.failureName)
            try folder.publish()
            if let r = sparkResults { SparkIngestStage.removeEarlierResults(group: r.group, keeping: r.current) }
            reporter.info("done in \(MessageText.seconds(ResourceUse.now() - t0)); outputs in \(out)")
            return manifest
        } catch {
            // Staging paths in the message name files that the failure keeps in last-failure/.
            let failure = PipelineError.failed(message: folder.failureMessage(String(describing: error)), status: exitStatus(for: error))
            do {
                try folder.publishFailure(record: try record.failed(failure, finishedAt: iso(Date())).encoded())
            } catch let publishError {
                reporter.warning("could not record the failure in \(folder.publishedPath(RunFolder.failureName)): \(publishError)")
            }
            throw failure
        }
    }

    /// Before a run that starts after ingest: the rows must have been read by the engine the
    /// pipeline names now (a switch of engine leaves nothing the later stages can read).
    static func checkEngine(spec: PipelineSpec, manifest: RunManifest, first: Stage) throws {
        let recorded = manifest.engine?.kind ?? "retain"
        guard recorded == spec.engine.kind else {
            throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest",
                                                detail: "the rows were read by the \(recorded) engine; the pipeline now names \(spec.engine.kind)")
        }
        if case .spark = spec.engine, manifest.engine?.results.map(FilePath.exists) != true {
            throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest",
                                                detail: "Spark's results (\(manifest.engine?.results ?? "none recorded")) are gone")
        }
    }

    /// Before a run that starts after ingest: the ledger must exist and match the pipeline
    /// file's input settings and the input files (by path and content), or the stage would
    /// compute from data that is not what the pipeline now names.
    static func checkLedger(spec: PipelineSpec, folder: RunFolder, first: Stage) throws {
        let ledger: LedgerManifest
        do { ledger = try LedgerManifest.load(outputDir: folder.path) } catch {
            throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest", detail: "no ledger in \(folder.path)")
        }
        if ledger.entries.contains(where: { $0.format != spec.format.fingerprint }) {
            throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest",
                                                detail: "the ledger is stale: the pipeline's [input] or [validation] settings changed since it was built")
        }
        let files = try Inputs.resolve(spec.inputPatterns)
        let recorded = Dictionary(ledger.entries.map { ($0.input, $0) }, uniquingKeysWith: { a, _ in a })
        for f in files {
            // Unchanged by size, modification time and inode; else by content (a file
            // copied in again with the same bytes is still the same input).
            guard let entry = recorded[f] else {
                throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest", detail: "the ledger is stale: \(f) is a new input")
            }
            if let known = entry.identity, known == FileIdentity(path: f) { continue }
            let hash = (try? FileHash.xxh64(path: f)).map(XXH64.hex)
            guard hash == entry.summary.contentHash else {
                throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest",
                                                    detail: "the ledger is stale: \(f) changed since it was built (content \(entry.summary.contentHash) -> \(hash ?? "unreadable"))")
            }
        }
        if let gone = recorded.keys.first(where: { !files.contains($0) }) {
            throw PipelineError.upstreamMissing(stage: first.rawValue, needs: "ingest", detail: "the ledger is stale: \(gone) is no longer an input")
        }
    }

    static func plan(_ options: RunOptions) throws -> [Stage] {
        if let only = options.only { return [only] }
        let from = options.from ?? .ingest
        if let t = options.to {
            guard t >= from else { throw PipelineError.invalidOption("--to \(t.rawValue) comes before --from \(from.rawValue)") }
        }
        return Stage.allCases.filter { $0 >= from && $0 <= (options.to ?? .report) }
    }

    static func absolute(_ p: String) -> String {
        p.hasPrefix("/") ? p : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(p).standardizedFileURL.path
    }

    static func iso(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
}
