import Charts
import ChurnModel
import Foundation
import Ledger
import Lifetime
import Plans
import Report
import RetainIO
import Segmentation

/// `report.html`: the report stage's page, made from the files the other stages published
/// (their small summaries only: no per-customer file is read back). Each section works
/// without the stages it does not need, and says why it is empty when it is.
struct ReportHTML {
    static let file = "report.html"
    /// Rejected rows shown per reason, and how much of rejects.csv is read to find them.
    static let examplesPerReason = 3
    static let rejectsBytesRead = 1 << 20

    let spec: PipelineSpec
    let folder: RunFolder
    let manifest: RunManifest
    let records: (String) throws -> [[String: String]]

    /// What the headline and the other sections share.
    struct Basics {
        var asOf: String
        var horizonDays: Int
        var targets: [[String: String]]
        var model: ModelFile?
    }

    func page(_ b: Basics) throws -> ReportPage {
        let sections = [headline(b), try groups(b), try history(), try cohorts(), model(b), try value(b), try plans(), try rejects()]
        return ReportPage(title: "Retain report, as of \(b.asOf)",
                          subtitle: "Churn: no purchase in the \(b.horizonDays) days after \(b.asOf). Every figure comes from the files beside this page.",
                          sections: sections)
    }

    // MARK: 1. headline

    func headline(_ b: Basics) -> ReportPage.Section {
        var s = ReportPage.Section(id: "headline", heading: "Headline")
        let customers = sum(b.targets, "customers"), churners = sum(b.targets, "expected_churners")
        let revenue = sum(b.targets, "revenue_at_risk")
        s.figures = [.init("as of", b.asOf, detail: "churn = no purchase in the next \(b.horizonDays) days"),
                     .init("active customers", MessageText.grouped(Int(customers))),
                     .init("expected churners", MessageText.grouped(Int(churners.rounded())),
                           detail: customers > 0 ? MessageText.fixed(100 * churners / customers, 1) + "% of them" : nil),
                     .init("revenue at risk", ValueStyle.decimal(0).format(revenue), detail: "churn probability × revenue if retained")]
        if b.targets.first?["clv_at_risk"] != nil {
            s.figures.append(.init("CLV at risk", ValueStyle.decimal(0).format(sum(b.targets, "clv_at_risk")),
                                   detail: "churn probability × CLV over \(spec.value.horizonMonths) months"))
        }
        if let v = b.model?.validation {
            s.figures.append(.init("model (out of time)", "AUC " + MessageText.fixed(v.metrics.auc, 3),
                                   detail: "Brier \(MessageText.fixed(v.metrics.brier, 3)), top-tenth lift \(MessageText.fixed(v.metrics.topDecileLift, 2)), judged on \(v.evaluatedOn.asOf)"))
        } else if let m = b.model {
            s.figures.append(.init("model (in sample)", "AUC " + MessageText.fixed(m.trainingMetrics.auc, 3),
                                   detail: "no out-of-time check: \(m.validationSkipped ?? "unknown reason")"))
        }
        if let ingest = manifest.stages[Stage.ingest.rawValue] {
            let read = ingest.counts["rows_read"] ?? 0, rejected = ingest.counts["rows_rejected"] ?? 0
            s.figures.append(.init("rows read", MessageText.grouped(read), detail: "\(MessageText.grouped(rejected)) rejected"))
        }
        s.lead = ["\(MessageText.grouped(Int(customers))) active customers scored as of \(b.asOf); "
                  + "\(MessageText.grouped(Int(churners.rounded()))) are expected to churn in the next \(b.horizonDays) days."]
        return s
    }

    // MARK: 2. groups

