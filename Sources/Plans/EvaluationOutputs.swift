import ChurnModel
import RetainIO

/// The evaluation's files (columns: docs/CONTRACT.md), written by the module that judges
/// the plans: `evaluation.csv`, one row per plan x group with both arms, and
/// `evaluation_calibration.csv`, per plan the untreated customers in tenths by predicted
/// churn probability.
public enum EvaluationOutputs {
    public static let evaluationFile = "evaluation.csv"
    public static let calibrationFile = "evaluation_calibration.csv"

    public static let evaluationHeader = [
        "plan_as_of", "segment", "target_customers", "control_customers", "predicted_churners", "actual_churners",
        "effect", "effect_low", "effect_high", "target_reached",
        "horizon_end", "target_churn_reduction", "required_effect", "target_predicted_churners", "control_predicted_churners",
        "target_actual_churners", "control_actual_churners", "target_churn_rate", "control_churn_rate",
        "target_revenue", "control_revenue", "revenue_per_customer_difference", "revenue_difference_low", "revenue_difference_high", "note",
    ]
    public static let calibrationHeader = ["plan_as_of", "decile", "customers", "mean_predicted", "actual_churn_rate", "auc", "brier"]

    /// The rows of one plan in evaluation.csv.
    public static func evaluationRows(_ e: PlanEvaluation) -> [String] {
        let asOf = CivilDate.iso(e.asOf), end = CivilDate.iso(e.horizonEnd)
        return e.groups.map { g in
            var notes = g.notes
            if e.notInLedger > 0 { notes.append("\(e.notInLedger) of the plan's customers are not in the data now and are left out") }
            let fields: [String] = [
                asOf, g.segment.rawValue, "\(g.targetCustomers)", "\(g.controlCustomers)", fixed(g.predicted, 2), "\(g.churners)",
                share(g.effect?.estimate), share(g.effect?.low), share(g.effect?.high), g.targetReached.rawValue,
                end, share(g.targetChurnReduction), share(g.targetChurnReduction > 0 ? g.requiredEffect : nil),
                fixed(g.targetPredicted, 2), fixed(g.controlPredicted, 2), "\(g.targetChurners)", "\(g.controlChurners)",
                share(g.targetChurnRate), share(g.controlChurnRate), fixed(g.targetRevenue, 2), fixed(g.controlRevenue, 2),
                fixed(g.revenueDifference?.estimate, 2), fixed(g.revenueDifference?.low, 2), fixed(g.revenueDifference?.high, 2),
                String(decoding: CSVText.field(notes.joined(separator: "; ")), as: UTF8.self),
            ]
            return fields.joined(separator: ",")
        }
    }

    /// The rows of one plan in evaluation_calibration.csv.
    public static func calibrationRows(_ e: PlanEvaluation) -> [String] {
        guard let m = e.calibration else { return [] }
        let asOf = CivilDate.iso(e.asOf)
        return m.calibration.map { b in
            [asOf, "\(b.decile)", "\(b.customers)", share(b.meanPredicted), share(b.observedRate), share(m.auc), share(m.brier)].joined(separator: ",")
        }
    }

    /// Writes both files through `staging`: the rows of `evaluations`, and from the files
    /// at `previous` (the published ones) the rows of the plans in `kept` that were not
    /// judged now (`retain evaluate --plan` judges one plan and keeps the others' rows).
    /// Rows in order of plan, then group.
    public static func write(_ evaluations: [PlanEvaluation], keeping kept: Set<String> = [], previous: (String) -> String?,
                             staging: (String) throws -> String) throws {
        let judged = Set(evaluations.map { CivilDate.iso($0.asOf) })
        for (file, header, rows) in [(evaluationFile, evaluationHeader, evaluations.flatMap(evaluationRows)),
                                     (calibrationFile, calibrationHeader, evaluations.flatMap(calibrationRows))] {
            var all = rows
            if !kept.isEmpty, let path = previous(file), let bytes = try? FilePath.readAll(path) {
                let lines = bytes.split(separator: 0x0A).dropFirst().map { String(decoding: $0, as: UTF8.self) }
                all += lines.filter { line in
                    let asOf = String(line.prefix { $0 != "," })
                    return kept.contains(asOf) && !judged.contains(asOf)
                }
            }
            // Stable by plan: rows of a plan stay in their group order.
            let ordered = all.enumerated().sorted { a, b in
                let x = a.element.prefix(10), y = b.element.prefix(10)
                return x != y ? x < y : a.offset < b.offset
            }.map(\.element)
            try AtomicFile.write(try staging(file)) { out in
                try CSVText.appendHeader(header, to: out)
                for r in ordered { try out.append(r); try out.append(byte: 0x0A) }
            }
        }
    }

    static func fixed(_ v: Double?, _ decimals: Int) -> String {
        guard let v, v.isFinite else { return "" }
        return MessageText.fixed(v, decimals)
    }

    static func share(_ v: Double?) -> String { fixed(v, 6) }
}
