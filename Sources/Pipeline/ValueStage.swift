import Features
import Foundation
import Lifetime
import RetainIO
import Segmentation

/// The value stage: BG/NBD (fitted by the features stage on the customer base as of the
/// scoring date, `snapshots/bgnbd.json`) and Gamma-Gamma fitted on that base's repeat
/// customers (`snapshots/summary.csv`), then per scored customer P(alive), expected purchases
/// over the target period, expected spend and CLV (`value.csv`, `value.json`). A model that
/// cannot be fitted or used is replaced by the fallback `LifetimeValue` states, with one
/// warning; every scored customer gets every figure.
struct ValueStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    let features: RunManifest.StageRecord?

    static let valuesFile = ValueOutputs.valuesFile
    static let modelFile = ValueOutputs.modelFile

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let scoresPath = try folder.upstream(ScoreStage.scoresFile, for: .value, from: .score)
        let summaryPath = try folder.upstream(FeaturesStage.summaryFile, for: .value, from: .features)
        let fitsPath = try folder.upstream(FeaturesStage.bgnbdFile, for: .value, from: .features)
        let dates = try FeaturesStage.dates(in: features, for: .value)
        let steps = StepTimer(.value, reporter: reporter)
        // Both read a block at a time into mapped scratch columns: the fits and the values
        // pass over them without the stage holding a row per customer.
        let scores = try MappedColumns.read(scoresPath, scratch: folder.staging)
        let summary = try MappedColumns.read(summaryPath, scratch: folder.staging)
        steps.done("read \(ScoreStage.scoresFile) and \(FeaturesStage.summaryFile)")
        func column(_ t: MappedColumns, _ name: String, _ file: String) throws -> DoubleColumn {
            guard let c = t.column(name) else {
                throw PipelineError.upstreamMissing(stage: Stage.value.rawValue, needs: Stage.features.rawValue, detail: "\(file) has no \(name) column")
            }
            return c
        }
        let x = try column(summary, "x", FeaturesStage.summaryFile), tx = try column(summary, "t_x", FeaturesStage.summaryFile)
        let T = try column(summary, "T", FeaturesStage.summaryFile), zbar = try column(summary, "zbar", FeaturesStage.summaryFile)

        var warnings: [String] = [], fallbacks: [String] = []
        let (scoringFit, bgnbd) = try purchases(fitsPath, warnings: &warnings, fallbacks: &fallbacks)
        let (gammaGamma, fitSeconds) = spend(x: x, meanSpend: zbar, warnings: &warnings, fallbacks: &fallbacks)
        steps.done("Gamma-Gamma fit")
        for line in fallbacks { reporter.warning("value: " + line) }
        for line in warnings { reporter.warning("value: " + line) }

        var inputs = try Inputs(scores: scores, summary: summary, x: x, tx: tx, T: T, zbar: zbar, segment: spec.segment)
        let model = LifetimeValue(purchases: bgnbd, spend: gammaGamma?.model, settings: spec.value,
                                  targetDays: Double(spec.segment.targetDays), minimumTenureDays: Double(spec.segment.minimumTenureDays))
        // A figure the series could not give (far outside the fitted data) falls back too.
        let fallback = LifetimeValue(purchases: nil, spend: nil, settings: spec.value, targetDays: model.targetDays, minimumTenureDays: model.minimumTenureDays)
        var replaced = 0, totalCLV = 0.0, totalAlive = 0.0
        let aliveMatrix = bgnbd.flatMap { AliveMatrix.make($0, x: x, T: T) }
        try ValueOutputs.write(customers: scores.count, keys: scores, values: { range in
            let block = try inputs.next(range)
            var values = model.values(block)
            let bad = values.indices.filter { ![values[$0].pAlive, values[$0].expectedPurchases, values[$0].expectedSpend, values[$0].clv].allSatisfy(\.isFinite) }
            let redone = fallback.values(bad.map { block[$0] })
            for (k, i) in bad.enumerated() { values[i] = redone[k] }
            replaced += bad.count
            for v in values { totalCLV += v.clv; totalAlive += v.pAlive }
            return values
        }, file: {
            if replaced > 0 {
                let line = "\(replaced) customers' figures were not finite under the fitted models: the fallback gives theirs"
                warnings.append(line); reporter.warning("value: " + line)
            }
            return ValueFile(asOf: CivilDate.iso(dates.scoring), settings: spec.value, targetDays: Int(spec.segment.targetDays),
                             bgnbd: bgnbd == nil ? nil : scoringFit?.fit, gammaGamma: gammaGamma, fallbacks: fallbacks, warnings: warnings,
                             aliveMatrix: aliveMatrix)
        }, staging: folder.stagedPath)
        let customers = scores.count
        steps.done("values of \(MessageText.grouped(customers)) customers; wrote \(Self.valuesFile) and \(Self.modelFile)")

        reporter.info("value: \(MessageText.grouped(customers)) customers, CLV over \(spec.value.horizonMonths) months "
            + "\(MessageText.fixed(totalCLV, 2)) in all; mean P(alive) \(MessageText.fixed(totalAlive / Double(max(customers, 1)), 3))"
            + (bgnbd.map { " (BG/NBD r \(MessageText.fixed($0.r, 4)), alpha \(MessageText.fixed($0.alpha, 2)) days, a \(MessageText.fixed($0.a, 4)), b \(MessageText.fixed($0.b, 4)))" } ?? ""))
        var measures: [String: Double] = ["clv_total": totalCLV, "gamma_gamma_fit_seconds": fitSeconds]
        if let m = bgnbd { for (n, v) in zip(BGNBD.names, m.parameters) { measures["bgnbd_\(n)"] = v } }
        if let g = gammaGamma {
            for (n, v) in zip(GammaGamma.names, g.model.parameters) { measures["gamma_gamma_\(n)"] = v }
            measures["frequency_spend_correlation"] = g.frequencySpendCorrelation
        }
        return clock.record(counts: ["customers": customers, "summary_customers": summary.count,
                                     "repeat_buyers": GammaGamma.repeatCustomers(x: x, meanSpend: zbar)],
                            dates: ["as_of": CivilDate.iso(dates.scoring)], notes: fallbacks.map { "fallback: \($0)" } + warnings, measures: measures)
    }

    /// BG/NBD as the features stage fitted it on the scoring date's base (the scoring
    /// snapshot's columns come from the same fit), or the fallback's reason.
    func purchases(_ path: String, warnings: inout [String], fallbacks: inout [String]) throws -> (BGNBDFile.Entry?, BGNBD?) {
        let fits: BGNBDFile
        do { fits = try BGNBDFile.load(path) } catch {
            throw PipelineError.upstreamMissing(stage: Stage.value.rawValue, needs: Stage.features.rawValue, detail: error.description)
        }
        let entry = fits.snapshots[SnapshotDates.Snapshot.scoring.rawValue]
        guard let model = entry?.model else {
            fallbacks.append("\(entry?.skipped ?? "no BG/NBD fit as of the scoring date"): P(alive) = 1 - churn probability and purchases at the observed rate instead")
            return (entry, nil)
        }
        warnings += entry?.warnings ?? []
        return (entry, model)
    }

    /// Gamma-Gamma on the repeat customers, or the fallback's reason; and the fit's wall time.
    func spend(x: DoubleColumn, meanSpend: DoubleColumn, warnings: inout [String], fallbacks: inout [String]) -> (GammaGamma.Fit?, Double) {
        let start = Date()
        do {
            let g = try GammaGamma.fit(x: x, meanSpend: meanSpend)
            warnings += g.warnings
            guard g.model.parameters.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                fallbacks.append("Gamma-Gamma: its parameters are not usable: each customer's observed mean spend per purchase day instead")
                return (nil, Date().timeIntervalSince(start))
            }
            return (g, Date().timeIntervalSince(start))
        } catch {
            fallbacks.append("\(error.description): each customer's observed mean spend per purchase day instead")
            return (nil, Date().timeIntervalSince(start))
        }
    }

    /// Each scored customer's inputs, a block at a time: the summary's row of the same
    /// customer (both files list customers in the ledger's order, the scored ones a subset),
    /// the churn probability, and the margin and cost to serve as the segment stage takes them.
    struct Inputs {
        let scores: MappedColumns, summary: MappedColumns
        let x: DoubleColumn, tx: DoubleColumn, T: DoubleColumn, zbar: DoubleColumn
        let p: DoubleColumn, frequency: DoubleColumn, monetary: DoubleColumn
        let margin: DoubleColumn?, service: DoubleColumn?
        let segment: SegmentSettings
        /// The summary row the next scored customer is looked for from.
        private var j = 0

        init(scores: MappedColumns, summary: MappedColumns, x: DoubleColumn, tx: DoubleColumn, T: DoubleColumn, zbar: DoubleColumn,
             segment: SegmentSettings) throws {
            func need(_ name: String) throws -> DoubleColumn {
                guard let c = scores.column(name) else {
                    throw PipelineError.upstreamMissing(stage: Stage.value.rawValue, needs: Stage.score.rawValue, detail: "\(ScoreStage.scoresFile) has no \(name) column")
                }
                return c
            }
            self.scores = scores; self.summary = summary; self.x = x; self.tx = tx; self.T = T; self.zbar = zbar; self.segment = segment
            p = try need("churn_probability"); frequency = try need("frequency"); monetary = try need("monetary")
            margin = scores.column("margin_rate"); service = scores.column("service_cost_per_order")
        }

        /// The inputs of scored customers `range`, the ranges asked in order.
        mutating func next(_ range: Range<Int>) throws -> [ValueInput] {
            var out: [ValueInput] = []
            out.reserveCapacity(range.count)
            for i in range {
                while j < summary.count && !scores.sameKey(i, as: summary, j) { j += 1 }
                guard j < summary.count else {
                    throw PipelineError.upstreamMissing(stage: Stage.value.rawValue, needs: Stage.features.rawValue,
                                                        detail: "customer \(MessageText.excerpt(scores.key(i), limit: 60)) of \(ScoreStage.scoresFile) is not in \(FeaturesStage.summaryFile) (in its order)")
                }
                let net = monetary[i].isFinite ? monetary[i] * frequency[i] : 0
                out.append(ValueInput(x: x[j], tx: tx[j], T: T[j], meanSpend: zbar[j], churnProbability: p[i],
                                      observedSpend: max(net, 0) / (x[j] + 1),
                                      marginRate: CustomerValue.margin(margin?[i], settings: segment),
                                      serviceCost: CustomerValue.serviceCost(service?[i]) ?? 0))
                j += 1
            }
            return out
        }
    }
}