    func groups(_ b: Basics) throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "groups", heading: "Groups and targets")
        let t = b.targets
        guard !t.isEmpty else { s.empty = "No groups: \(SegmentOutputs.targetsFile) is not in this folder (the segment stage writes it)."; return s }
        let names = t.map { $0["segment"] ?? "" }
        func bars(_ title: String, _ key: String, _ axis: Charts.Axis) -> SVG {
            Charts.bars(title, categories: names, category: "group", values: t.map { Double($0[key] ?? "") ?? .nan }, axis: axis, width: 460)
        }
        s.lead = ["Each group's customers, what its expected churn puts at risk, the target (customers kept by the retention action) "
                  + "and the most the action may cost per customer. Money is in the log's own currency."]
        s.smallCharts = [bars("Customers per group", "customers", .init("customers", .count)),
                         bars("Revenue at risk per group", "revenue_at_risk", .init("revenue at risk (money)", .decimal(0)))]
        if t.first?["clv_at_risk"] != nil {
            s.smallCharts.append(bars("CLV at risk per group", "clv_at_risk", .init("CLV at risk over \(spec.value.horizonMonths) months (money)", .decimal(0))))
        }
        s.smallCharts += [bars("Target: churners to keep", "target_retained_customers", .init("customers kept by the action", .decimal(1))),
                          bars("Most to spend per customer", "max_spend_per_customer", .init("spend per contacted customer (money)", .decimal(2)))]
        let bins = try records(folder.latest(SegmentOutputs.distributionsFile)).filter { $0["measure"] == "churn_probability" }
        let empty = t.filter { (Int($0["customers"] ?? "") ?? 0) == 0 }.map { $0["segment"] ?? "" }
        if !empty.isEmpty { s.lead.append("No customer is in \(empty.joined(separator: ", ")) this run: no spread to draw there.") }
        for name in names where !empty.contains(name) {
            let mine = bins.filter { $0["segment"] == name }
            guard !mine.isEmpty else { continue }
            s.smallCharts.append(Charts.histogram("Churn probability: \(name)", bins: mine.map(bin),
                                                  x: .init("churn probability in the next \(b.horizonDays) days", .share(0)),
                                                  y: .init("customers", .count), width: 460, height: 240))
        }
        s.tables.append(.init(caption: "Targets per group (\(SegmentOutputs.targetsFile))",
                              columns: ["segment", "customers", "expected churners", "revenue at risk", "CLV at risk", "target churn reduction",
                                        "target retained customers", "target retained revenue", "max spend per customer"],
                              numeric: Set(1...8),
                              rows: t.map { r in [r["segment"] ?? "", r["customers"] ?? "", r["expected_churners"] ?? "", r["revenue_at_risk"] ?? "",
                                                  r["clv_at_risk"] ?? "", ValueStyle.share(0).format(Double(r["target_churn_reduction"] ?? "") ?? .nan),
                                                  r["target_retained_customers"] ?? "", r["target_retained_revenue"] ?? "", r["max_spend_per_customer"] ?? ""] }))
        let top = try records(folder.latest(SegmentOutputs.topAtRiskFile)).filter { (Int($0["rank"] ?? "") ?? 99) <= 5 }
        if !top.isEmpty {
            s.tables.append(.init(caption: "Most at stake: each group's five customers with the highest CLV at risk (all ten in \(SegmentOutputs.topAtRiskFile))",
                                  columns: ["segment", "rank", "customer", "churn probability", "revenue at risk", "CLV at risk"], numeric: [1, 3, 4, 5],
                                  rows: top.map { r in [r["segment"] ?? "", r["rank"] ?? "", r["customer_id"] ?? "",
                                                        ValueStyle.share(1).format(Double(r["churn_probability"] ?? "") ?? .nan),
                                                        r["revenue_at_risk"] ?? "", r["clv_at_risk"] ?? ""] }))
        }
        return s
    }

    func bin(_ r: [String: String]) -> Charts.Bin {
        let low = Double(r["bin_low"] ?? "") ?? 0
        return Charts.Bin(low: low, high: Double(r["bin_high"] ?? "") ?? low, count: Double(r["customers"] ?? "") ?? 0)
    }

    // MARK: 3. retention history

    func history() throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "history", heading: "Retention over time")
        let h = try records(folder.latest(SegmentOutputs.historyFile))
        guard !h.isEmpty else { s.empty = "No retention history: \(SegmentOutputs.historyFile) is not in this folder (the segment stage writes it)."; return s }
        let period = spec.segment.historyPeriod.rawValue
        s.lead = ["Per \(period): retention rate (E − N)/S, churn rate, sales-adjusted and profit-based retention (docs/DOMAIN.md). "
                  + "S: active customers at the start, E: at the end, N: new in the period."]
        let x = h.map { $0["period_start"] ?? "" }
        func series(_ name: String, _ key: String) -> Charts.Series { .init(name: name, values: h.map { Double($0[key] ?? "") }) }
        s.charts = [Charts.lines("Retention and churn per \(period)", x: x,
                                 series: [series("retention rate", "retention_rate"), series("churn rate", "churn_rate"),
                                          series("sales-adjusted retention", "sales_adjusted_retention"), series("profit-based retention", "profit_retention")],
                                 x: "\(period) starting", y: .init("rate (% of the period's base)", .percent(1)))]
        s.tables = [.init(caption: "Per \(period) (\(SegmentOutputs.historyFile))",
                          columns: ["period", "S (start)", "E (end)", "N (new)", "retention %", "churn %", "sales-adjusted %", "profit-based %"],
                          numeric: Set(1...7),
                          rows: h.map { r in ["\(r["period_start"] ?? "") to \(r["period_end"] ?? "")", r["customers_start"] ?? "", r["customers_end"] ?? "",
                                              r["new_customers"] ?? "", r["retention_rate"] ?? "", r["churn_rate"] ?? "",
                                              r["sales_adjusted_retention"] ?? "", r["profit_retention"] ?? ""] })]
        return s
    }

    // MARK: 4. cohorts

    func cohorts() throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "cohorts", heading: "Cohorts")
        let c = try records(folder.latest(SegmentOutputs.cohortsFile))
        guard !c.isEmpty else { s.empty = "No cohorts: \(SegmentOutputs.cohortsFile) is not in this folder (the segment stage writes it)."; return s }
        let period = spec.segment.historyPeriod.rawValue
        // Cohorts with no active customer at any period's start (no rate) are left out.
        let rows = Array(Set(c.compactMap { ($0["retention_rate"] ?? "").isEmpty ? nil : $0["cohort_start"] })).sorted(), columns = Array(Set(c.compactMap { $0["period_start"] })).sorted()
        let r = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1, $0) }), k = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        var grid = [[Double?]](repeating: [Double?](repeating: nil, count: columns.count), count: rows.count)
        for e in c {
            guard let i = r[e["cohort_start"] ?? ""], let j = k[e["period_start"] ?? ""], let v = Double(e["retention_rate"] ?? "") else { continue }
            grid[i][j] = v
        }
        s.lead = ["Customers by the \(period) of their first purchase (rows): the share of the cohort still active at the end of each \(period) "
                  + "from it on (columns), with the history's definition of active (\(SegmentOutputs.cohortsFile))."]
        s.charts = [Charts.heatmap("Retention by first-purchase cohort and \(period)", rows: rows, columns: columns, values: grid,
                                   rowAxis: "cohort", columnAxis: "\(period) starting", value: .init("retained (%)", .percent(0)), domain: (0, 100))]
        return s
    }

    // MARK: 5. model

    func model(_ b: Basics) -> ReportPage.Section {
        var s = ReportPage.Section(id: "model", heading: "Can the model be trusted?")
        guard let m = b.model else { s.empty = "No model: \(TrainStage.modelFile) is not in this folder (the train stage writes it)."; return s }
        if let v = m.validation {
            let cal = v.metrics.calibration
            s.lead = ["Judged out of time: fitted as of \(v.fittedOn.asOf), then used on the customers of \(v.evaluatedOn.asOf) and compared with what they did "
                      + "(\(MessageText.grouped(v.metrics.customers)) customers, \(ValueStyle.share(1).format(v.metrics.baseRate)) churned). "
                      + "AUC \(MessageText.fixed(v.metrics.auc, 3)), log loss \(MessageText.fixed(v.metrics.logLoss, 3)), Brier \(MessageText.fixed(v.metrics.brier, 3))."]
            s.smallCharts.append(Charts.xy("Calibration out of time", series: [.init(
                name: "customers in tenths by predicted churn", points: cal.map { ($0.meanPredicted, $0.observedRate) },
                tips: cal.map { "tenth \($0.decile) (\(MessageText.grouped($0.customers)) customers): predicted \(ValueStyle.share(1).format($0.meanPredicted)), observed \(ValueStyle.share(1).format($0.observedRate))" })],
                x: .init("mean predicted churn probability", .share(0)), y: .init("observed churn rate", .share(0)),
                diagonal: ("predicted = observed", true), xDomain: (0, 1), yDomain: (0, 1), width: 460, height: 340))
            // Gains and lift: the tenths from the highest predicted down.
            let top = cal.sorted { $0.decile > $1.decile }
            let total = Double(top.reduce(0) { $0 + $1.customers }), churners = top.reduce(0.0) { $0 + Double($1.customers) * $1.observedRate }
            var gained: [(x: Double, y: Double)] = [(0, 0)], tips = ["nobody contacted"]
            var n = 0.0, caught = 0.0
            for (i, d) in top.enumerated() {
                n += Double(d.customers); caught += Double(d.customers) * d.observedRate
                gained.append((n / max(total, 1), caught / max(churners, 1)))
                tips.append("top \(i + 1) tenth\(i == 0 ? "" : "s") (\(ValueStyle.share(0).format(n / max(total, 1))) of customers): \(ValueStyle.share(1).format(caught / max(churners, 1))) of churners")
            }
            s.smallCharts.append(Charts.xy("Cumulative gains out of time", series: [.init(name: "customers by predicted churn, highest first", points: gained, tips: tips)],
                                           x: .init("share of customers contacted", .share(0)), y: .init("share of churners reached", .share(0)),
                                           diagonal: ("random order", true), xDomain: (0, 1), yDomain: (0, 1), width: 460, height: 340))
            let base = churners / max(total, 1)
            s.smallCharts.append(Charts.bars("Lift per tenth, highest predicted first", categories: top.enumerated().map { "tenth \($0.offset + 1)" },
                                             category: "tenth of customers by predicted churn",
                                             values: top.map { base > 0 ? $0.observedRate / base : .nan },
                                             axis: .init("observed churn ÷ overall churn", .decimal(2)), reference: (1, "no better than chance"), width: 460))
        } else {
            s.lead = ["No out-of-time check: \(m.validationSkipped ?? "unknown reason"). In-sample AUC \(MessageText.fixed(m.trainingMetrics.auc, 3))."]
        }
        let scale = Dictionary(m.standardisation.map { ($0.term, $0.scale) }, uniquingKeysWith: { a, _ in a })
        let rows = m.coefficients.filter { $0.term != "intercept" }.map { c -> Charts.Interval in
            let sd = scale[c.term] ?? 1
            return .init(label: c.term, estimate: c.coefficient * sd, low: (c.coefficient - 1.96 * c.stdError) * sd, high: (c.coefficient + 1.96 * c.stdError) * sd)
        }
        if !rows.isEmpty {
            s.smallCharts.append(Charts.intervals("Coefficients per SD of the term, 95% intervals", rows: rows, category: "term",
                                                  axis: .init("change in log-odds of churn per SD of the term", .decimal(2)),
                                                  reference: (0, "no effect"), width: 460))
            s.tables.append(.init(caption: "Logistic coefficients (\(TrainStage.coefficientsFile); on the scale of training_matrix.csv; interval = coefficient ± 1.96 std_error)",
                                  columns: ["term", "coefficient", "std error", "95% low", "95% high", "p"], numeric: Set(1...5),
                                  rows: m.coefficients.map { c in [c.term, MessageText.fixed(c.coefficient, 5), MessageText.fixed(c.stdError, 5),
                                                                  MessageText.fixed(c.coefficient - 1.96 * c.stdError, 5), MessageText.fixed(c.coefficient + 1.96 * c.stdError, 5),
                                                                  c.pValue < 0.0001 ? "< 0.0001" : MessageText.fixed(c.pValue, 4)] }))
        }
        if let c = m.comparison {
            let judged = c.candidates.filter { $0.metrics != nil }
            if !judged.isEmpty {
                s.smallCharts.append(Charts.bars("Three models out of time: log loss (lower is better)", categories: judged.map { $0.model.rawValue }, category: "model",
                                                 values: judged.map { $0.metrics?.logLoss ?? .nan }, axis: .init("log loss", .decimal(4)), width: 460))
            }
            s.tables.append(.init(caption: "The models judged on the same customers: \(c.chosen.rawValue) scores (\(c.reason))",
                                  columns: ["model", "AUC", "log loss", "Brier", "top-tenth lift"], numeric: Set(1...4),
                                  rows: c.candidates.map { k in
                                      guard let x = k.metrics else { return [k.model.rawValue, "not judged: \(k.skipped ?? "unknown reason")", "", "", ""] }
                                      return [k.model.rawValue, MessageText.fixed(x.auc, 3), MessageText.fixed(x.logLoss, 4), MessageText.fixed(x.brier, 4), MessageText.fixed(x.topDecileLift, 2)]
                                  }))
        }
        return s
    }

    // MARK: 6. value

    func value(_ b: Basics) throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "value", heading: "Lifetime value")
        let path = folder.latest(ValueStage.modelFile)
        guard FilePath.exists(path), let file = try? ResultJSON.decoder().decode(ValueFile.self, from: Data(FilePath.readAll(path))) else {
            s.empty = "No lifetime value: \(ValueStage.modelFile) is not in this folder (the value stage writes it)."; return s
        }
        var lead = "CLV over \(file.horizonMonths) months, discounted at \(ValueStyle.share(0).format(file.annualDiscountRate)) a year (\(ValueStage.valuesFile))."
        if let p = file.bgnbd?.parameters {
            lead += " BG/NBD: " + p.keys.sorted().map { "\($0) \(MessageText.fixed(p[$0] ?? .nan, 4))" }.joined(separator: ", ") + " (α in days)."
        }
        if let g = file.gammaGamma?.parameters {
            lead += " Gamma-Gamma: " + g.keys.sorted().map { "\($0) \(MessageText.fixed(g[$0] ?? .nan, 4))" }.joined(separator: ", ") + "."
        }
        s.lead = [lead] + file.fallbacks.map { "Fallback: \($0)." }
        let bins = try records(folder.latest(SegmentOutputs.distributionsFile)).filter { $0["measure"] == "clv" && $0["segment"] == "all" }
        let closed = bins.filter { !($0["bin_high"] ?? "").isEmpty }, open = bins.first { ($0["bin_high"] ?? "").isEmpty }
        if !closed.isEmpty {
            s.smallCharts.append(Charts.histogram("CLV of the scored customers", bins: closed.map(bin),
                                                  x: .init("CLV over \(file.horizonMonths) months (money)", .decimal(0)), y: .init("customers", .count),
                                                  width: 460, height: 300))
            if let o = open, let n = Int(o["customers"] ?? ""), n > 0 {
                s.lead.append("\(MessageText.grouped(n)) customers have a CLV of \(o["bin_low"] ?? "?") or more (the top 1%), beyond the chart's axis.")
            }
        }
        if let a = file.aliveMatrix {
            let rows = a.frequencies.reversed().map { "\($0)" }
            s.smallCharts.append(Charts.heatmap("P(alive) by frequency and recency (age \(Int(a.ageDays)) days)",
                                                rows: rows, columns: a.recencyDays.map { "\(Int($0.rounded()))" },
                                                values: a.pAlive.reversed().map { $0.map { Optional($0) } },
                                                rowAxis: "repeat purchases", columnAxis: "days from first to last purchase (recency)",
                                                value: .init("P(alive)", .share(0)), domain: (0, 1), width: 460))
        }
        return s
    }

    // MARK: 7. earlier plans

    func plans() throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "plans", heading: "Earlier plans against what happened")
        let rows = try records(folder.latest(EvaluationOutputs.evaluationFile))
        guard !rows.isEmpty else {
            let why = manifest.stages[Stage.evaluate.rawValue]?.notes.first ?? "no archived plan has been judged"
            s.empty = why.prefix(1).uppercased() + why.dropFirst() + "."
            return s
        }
        s.lead = ["Effect = control churn minus target churn (above 0: the action kept customers), with its 95% interval (Newcombe). "
                  + "The diamond is the reduction the plan aimed for; the target is reached when the whole interval is at or above it."]
        let plans = Array(Set(rows.compactMap { $0["plan_as_of"] })).sorted()
        for plan in plans.suffix(6) {
            let mine = rows.filter { $0["plan_as_of"] == plan && !($0["effect"] ?? "").isEmpty }
            guard !mine.isEmpty else { continue }
            s.charts.append(Charts.intervals("Plan of \(plan): effect per group", rows: mine.map { r in
                .init(label: r["segment"] ?? "", estimate: Double(r["effect"] ?? "") ?? .nan, low: Double(r["effect_low"] ?? "") ?? .nan,
                      high: Double(r["effect_high"] ?? "") ?? .nan, marker: Double(r["required_effect"] ?? ""))
            }, category: "group", axis: .init("churn prevented (points of churn rate)", .share(1)), reference: (0, "no effect"), markerLabel: "aimed for"))
        }
        if plans.count > 6 { s.lead.append("The charts show the latest six of \(plans.count) judged plans; the table has them all.") }
        func pct(_ k: String, _ r: [String: String]) -> String { Double(r[k] ?? "").map { ValueStyle.share(1).format($0) } ?? "" }
        s.tables = [.init(caption: "Each judged plan and group (\(EvaluationOutputs.evaluationFile))",
                          columns: ["plan", "segment", "target / control customers", "churn target", "churn control", "effect (95%)", "aimed for", "reached",
                                    "revenue per customer, target − control (95%)"],
                          numeric: [2, 3, 4, 5, 6, 8],
                          rows: rows.map { r in
                              let effect = (r["effect"] ?? "").isEmpty ? "n/a" : "\(pct("effect", r)) (\(pct("effect_low", r)) to \(pct("effect_high", r)))"
                              let revenue = (r["revenue_per_customer_difference"] ?? "").isEmpty ? "n/a"
                                  : "\(r["revenue_per_customer_difference"] ?? "") (\(r["revenue_difference_low"] ?? "") to \(r["revenue_difference_high"] ?? ""))"
                              return [r["plan_as_of"] ?? "", r["segment"] ?? "", "\(r["target_customers"] ?? "") / \(r["control_customers"] ?? "")",
                                      pct("target_churn_rate", r), pct("control_churn_rate", r), effect, pct("required_effect", r), r["target_reached"] ?? "", revenue]
                          })]
        return s
    }

    // MARK: 8. rejected rows

    func rejects() throws -> ReportPage.Section {
        var s = ReportPage.Section(id: "rejects", heading: "Rejected rows")
        guard let ingest = manifest.stages[Stage.ingest.rawValue] else { s.empty = "No record of the ingest stage in this folder's run.json."; return s }
        let read = ingest.counts["rows_read"] ?? 0, rejected = ingest.counts["rows_rejected"] ?? 0
        guard rejected > 0 else { s.empty = "No row was rejected: all \(MessageText.grouped(read)) rows read were accepted."; return s }
        let reasons = RejectReason.allCases.compactMap { r in ingest.counts["rejected_\(r.rawValue)"].flatMap { $0 > 0 ? (r.rawValue, $0) : nil } }
            .sorted { $0.1 > $1.1 }
        s.lead = ["\(MessageText.grouped(rejected)) of \(MessageText.grouped(read)) rows read were set aside (\(ValueStyle.share(2).format(Double(rejected) / Double(max(read, 1))))), "
                  + "each with its reason, in \(LedgerBuilder.rejectsFile); the run stops when more than \(ValueStyle.share(1).format(spec.maxRejectShare)) are."]
        s.charts = [Charts.bars("Rejected rows by reason", categories: reasons.map(\.0), category: "reason", values: reasons.map { Double($0.1) }, axis: .init("rows", .count), width: 1000)]
        s.tables = [.init(caption: "The first rejected rows of each reason (\(LedgerBuilder.rejectsFile))", columns: ["file", "line", "reason", "row as read", "detail"],
                          numeric: [1], rows: try rejectExamples())]
        return s
    }

    /// The first `examplesPerReason` rows of each reason, from the start of rejects.csv.
    func rejectExamples() throws -> [[String]] {
        let path = folder.latest(LedgerBuilder.rejectsFile)
        guard FilePath.exists(path) else { return [] }
        let head = try FilePath.readPrefix(path, bytes: Self.rejectsBytesRead)
        // A record cut by the byte limit is left out: keep up to the last line break.
        let whole = head.count < Self.rejectsBytesRead ? head[...] : head[..<(head.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)]
        guard case .success(let rows) = CSVRecords.parse(Array(whole)), let header = rows.first?.fields else { return [] }
        var seen: [String: Int] = [:], out: [[String]] = []
        for r in rows.dropFirst() {
            let d = Dictionary(zip(header, r.fields).map { ($0, $1) }, uniquingKeysWith: { a, _ in a })
            let reason = d["reason"] ?? ""
            guard seen[reason, default: 0] < Self.examplesPerReason else { continue }
            seen[reason, default: 0] += 1
            out.append([d["file"] ?? "", d["line"] ?? "", reason, MessageText.excerpt(d["raw"] ?? "", limit: 120), d["detail"] ?? ""])
        }
        return out.sorted { ($0[2], Int($0[1]) ?? 0) < ($1[2], Int($1[1]) ?? 0) }
    }

    func sum(_ rows: [[String: String]], _ key: String) -> Double { rows.reduce(0) { $0 + (Double($1[key] ?? "") ?? 0) } }
}
