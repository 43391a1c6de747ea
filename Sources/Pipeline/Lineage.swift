import Plans
import Features
import Foundation
import RetainIO
import Segmentation

/// What a stage's outputs were made from, kept in its record in `run.json`: the pipeline
/// settings that shaped them (by key), the ids of the artifacts it read, and the ids of
/// those it wrote. An id is a hash of all three, so it changes whenever anything upstream
/// does. A stage run alone (`--only`, `--from`) checks the whole chain behind what it
/// reads against the current pipeline file and folder, and refuses a stale artifact with
/// exit 78 naming the stage to run first.
public struct Lineage: Codable, Sendable, Equatable {
    public var settings: [String: String]
    public var consumed: [String: String]
    public var produced: [String: String]
}

/// The artifacts whose lineage is tracked, and which stage makes each.
enum Artifact: String, CaseIterable {
    /// The input files (their paths and content hashes; made by nobody).
    case inputs
    case ledger
    case trainingSnapshots = "training_snapshots"
    case scoringSnapshot = "scoring_snapshot"
    case model, scores, value, segments, evaluation

    var producer: Stage? {
        switch self {
        case .inputs: return nil
        case .ledger: return .ingest
        case .trainingSnapshots, .scoringSnapshot: return .features
        case .model: return .train
        case .scores: return .score
        case .value: return .value
        case .segments: return .segment
        case .evaluation: return .evaluate
        }
    }

    /// The files, as a message names them.
    var files: String {
        switch self {
        case .inputs: return "the input files"
        case .ledger: return "the ledger"
        case .trainingSnapshots: return "\(FeaturesStage.trainingFile) and \(FeaturesStage.validationFile)"
        case .scoringSnapshot: return FeaturesStage.scoringFile
        case .model: return TrainStage.modelFile
        case .scores: return ScoreStage.scoresFile
        case .value: return "\(ValueStage.valuesFile) and \(ValueStage.modelFile)"
        case .segments: return "\(SegmentOutputs.customersFile), segments/, the targets and the plan"
        case .evaluation: return EvaluationOutputs.evaluationFile
        }
    }

    /// What each stage reads and writes.
    static func read(by stage: Stage) -> [Artifact] {
        switch stage {
        case .ingest: return [.inputs]
        case .features: return [.ledger]
        case .train: return [.trainingSnapshots]
        case .score: return [.model, .scoringSnapshot]
        case .value: return [.scores, .scoringSnapshot]
        case .segment: return [.scores, .value, .ledger]
        case .evaluate: return [.ledger]
        case .report: return [.segments, .model, .evaluation]
        }
    }

    static func written(by stage: Stage) -> [Artifact] { allCases.filter { $0.producer == stage } }
}

