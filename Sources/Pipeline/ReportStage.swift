import ChurnModel
import Features
import Lifetime
import Plans
import Foundation
import RetainIO
import Segmentation

/// The report stage: what a person wants to read after a nightly run, from the files the
/// other stages published: customers per group and the targets, model quality, rejects,
/// the latest retention figures, and where the files are. Printed, and kept as `report.md`;
/// the same and more, drawn, in `report.html` (`ReportHTML`).
struct ReportStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    /// This run's records so far (and those of stages run earlier).
    let manifest: RunManifest

    static let reportFile = "report.md"

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let steps = StepTimer(.report, reporter: reporter)
        let targetsPath = try folder.upstream(SegmentOutputs.targetsFile, for: .report, from: .segment)
        let targets = try records(targetsPath)
        let history = try records(folder.latest(SegmentStage.historyFile))
        let modelPath = folder.latest(TrainStage.modelFile)
        let model = FilePath.exists(modelPath) ? try? ModelFile.load(modelPath) : nil

        var lines: [String] = []
        var md: [String] = ["# Retain report", ""]
        let scoring = CivilDate.iso(try FeaturesStage.dates(in: manifest.stages[Stage.features.rawValue], for: .report).scoring)
        let customers = targets.reduce(0) { $0 + (Int($1["customers"] ?? "") ?? 0) }
        let churners = targets.reduce(0.0) { $0 + (Double($1["expected_churners"] ?? "") ?? 0) }
        let horizon = model?.horizonDays ?? Int(spec.features.horizonDays)
        let headline = "\(MessageText.grouped(customers)) active customers scored as of \(scoring); \(MessageText.grouped(Int(churners.rounded()))) expected to churn "
            + "in the next \(horizon) days (\(customers > 0 ? MessageText.percent(100 * churners / Double(customers)) : "n/a"))"
        lines.append(headline)
        md += [headline + ".", "", "| segment | customers | expected churners | revenue at risk | target churn reduction | target retained customers | target retained revenue | max spend per customer |",
               "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for t in targets {
            let seg = t["segment"] ?? "?"
            let reduction = (Double(t["target_churn_reduction"] ?? "") ?? 0) * 100
            let count = Int(t["customers"] ?? "") ?? 0
            lines.append("  \(seg.padding(toLength: 16, withPad: " ", startingAt: 0)) " + (count == 0 ? "no customers" : "\(MessageText.grouped(count)) customers, "
                + "\(t["expected_churners"] ?? "?") expected churners, revenue at risk \(t["revenue_at_risk"] ?? "?"); "
                + (reduction > 0 ? "target: keep \(MessageText.percent(reduction)) of them (\(t["target_retained_customers"] ?? "?") customers, "
                    + "\(t["target_retained_revenue"] ?? "?") revenue), spend at most \(t["max_spend_per_customer"] ?? "?") per customer"
                    : "no retention spend")))
            md.append("| \(seg) | \(t["customers"] ?? "") | \(t["expected_churners"] ?? "") | \(t["revenue_at_risk"] ?? "") | \(MessageText.percent(reduction)) | "
                + "\(t["target_retained_customers"] ?? "") | \(t["target_retained_revenue"] ?? "") | \(t["max_spend_per_customer"] ?? "") |")
        }
        md.append("")
        if let m = model {
            if let v = m.validation {
                let line = "model: out of time (fitted as of \(v.fittedOn.asOf), judged on \(v.evaluatedOn.asOf)) AUC \(MessageText.fixed(v.metrics.auc, 3)), "
                    + "log loss \(MessageText.fixed(v.metrics.logLoss, 3)), Brier \(MessageText.fixed(v.metrics.brier, 3)), top-decile lift \(MessageText.fixed(v.metrics.topDecileLift, 2))"
                lines.append(line)
                md += ["Model quality, " + line.dropFirst("model: ".count) + ".", "",
                       "Calibration out of time (customers in tenths by predicted churn probability):", "",
                       "| tenth | customers | mean predicted | observed churn |", "|---:|---:|---:|---:|"]
                md += v.metrics.calibration.map { "| \($0.decile) | \($0.customers) | \(MessageText.fixed($0.meanPredicted, 3)) | \(MessageText.fixed($0.observedRate, 3)) |" }
                md.append("")
            } else {
                let line = "model: no out-of-time validation (\(m.validationSkipped ?? "unknown reason")); in-sample AUC \(MessageText.fixed(m.trainingMetrics.auc, 3))"
                lines.append(line)
                md += [line, ""]
            }
            if !m.warnings.isEmpty { md += ["Model warnings:", ""] + m.warnings.map { "- \($0)" } + [""] }
            if let c = m.comparison {
                let (line, table) = Self.comparison(c)
                lines.append(line)
                md += table
            }
        }
        if let (line, section) = try valueSection(targets) {
            lines.append(line)
            md += section
        }
        let (evaluationLine, evaluationSection) = try evaluationSection()
        lines.append(evaluationLine)
        md += evaluationSection
        if let ingest = manifest.stages[Stage.ingest.rawValue] {
            let read = ingest.counts["rows_read"] ?? 0, rejected = ingest.counts["rows_rejected"] ?? 0
            let line = "input: \(MessageText.grouped(read)) rows read, \(MessageText.grouped(rejected)) rejected"
                + (rejected > 0 ? " (see \(folder.publishedPath("rejects.csv")))" : "")
            lines.append(line)
            md += ["Input: \(MessageText.grouped(read)) rows read, \(MessageText.grouped(rejected)) rejected.", ""]
        }
        if let last = history.last {
            let line = "retention \(last["period_start"] ?? "") to \(last["period_end"] ?? ""): \(last["retention_rate"] ?? "?")% retention rate, "
                + "\(last["churn_rate"] ?? "?")% churn, sales-adjusted \(last["sales_adjusted_retention"] ?? "?")%, profit-based \(last["profit_retention"] ?? "?")%"
            lines.append(line)
            md += ["Retention per \(spec.segment.historyPeriod.rawValue) (\(SegmentStage.historyFile)):", "",
                   "| period | customers at start | at end | new | retention rate % | churn rate % | sales-adjusted % | profit-based % |",
                   "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for r in history {
                md.append("| \(r["period_start"] ?? "") to \(r["period_end"] ?? "") | \(r["customers_start"] ?? "") | \(r["customers_end"] ?? "") | "
                    + "\(r["new_customers"] ?? "") | \(r["retention_rate"] ?? "") | \(r["churn_rate"] ?? "") | \(r["sales_adjusted_retention"] ?? "") | \(r["profit_retention"] ?? "") |")
            }
            md.append("")
        }
        let files = "files in \(folder.path): \(SegmentOutputs.customersFile), segments/ (to contact), controls/ (never to contact), "
            + "\(SegmentOutputs.targetsFile), \(SegmentStage.historyFile), \(EvaluationOutputs.evaluationFile), plans/, \(ReportHTML.file), \(Self.reportFile)"
        lines.append(files)
        md += ["Files: `\(SegmentOutputs.customersFile)` (every scored customer, its segment, arm and why), `segments/<segment>.csv` "
               + "(the group's target arm: the customers to contact), `controls/<segment>.csv` (its control arm: never to contact), "
               + "`\(SegmentOutputs.targetsFile)`, `\(SegmentStage.historyFile)`, `\(EvaluationOutputs.evaluationFile)`, "
               + "`plans/<as-of>/` (each run's plan); model: `\(TrainStage.modelFile)`, `\(TrainStage.coefficientsFile)`.", ""]
        for l in lines { reporter.info("report: " + l) }
        try AtomicFile.write(try folder.stagedPath(Self.reportFile), contents: md.joined(separator: "\n"))
        steps.done("wrote \(Self.reportFile)")
        let page = try ReportHTML(spec: spec, folder: folder, manifest: manifest, records: records)
            .page(.init(asOf: scoring, horizonDays: horizon, targets: targets, model: model))
        steps.done("read the files and drew the charts of \(ReportHTML.file)")
        guard let html = page.html() else {
            throw PipelineError.failed(message: "report: the page template of report.html does not parse (a defect in Retain; report.md was written)", status: .failure)
        }
        try AtomicFile.write(try folder.stagedPath(ReportHTML.file), contents: html)
        steps.done("rendered and wrote \(ReportHTML.file)")
        return clock.record(counts: ["customers": customers])
    }

    /// The three models judged out of time: one log line, and a table with the choice.
    static func comparison(_ c: ModelComparison) -> (String, [String]) {
        var md = ["Churn models judged out of time on the same customers (the one that scores: **\(c.chosen.rawValue)**, \(c.reason)):", "",
                  "| model | AUC | log loss | Brier | top-decile lift |", "|---|---:|---:|---:|---:|"]
        for k in c.candidates {
            if let m = k.metrics {
                md.append("| \(k.model.rawValue) | \(MessageText.fixed(m.auc, 3)) | \(MessageText.fixed(m.logLoss, 4)) | \(MessageText.fixed(m.brier, 4)) | \(MessageText.fixed(m.topDecileLift, 2)) |")
            } else {
                md.append("| \(k.model.rawValue) | not judged: \(k.skipped ?? "unknown reason") | | | |")
            }
        }
        md.append("")
        return ("model: scores with the \(c.chosen.rawValue) model (\(c.reason))", md)
    }

    /// CLV at risk per group and the value models, where the value stage ran.
    func valueSection(_ targets: [[String: String]]) throws -> (String, [String])? {
        guard targets.first?["clv_at_risk"] != nil else { return nil }
        let path = folder.latest(ValueStage.modelFile)
        let value = FilePath.exists(path) ? (try? JSONSerialization.jsonObject(with: Data(FilePath.readAll(path)))) as? [String: Any] : nil
        let months = value?["horizon_months"] as? Int ?? spec.value.horizonMonths
        let atRisk = targets.reduce(0.0) { $0 + (Double($1["clv_at_risk"] ?? "") ?? 0) }
        var md = ["Lifetime value over \(months) months (`\(ValueStage.valuesFile)`; CLV at risk = churn probability x CLV):", "",
                  "| segment | CLV at risk |", "|---|---:|"]
        md += targets.map { "| \($0["segment"] ?? "") | \($0["clv_at_risk"] ?? "") |" }
        md.append("")
        func params(_ key: String) -> String? {
            guard let fit = value?[key] as? [String: Any], let p = fit["parameters"] as? [String: Double] else { return nil }
            return p.keys.sorted().map { "\($0) \(MessageText.fixed(p[$0] ?? .nan, 4))" }.joined(separator: ", ")
        }
        if let b = params("bgnbd") { md.append("BG/NBD (days): \(b).") }
        if let g = params("gamma_gamma") { md.append("Gamma-Gamma: \(g).") }
        for f in value?["fallbacks"] as? [String] ?? [] { md.append("Fallback: \(f).") }
        md.append("")
        return ("value: CLV at risk over \(months) months \(MessageText.fixed(atRisk, 2))", md)
    }

    /// "Earlier plans against what happened": per judged plan and group, both arms' churn,
    /// the effect with its interval and whether the target was reached; per plan, the
    /// model's calibration on the customers who got no action.
    func evaluationSection() throws -> (String, [String]) {
        let rows = try records(folder.latest(EvaluationOutputs.evaluationFile))
        let calibration = try records(folder.latest(EvaluationOutputs.calibrationFile))
        var md = ["## Earlier plans against what happened", ""]
        guard !rows.isEmpty else {
            let why = manifest.stages[Stage.evaluate.rawValue]?.notes.first ?? "no archived plan has been judged"
            md += [why.prefix(1).uppercased() + why.dropFirst() + ".", ""]
            return ("evaluation: " + why, md)
        }
        md += ["Effect = control churn minus target churn (points; above 0: the action kept customers), with its 95% interval; "
               + "the target is reached when the whole interval is at or above the reduction the plan aimed for.", "",
               "| plan | segment | target / control customers | churn target % | churn control % | effect (95%) | aimed for | reached | revenue per customer, target - control (95%) |",
               "|---|---|---:|---:|---:|---:|---:|---|---:|"]
        func pct(_ s: String?) -> String { Double(s ?? "").map { MessageText.fixed(100 * $0, 1) } ?? "" }
        for r in rows {
            let effect = r["effect"].flatMap { $0.isEmpty ? nil : $0 }.map { _ in "\(pct(r["effect"])) (\(pct(r["effect_low"])) to \(pct(r["effect_high"])))" } ?? "n/a"
            let revenue = (r["revenue_per_customer_difference"] ?? "").isEmpty ? "n/a"
                : "\(r["revenue_per_customer_difference"] ?? "") (\(r["revenue_difference_low"] ?? "") to \(r["revenue_difference_high"] ?? ""))"
            md.append("| \(r["plan_as_of"] ?? "") | \(r["segment"] ?? "") | \(r["target_customers"] ?? "") / \(r["control_customers"] ?? "") | "
                + "\(pct(r["target_churn_rate"])) | \(pct(r["control_churn_rate"])) | \(effect) | \(pct(r["required_effect"])) | \(r["target_reached"] ?? "") | \(revenue) |")
        }
        md.append("")
        let plans = Array(Set(calibration.compactMap { $0["plan_as_of"] })).sorted()
        if !plans.isEmpty {
            md += ["The model on each plan's customers who got no action (control arms, groups without a target): predicted against actual churn.", "",
                   "| plan | customers | predicted churn % | actual churn % | largest gap in a tenth (points) | AUC | Brier |", "|---|---:|---:|---:|---:|---:|---:|"]
            for plan in plans {
                let bins = calibration.filter { $0["plan_as_of"] == plan }
                var n = 0.0, predicted = 0.0, actual = 0.0, gap = 0.0
                for b in bins {
                    let c = Double(b["customers"] ?? "") ?? 0, p = Double(b["mean_predicted"] ?? "") ?? 0, a = Double(b["actual_churn_rate"] ?? "") ?? 0
                    n += c; predicted += c * p; actual += c * a; gap = max(gap, abs(p - a))
                }
                md.append("| \(plan) | \(Int(n)) | \(MessageText.fixed(100 * predicted / max(n, 1), 1)) | \(MessageText.fixed(100 * actual / max(n, 1), 1)) | "
                    + "\(MessageText.fixed(100 * gap, 1)) | \(bins.first?["auc"] ?? "") | \(bins.first?["brier"] ?? "") |")
            }
            md.append("")
        }
        let judged = Set(rows.compactMap { $0["plan_as_of"] }).count
        let reached = rows.filter { $0["target_reached"] == "yes" }.count, missed = rows.filter { $0["target_reached"] == "no" }.count
        return ("evaluation: \(judged) earlier plans judged; group targets reached \(reached), missed \(missed), "
            + "cannot tell \(rows.filter { $0["target_reached"] == "cannot tell" }.count) (see \(EvaluationOutputs.evaluationFile))", md)
    }

    /// The rows of a small CSV file Retain wrote, by header name.
    func records(_ path: String) throws -> [[String: String]] {
        guard FilePath.exists(path) else { return [] }
        switch CSVRecords.parse(try FilePath.readAll(path)) {
        case .failure(let e): throw IOError.malformed(path: path, line: e.line, message: "a quoted field is not closed")
        case .success(let rows):
            guard let header = rows.first?.fields else { return [] }
            return rows.dropFirst().map { r in
                Dictionary(zip(header, r.fields).map { ($0, $1) }, uniquingKeysWith: { a, _ in a })
            }
        }
    }
}
