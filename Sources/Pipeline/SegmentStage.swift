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

    static let customersFile = "customers.csv"
    static let targetsFile = "retention_targets.csv"
    static let historyFile = "retention_history.csv"
    static func segmentFile(_ s: Segment) -> String { "segments/\(s.rawValue).csv" }

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
        let scores = try folder.table(at: scoresPath)
        steps.done("read \(ScoreStage.scoresFile)")
        let accounts = try spec.segment.strategicAccounts.map { try StrategicAccounts.load($0) }
        let result = try Segmenter(settings: spec.segment, accounts: accounts).segment(scores)
        steps.done("values and groups")
        for line in result.unavailable { reporter.info("segment: unavailable: \(line)") }
        if result.accountsNotScored > 0 {
            reporter.warning("segment: \(result.accountsNotScored) of \(accounts?.roles.count ?? 0) strategic accounts are not among the scored (active) customers")
        }

        try writeCustomers(scores, result)
        try writeTargets(result.targets)
        steps.done("wrote customers.csv, segments/ and the targets")

        let retention = try history.result()
        try writeHistory(retention)
        steps.done("retention history (waited for what was left of it)")

        var counts: [String: Int] = ["customers": scores.count, "history_periods": retention.rows.count]
        for t in result.targets { counts["customers_\(t.segment.rawValue)"] = t.customers }
        let summary = result.targets.map { "\($0.segment.rawValue) \(MessageText.grouped($0.customers))" }.joined(separator: ", ")
        reporter.info("segment: \(MessageText.grouped(scores.count)) customers: \(summary)")
        var measures: [String: Double] = ["value_threshold": result.valueThreshold, "volume_threshold": result.volumeThreshold]
        for t in result.targets {
            measures["revenue_at_risk_\(t.segment.rawValue)"] = t.revenueAtRisk
            measures["max_spend_per_customer_\(t.segment.rawValue)"] = t.maxSpendPerCustomer
        }
        return clock.record(counts: counts, notes: result.unavailable.map { "unavailable: \($0)" } + ["profit in retention history: \(retention.profitBasis)"],
                            measures: measures)
    }

    /// customers.csv and one file per segment: the contract's columns, then the value's parts.
    func writeCustomers(_ scores: CSVTable, _ result: Segmenter.Result) throws {
        let header = ["customer_id", "segment", "churn_probability", "recency_days", "frequency", "monetary", "tenure_days",
                      "expected_value", "reason", "revenue_at_risk", "profit_at_risk", "orders_per_year", "strategic_role"]
        let columns = try ["churn_probability", "recency_days", "frequency", "monetary", "tenure_days"].map { name in
            guard let c = scores.column(name) else { throw SegmentationError.missingColumn(file: scores.path, column: name) }
            return c
        }
        let segments = Segment.allCases
        /// Writes row i; returns its segment's index in `segments` (its side file).
        @Sendable func row(_ i: Int, _ b: OutputBuffer) throws -> Int? {
            let pl = result.placements[i]
            try scores.appendRawKey(i, to: b)
            try b.append(byte: UInt8(ascii: ","))
            try b.append(pl.segment.rawValue)
            for j in 0..<columns.count { try b.append(byte: UInt8(ascii: ",")); try b.appendExact(columns[j][i]) }  // by index: see ScoreStage
            try b.append(byte: UInt8(ascii: ","))
            try b.appendFixed(pl.value.expectedValue, decimals: 2)
            // The reason is our own text without quotes: always quoted (it holds commas).
            try b.append(",\"")
            try result.writeReason(i, to: b)
            try b.append("\"")
            for v in [pl.value.revenueAtRisk, pl.value.profitAtRisk] { try b.append(byte: UInt8(ascii: ",")); try b.appendFixed(v, decimals: 2) }
            try b.append(byte: UInt8(ascii: ","))
            try b.appendFixed(pl.value.ordersPerYear, decimals: 2)
            try b.append(byte: UInt8(ascii: ","))
            if let r = pl.role { try b.append(r.rawValue) }
            try b.append(byte: 0x0A)
            return segments.firstIndex(of: pl.segment)
        }
        // Each row is formatted once: written to customers.csv, and copied into its
        // segment's file, all five open at once (none is read back by a later stage, so
        // they leave the page cache as they go: see `OutputBuffer.dropBehind`).
        let paths = try [folder.stagedPath(Self.customersFile)] + segments.map { try folder.stagedPath(Self.segmentFile($0)) }
        try AtomicFile.write(paths, dropBehind: true) { outs in
            for out in outs { try CSVText.appendHeader(header, to: out) }
            try ParallelRows.write(rows: scores.count, bytesPerRow: 200, to: outs[0], alsoTo: Array(outs.dropFirst()), formatRow: row)
        }
    }

    func writeTargets(_ targets: [SegmentTarget]) throws {
        try AtomicFile.write(try folder.stagedPath(Self.targetsFile)) { out in
            try CSVText.appendHeader(["segment", "customers", "expected_churners", "revenue_at_risk", "target_churn_reduction",
                                      "target_retained_customers", "target_retained_revenue", "max_spend_per_customer", "profit_at_risk"], to: out)
            for t in targets {
                try out.append(t.segment.rawValue)
                try out.append(",\(t.customers),")
                try out.appendFixed(t.expectedChurners, decimals: 2)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendFixed(t.revenueAtRisk, decimals: 2)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendDecimal(t.targetChurnReduction)
                for v in [t.targetRetainedCustomers, t.targetRetainedRevenue, t.maxSpendPerCustomer, t.profitAtRisk] {
                    try out.append(byte: UInt8(ascii: ","))
                    try out.appendFixed(v, decimals: 2)
                }
                try out.append(byte: 0x0A)
            }
        }
    }

    func writeHistory(_ h: RetentionHistory) throws {
        try AtomicFile.write(try folder.stagedPath(Self.historyFile)) { out in
            try CSVText.appendHeader(["period_start", "period_end", "customers_start", "customers_end", "new_customers", "retention_rate",
                                      "churn_rate", "sales_adjusted_retention", "profit_retention", "retained_customers", "lost_customers",
                                      "sales_retained", "sales_base", "profit_retained", "profit_base"], to: out)
            for r in h.rows {
                try out.append("\(CivilDate.iso(r.start)),\(CivilDate.iso(r.end)),\(r.customersStart),\(r.customersEnd),\(r.newCustomers)")
                for v in [r.retentionRate, r.churnRate, r.salesAdjustedRetention, r.profitRetention] {
                    try out.append(byte: UInt8(ascii: ","))
                    try out.appendFixed(v, decimals: 2)
                }
                try out.append(",\(r.retained),\(r.lost)")
                for v in [r.salesRetained, r.salesBase, r.profitRetained, r.profitBase] {
                    try out.append(byte: UInt8(ascii: ","))
                    try out.appendFixed(v, decimals: 2)
                }
                try out.append(byte: 0x0A)
            }
        }
    }
}
