import Foundation
import Ledger
import Plans
import RetainIO
import Segmentation
import SparkEngine

/// The segment stage: value, group, arm and reason per scored customer (`customers.csv`;
/// per group its target arm in `segments/<segment>.csv`, its control arm in
/// `controls/<segment>.csv`), targets per group (`retention_targets.csv`), the plan kept in
/// the archive (`plans/<as-of>/`), and retention per period from the ledger
/// (`retention_history.csv`).
struct SegmentStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    let activeWindowDays: Int32
    /// The features stage's record: the scoring date, the plan's as-of.
    let features: RunManifest.StageRecord?
    /// The retention history, begun earlier in this run; nil: begun here.
    var history: BackgroundHistory? = nil
    /// The engine that read the rows: with Spark, the history is among its results.
    var engine: RunManifest.EngineRecord? = nil

    static let historyFile = SegmentOutputs.historyFile

    /// The history Spark computed in the ingest stage (nil with retain's own engine).
    private func sparkHistory() throws -> RetentionHistory? {
        guard let engine, engine.kind == "spark" else { return nil }
        guard let root = engine.results else {
            throw PipelineError.upstreamMissing(stage: Stage.segment.rawValue, needs: "ingest", detail: "run.json names no Spark results")
        }
        let rule = RetentionHistory.ProfitRule(hasCost: spec.format.columns[.cost] != nil, hasService: spec.format.columns[.serviceCost] != nil,
                                               margin: spec.segment.defaultMarginRate)
        return try SparkResults(root: root).history(basis: rule.basis)
    }

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let scoresPath = try folder.upstream(ScoreStage.scoresFile, for: .segment, from: .score)
        let steps = StepTimer(.segment, reporter: reporter)
        // The retention history reads only the ledger: begun earlier in the run, or else
        // here, beside the stage's own work (alone, each left a core idle a third of the
        // time: the ledger's reads between chunks; the writing thread of the customer files).
        let spark = try sparkHistory()
        let history = try spark == nil ? self.history ?? BackgroundHistory(view: try folder.ledgerView(for: .segment, numbering: .dense),
                                                                             settings: spec.segment, activeWindowDays: activeWindowDays, idle: false) : nil
        history?.hurry()
        defer { history?.stop() }  // never leave while it still reads the ledger
        let valuesPath = try folder.upstream(ValueStage.valuesFile, for: .segment, from: .value)
        let scores = try folder.table(at: scoresPath)
        let values = try folder.table(at: valuesPath)
        guard values.count == scores.count, let pAlive = values.column("p_alive"), let expected = values.column("expected_purchases"),
              let clv = values.column("clv") else {
            throw PipelineError.upstreamMissing(stage: Stage.segment.rawValue, needs: Stage.value.rawValue,
                                                detail: "\(ValueStage.valuesFile) does not hold one row of p_alive, expected_purchases and clv per row of \(ScoreStage.scoresFile)")
        }
        steps.done("read \(ScoreStage.scoresFile) and \(ValueStage.valuesFile)")
        let accounts = try spec.segment.strategicAccounts.map { try StrategicAccounts.load($0) }
        let lifetime = LifetimeColumns(pAlive: pAlive, expectedPurchases: expected, clv: clv, horizonMonths: spec.value.horizonMonths)
        let result = try Segmenter(settings: spec.segment, accounts: accounts).segment(scores, lifetime: lifetime)
        steps.done("values and groups")
        for line in result.unavailable { reporter.info("segment: unavailable: \(line)") }
        if result.accountsNotScored > 0 {
            reporter.warning("segment: \(result.accountsNotScored) of \(accounts?.roles.count ?? 0) strategic accounts are not among the scored (active) customers")
        }

        let asOf = try FeaturesStage.dates(in: features, for: .segment).scoring
        let draw = ArmDraw(settings: spec.plan, asOf: asOf)
        let arms = Self.arms(scores, draw)
        let control = arms.map { $0 == .control }
        try SegmentOutputs.writeCustomers(scores, result, control: control, staging: folder.stagedPath)
        try SegmentOutputs.writeTargets(result.targets, staging: folder.stagedPath)
        if let churn = scores.column("churn_probability") {
            try SegmentOutputs.writeProfile(GroupProfile.make(result, churn: churn, clv: clv), keys: scores, staging: folder.stagedPath)
        }
        steps.done("wrote customers.csv, segments/, controls/, the targets and the groups' profile")
        let kept = try archive(scores, result, arms: arms, draw: draw, asOf: asOf, clv: clv)
        steps.done("kept the plan in \(PlanArchive.relative(asOf))/")

        guard let retention = try spark ?? history?.result() else { throw PipelineError.noCustomers(detail: "no retention history") }
        try SegmentOutputs.writeHistory(retention, staging: folder.stagedPath)
        try SegmentOutputs.writeCohorts(retention, staging: folder.stagedPath)
        steps.done("retention history (waited for what was left of it)")

        var counts: [String: Int] = ["customers": scores.count, "history_periods": retention.rows.count,
                                     "control_customers": control.reduce(0) { $0 + ($1 ? 1 : 0) }, "plans_kept": kept]
        for t in result.targets { counts["customers_\(t.segment.rawValue)"] = t.customers }
        let summary = result.targets.map { "\($0.segment.rawValue) \(MessageText.grouped($0.customers))" }.joined(separator: ", ")
        reporter.info("segment: \(MessageText.grouped(scores.count)) customers: \(summary)")
        var measures: [String: Double] = ["value_threshold": result.valueThreshold, "volume_threshold": result.volumeThreshold]
        for t in result.targets {
            measures["revenue_at_risk_\(t.segment.rawValue)"] = t.revenueAtRisk
            measures["max_spend_per_customer_\(t.segment.rawValue)"] = t.maxSpendPerCustomer
            if let c = t.clvAtRisk { measures["clv_at_risk_\(t.segment.rawValue)"] = c }
        }
        return clock.record(counts: counts, notes: result.unavailable.map { "unavailable: \($0)" } + ["profit in retention history: \(retention.profitBasis)"],
                            measures: measures)
    }

    /// Each scored customer's arm, drawn from its id as the log had it.
    static func arms(_ scores: CSVTable, _ draw: ArmDraw) -> [Arm] {
        (0..<scores.count).map { i in
            let raw = scores.rawKey(i)
            if raw.first == UInt8(ascii: "\"") { return draw.arm(scores.key(i)) }
            return raw.withUnsafeBytes { draw.arm($0) }
        }
    }

    /// Stages this run's plan as `plans/<as-of>/` (replacing a plan of the same date) and
    /// marks the oldest plans beyond `plan.keep` to be left out of the publish. Returns the
    /// number of plans the archive holds once published.
    func archive(_ scores: CSVTable, _ result: Segmenter.Result, arms: [Arm], draw: ArmDraw, asOf: Int32, clv: [Double]) throws -> Int {
        let relative = PlanArchive.relative(asOf)
        let published = PlanArchive.list(in: folder.path)
        if let every = spec.plan.every,
           let first = published.first(where: { $0 != asOf && RetentionHistory.periodStart(every, of: $0) == RetentionHistory.periodStart(every, of: asOf) }) {
            reporter.info("segment: the archive holds this \(every.rawValue)'s plan already (\(CivilDate.iso(first)), plan.every = \"\(every.rawValue)\"); this run's plan is not kept")
            return min(published.count, spec.plan.keep)
        }
        let record = PlanRecord(asOf: CivilDate.iso(asOf), horizonDays: Int(spec.features.horizonDays),
                                horizonEnd: CivilDate.iso(asOf + spec.features.horizonDays),
                                createdAt: ISO8601DateFormatter().string(from: Date()), retainVersion: Runner.version,
                                pipelineHash: spec.fileHash, settingsHash: Lineage.planSettingsHash(spec),
                                drawKey: draw.drawKey, controlShare: draw.controlShare, reshuffle: spec.plan.reshuffle, customers: scores.count, files: [:])
        let dir = try folder.stagedPath(relative + "/" + PlanArchive.recordFile)
        try PlanArchive.write(PlanArchive.Draft(scores: scores, segments: result.placements.map(\.segment), arms: arms, clv: clv,
                                                targets: result.targets, record: record), to: FilePath.split(dir).directory)
        folder.removeOnPublish(relative)  // the staged plan replaces an earlier one of the same date
        let all = Set(published).union([asOf]).sorted()
        for old in all.dropLast(spec.plan.keep) {
            folder.removeOnPublish(PlanArchive.relative(old))
            if old == asOf { folder.discardStaged(relative) }  // a backfill older than the plans kept
            if old + spec.features.horizonDays > asOf {
                reporter.warning("segment: plan \(CivilDate.iso(old)) leaves the archive before its \(spec.features.horizonDays)-day horizon has passed, "
                    + "so it is never judged: with a run a day, set plan.every = \"month\" (one plan a month) or raise plan.keep (\(spec.plan.keep))")
            } else {
                reporter.info("segment: plan \(CivilDate.iso(old)) leaves the archive (plan.keep = \(spec.plan.keep))")
            }
        }
        return min(all.count, spec.plan.keep)
    }
}
