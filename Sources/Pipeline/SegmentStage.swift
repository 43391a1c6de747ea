import Foundation
import Ledger
import RetainIO
import Segmentation

/// The segment stage: value, group and reason per scored customer (`customers.csv`,
/// `segments/<segment>.csv`), targets per group (`retention_targets.csv`), and retention
/// per period from the ledger (`retention_history.csv`).
struct SegmentStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    let activeWindowDays: Int32
    /// The retention history, begun earlier in this run; nil: begun here.
    var history: BackgroundHistory? = nil

    static let historyFile = SegmentOutputs.historyFile

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let scoresPath = try folder.upstream(ScoreStage.scoresFile, for: .segment, from: .score)
        let steps = StepTimer(.segment, reporter: reporter)
        // The retention history reads only the ledger: begun earlier in the run, or else
        // here, beside the stage's own work (alone, each left a core idle a third of the
        // time: the ledger's reads between chunks; the writing thread of the customer files).
        let history = try self.history ?? BackgroundHistory(view: try folder.ledgerView(for: .segment, numbering: .dense),
                                                             settings: spec.segment, activeWindowDays: activeWindowDays, idle: false)
        history.hurry()
        defer { history.stop() }  // never leave while it still reads the ledger
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

        try SegmentOutputs.writeCustomers(scores, result, staging: folder.stagedPath)
        try SegmentOutputs.writeTargets(result.targets, staging: folder.stagedPath)
        steps.done("wrote customers.csv, segments/ and the targets")

        let retention = try history.result()
        try SegmentOutputs.writeHistory(retention, staging: folder.stagedPath)
        steps.done("retention history (waited for what was left of it)")

        var counts: [String: Int] = ["customers": scores.count, "history_periods": retention.rows.count]
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
}