extension Lineage {
    /// The pipeline settings that shape `stage`'s outputs, by key.
    static func settings(of stage: Stage, _ spec: PipelineSpec) -> [String: String] {
        switch stage {
        case .ingest:
            return ["[input] and [validation]": spec.format.fingerprint]
        case .features:
            let f = spec.features
            return ["features.horizon_days": "\(f.horizonDays)", "features.active_window_days": "\(f.activeWindowDays)",
                    "features.trend_window_days": "\(f.trendWindowDays)"]
        case .train:
            let m = spec.model
            return ["model.features": m.features?.joined(separator: ",") ?? "(every feature)", "model.l2": "\(m.l2)",
                    "model.class_weight": "\(m.classWeight)", "model.tolerance": "\(m.tolerance)",
                    "model.max_iterations": "\(m.maxIterations)",
                    "model.transforms": m.transforms.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.spec)" }.joined(separator: ","),
                    "model.clip_quantiles": "\(m.clipLower),\(m.clipUpper)", "model.separation_l2": "\(m.separationRidge)", "model.choice": m.choice.rawValue,
                    // The labels: churned = no purchase in the horizon.
                    "features.horizon_days": "\(spec.features.horizonDays)"]
        case .score, .report, .evaluate:
            return [:]
        case .value:
            let v = spec.value, s = spec.segment
            return ["value.horizon_months": "\(v.horizonMonths)", "value.annual_discount_rate": "\(v.annualDiscountRate)",
                    "segment.target_days": "\(s.targetDays)", "segment.default_margin_rate": "\(s.defaultMarginRate)",
                    "segment.minimum_tenure_days": "\(s.minimumTenureDays)"]
        case .segment:
            let s = spec.segment
            let accounts = s.strategicAccounts.map { path in
                path + "@" + ((try? FileHash.xxh64(path: path)).map(XXH64.hex) ?? "unreadable")
            }
            return ["segment.target_days": "\(s.targetDays)", "segment.default_margin_rate": "\(s.defaultMarginRate)",
                    "segment.strategic_value_quantile": "\(s.strategicValueQuantile)",
                    "segment.strategic_accounts": accounts ?? "(none)",
                    "segment.high_volume_quantile": "\(s.highVolumeQuantile)", "segment.costly_cost_share": "\(s.costlyCostShare)",
                    "segment.switcher_discount_share": "\(s.switcherDiscountShare)",
                    "segment.target_churn_reduction": s.targetChurnReduction.sorted { $0.key.rawValue < $1.key.rawValue }
                        .map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: ","),
                    "segment.minimum_tenure_days": "\(s.minimumTenureDays)", "segment.history_period": "\(s.historyPeriod)",
                    "segment.history_periods": "\(s.historyPeriods)",
                    "plan.control_share": "\(spec.plan.controlShare)", "plan.reshuffle": "\(spec.plan.reshuffle)",
                    "plan.key": spec.plan.key, "plan.keep": "\(spec.plan.keep)", "plan.every": spec.plan.every?.rawValue ?? "run",
                    "features.active_window_days": "\(spec.features.activeWindowDays)"]
        }
    }

    /// XXH64 of every setting that shapes a plan (the features, train, value and segment
    /// stages' keys), recorded in the plan archive.
    static func planSettingsHash(_ spec: PipelineSpec) -> String {
        let all = [Stage.features, .train, .value, .segment].flatMap { settings(of: $0, spec).map { "\($0.key)=\($0.value)" } }.sorted()
        return XXH64.hex(XXH64.hash(all.joined(separator: "\u{1}")))
    }

    /// The id of the input files: their paths and content hashes.
    static func inputsID(_ inputs: [RunManifest.Input]) -> String {
        XXH64.hex(XXH64.hash(inputs.map { "\($0.path)\u{0}\($0.hash)" }.sorted().joined(separator: "\u{1}")))
    }

    /// The lineage of a stage that just ran: `consumed` are the current ids of what it read;
    /// the dates it recorded (the scoring snapshot's as-of) enter its outputs' ids.
    static func of(_ stage: Stage, spec: PipelineSpec, consumed: [String: String], record: RunManifest.StageRecord) -> Lineage {
        let settings = Self.settings(of: stage, spec)
        var produced: [String: String] = [:]
        for a in Artifact.written(by: stage) {
            var text = a.rawValue
            for (k, v) in settings.sorted(by: { $0.key < $1.key }) { text += "\u{1}\(k)=\(v)" }
            for (k, v) in consumed.sorted(by: { $0.key < $1.key }) { text += "\u{1}<\(k)=\(v)" }
            // The scoring snapshot also depends on --as-of (the features stage records it).
            if a == .scoringSnapshot, let dates = SnapshotDates(recorded: record.dates) { text += "\u{1}as_of=\(CivilDate.iso(dates.scoring))" }
            produced[a.rawValue] = XXH64.hex(XXH64.hash(text))
        }
        return Lineage(settings: settings, consumed: consumed, produced: produced)
    }

    /// Before a run: what the planned stages read from earlier runs must still match the
    /// pipeline file and the folder (see `verified`).
    static func check(plan stages: [Stage], spec: PipelineSpec, manifest: RunManifest) throws {
        let inputsNow = inputsID(manifest.inputs)
        for stage in stages {
            for a in Artifact.read(by: stage) where a.producer.map({ !stages.contains($0) }) ?? !stages.contains(.ingest) {
                _ = try verified(a, for: stage, spec: spec, records: manifest.stages) { inputsNow }
            }
        }
    }

    /// After `stage` ran: its record gets its lineage, from the current ids of what it read
    /// (made by this run, or checked by `check` before it).
    static func record(_ stage: Stage, spec: PipelineSpec, in manifest: inout RunManifest) {
        var consumed: [String: String] = [:]
        for a in Artifact.read(by: stage) {
            consumed[a.rawValue] = a.producer.map { manifest.stages[$0.rawValue]?.lineage?.produced[a.rawValue] ?? "" }
                ?? inputsID(manifest.inputs)
        }
        let lineage = of(stage, spec: spec, consumed: consumed, record: manifest.stages[stage.rawValue] ?? RunManifest.StageRecord())
        manifest.stages[stage.rawValue]?.lineage = lineage
    }

    /// The id of `artifact` as recorded, after checking the chain behind it: its maker's
    /// settings against the pipeline file now, and what its maker read against the ids of
    /// those artifacts now. `inputsID` is the id of the input files as they are (checked
    /// by content). Throws the error that names the earliest stage to run again.
    static func verified(_ artifact: Artifact, for stage: Stage, spec: PipelineSpec, records: [String: RunManifest.StageRecord],
                         inputsID: () throws -> String) throws -> String {
        guard let maker = artifact.producer else { return try inputsID() }
        func stale(_ detail: String) -> PipelineError {
            PipelineError.upstreamMissing(stage: stage.rawValue, needs: maker.rawValue, detail: detail)
        }
        guard let lineage = records[maker.rawValue]?.lineage, let id = lineage.produced[artifact.rawValue] else {
            throw stale("\(artifact.files): no record of what it was made from in \(RunManifest.fileName) "
                + "(not made yet, or made by an earlier retain)")
        }
        for upstream in Artifact.read(by: maker) {
            let now = try verified(upstream, for: stage, spec: spec, records: records, inputsID: inputsID)
            guard lineage.consumed[upstream.rawValue] == now else {
                throw stale("\(artifact.files): made from other \(upstream.files) than the ones now in the folder or named by the pipeline")
            }
        }
        let now = settings(of: maker, spec)
        for key in Set(now.keys).union(lineage.settings.keys).sorted() where now[key] != lineage.settings[key] {
            throw stale("\(artifact.files): made with \(key) = \(MessageText.excerpt(lineage.settings[key] ?? "(unset)", limit: 80)), "
                + "the pipeline file now gives \(MessageText.excerpt(now[key] ?? "(unset)", limit: 80))")
        }
        return id
    }
}
