import RetainIO

/// The files marketing receives from the segment stage, written here, by the module that
/// makes them (columns: docs/CONTRACT.md). `staging` maps a file's name to where it is
/// written.
public enum SegmentOutputs {
    /// One row per scored customer: group, reason, value.
    public static let customersFile = "customers.csv"
    /// One row per group: baseline, target, what reaching it is worth.
    public static let targetsFile = "retention_targets.csv"
    /// One row per period: S, E, N and the retention rates.
    public static let historyFile = "retention_history.csv"
    /// One row per cohort x period: the cohort's customers and those still active.
    public static let cohortsFile = "retention_cohorts.csv"
    /// Per group (and `all`), customers per bin of churn probability and of CLV: what the
    /// report draws of the spread.
    public static let distributionsFile = "segment_distributions.csv"
    /// Per group, its ten customers with the most at stake (CLV at risk, else revenue at risk).
    public static let topAtRiskFile = "top_at_risk.csv"
    /// The rows of `customers.csv` in one group that its action reaches (the target arm):
    /// the file to mail.
    public static func segmentFile(_ s: Segment) -> String { "segments/\(s.rawValue).csv" }
    /// The rows of `customers.csv` in one group held out of its action (the control arm):
    /// never to be contacted, kept apart so that no mailing of segments/ reaches them.
    public static func controlFile(_ s: Segment) -> String { "controls/\(s.rawValue).csv" }

    /// customers.csv, and per segment its target arm (`segments/`) and its control arm
    /// (`controls/`): the contract's columns, then the value's parts, then `treatment`.
    /// `control`: per scored customer, whether it is in the control arm (nil: nobody is).
    public static func writeCustomers(_ scores: CSVTable, _ result: Segmenter.Result, control: [Bool]? = nil,
                                      staging: (String) throws -> String) throws {
        let lifetime = result.lifetime
        let header = ["customer_id", "segment", "churn_probability", "recency_days", "frequency", "monetary", "tenure_days",
                      "expected_value", "reason"] + (lifetime == nil ? [] : ["p_alive", "expected_purchases", "clv"])
            + ["treatment", "revenue_at_risk", "profit_at_risk", "orders_per_year", "strategic_role"]
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
            for j in 0..<columns.count { try b.append(byte: UInt8(ascii: ",")); try b.appendExact(columns[j][i]) }  // by index: a column array per row would be retained
            try b.append(byte: UInt8(ascii: ","))
            try b.appendFixed(pl.value.expectedValue, decimals: 2)
            // The reason is our own text without quotes: always quoted (it holds commas).
            try b.append(",\"")
            try result.writeReason(i, to: b)
            try b.append("\"")
            if let l = lifetime {
                for v in [l.pAlive[i], l.expectedPurchases[i]] { try b.append(byte: UInt8(ascii: ",")); try b.appendDecimal(v, maxDecimals: 6) }
                try b.append(byte: UInt8(ascii: ","))
                try b.appendFixed(l.clv[i], decimals: 2)
            }
            let isControl = control?[i] ?? false
            try b.append(isControl ? ",control" : ",target")
            for v in [pl.value.revenueAtRisk, pl.value.profitAtRisk] { try b.append(byte: UInt8(ascii: ",")); try b.appendFixed(v, decimals: 2) }
            try b.append(byte: UInt8(ascii: ","))
            try b.appendFixed(pl.value.ordersPerYear, decimals: 2)
            try b.append(byte: UInt8(ascii: ","))
            if let r = pl.role { try b.append(r.rawValue) }
            try b.append(byte: 0x0A)
            return segments.firstIndex(of: pl.segment).map { isControl ? $0 + segments.count : $0 }
        }
        // Each row is formatted once: written to customers.csv, and copied into its
        // group's file of its arm, all nine open at once (none is read back by a later
        // stage, so they leave the page cache as they go: see `OutputBuffer.dropBehind`).
        let paths = try [staging(customersFile)] + segments.map { try staging(segmentFile($0)) } + segments.map { try staging(controlFile($0)) }
        try AtomicFile.write(paths, dropBehind: true) { outs in
            for out in outs { try CSVText.appendHeader(header, to: out) }
            try ParallelRows.write(rows: scores.count, bytesPerRow: 200, to: outs[0], alsoTo: Array(outs.dropFirst()), formatRow: row)
        }
    }

    /// `retention_targets.csv`: one row per group.
    public static func writeTargets(_ targets: [SegmentTarget], staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(targetsFile)) { out in
            try CSVText.appendHeader(["segment", "customers", "expected_churners", "revenue_at_risk", "target_churn_reduction",
                                      "target_retained_customers", "target_retained_revenue", "max_spend_per_customer", "profit_at_risk"]
                                      + (targets.contains { $0.clvAtRisk != nil } ? ["clv_at_risk"] : []), to: out)
            for t in targets {
                try out.append(t.segment.rawValue)
                try out.append(",\(t.customers),")
                try out.appendFixed(t.expectedChurners, decimals: 2)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendFixed(t.revenueAtRisk, decimals: 2)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendDecimal(t.targetChurnReduction)
                for v in [t.targetRetainedCustomers, t.targetRetainedRevenue, t.maxSpendPerCustomer, t.profitAtRisk] + (t.clvAtRisk.map { [$0] } ?? []) {
                    try out.append(byte: UInt8(ascii: ","))
                    try out.appendFixed(v, decimals: 2)
                }
                try out.append(byte: 0x0A)
            }
        }
    }

    /// `retention_cohorts.csv`: one row per cohort and period from it on.
    public static func writeCohorts(_ h: RetentionHistory, staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(cohortsFile)) { out in
            try CSVText.appendHeader(["cohort_start", "period_start", "customers_start", "retained", "retention_rate"], to: out)
            for r in h.cohorts {
                try out.append("\(CivilDate.iso(r.cohortStart)),\(CivilDate.iso(r.periodStart)),\(r.customers),\(r.retained),")
                if r.customers > 0 { try out.appendFixed(r.retentionRate, decimals: 2) }
                try out.append(byte: 0x0A)
            }
        }
    }

    /// `retention_history.csv`: one row per period.
    public static func writeHistory(_ h: RetentionHistory, staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(historyFile)) { out in
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

    /// `segment_distributions.csv` and `top_at_risk.csv` from the group profile; `keys`: the
    /// scored table the profile's rows index (its ids are copied as written).
    public static func writeProfile(_ profile: GroupProfile, keys: CSVTable, staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(distributionsFile)) { out in
            try CSVText.appendHeader(["segment", "measure", "bin_low", "bin_high", "customers"], to: out)
            for b in profile.bins {
                try out.append("\(b.segment),\(b.measure),")
                try out.appendDecimal(b.low)
                try out.append(byte: UInt8(ascii: ","))
                if let h = b.high { try out.appendDecimal(h) }
                try out.append(",\(b.customers)\n")
            }
        }
        try AtomicFile.write(try staging(topAtRiskFile)) { out in
            try CSVText.appendHeader(["segment", "rank", "customer_id", "churn_probability", "revenue_at_risk", "clv_at_risk"], to: out)
            for r in profile.atRisk {
                try out.append("\(r.segment.rawValue),\(r.rank),")
                try keys.appendRawKey(r.index, to: out)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendDecimal(r.churnProbability, maxDecimals: 6)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendFixed(r.revenueAtRisk, decimals: 2)
                try out.append(byte: UInt8(ascii: ","))
                if let c = r.clvAtRisk { try out.appendFixed(c, decimals: 2) }
                try out.append(byte: 0x0A)
            }
        }
    }
}
