import Foundation
import Ledger
import Plans
import RetainIO
import SparkEngine
import Segmentation

/// The evaluate stage: each archived plan whose horizon the data now covers, judged
/// against what its customers did (`evaluation.csv`, `evaluation_calibration.csv`). Reads
/// the ledger and the plans only, so `retain evaluate` runs it alone.
struct EvaluateStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    /// `--plan`: judge only this plan, keeping the other plans' rows of the files.
    let onlyPlan: Int32?

    /// The engine that read the rows: with Spark, the plans' horizons are among its results.
    var engine: RunManifest.EngineRecord? = nil

    /// The plans' outcomes from Spark's results (each due plan's horizon, read with the rows).
    static func outcomes(_ plans: [Plan], from results: SparkResults) throws -> [PlanOutcome] {
        let known = try results.knownCustomers()
        return try plans.map { plan in
            guard results.hasOutcome(plan.asOf) else {
                throw PipelineError.upstreamMissing(stage: Stage.evaluate.rawValue, needs: "ingest",
                                                    detail: "Spark's results hold no horizon figures for the plan of \(CivilDate.iso(plan.asOf)) (archived after the rows were read)")
            }
            let o = try results.outcome(plan.asOf)
            return Evaluator.outcome(plan, horizonIDs: o.ids, bought: o.bought, revenue: o.revenue, known: known)
        }
    }

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let steps = StepTimer(.evaluate, reporter: reporter)
        // The data's last day, from a view that builds no ids (cheap); the ids only when a
        // plan is to be judged.
        let spark = engine?.kind == "spark" ? engine?.results.map(SparkResults.init(root:)) : nil
        let lastDay = try spark.map { try $0.span()?.last } ?? folder.ledgerView(for: .evaluate, numbering: .dense).lastDay
        // The plans as this run will publish them: the one staged now, and the published
        // ones the publish keeps. Their records first; the customers of those to judge only.
        let staged = Set(PlanArchive.list(in: folder.staging))
        let published = PlanArchive.list(in: folder.path).filter { !folder.leavesOut(PlanArchive.relative($0)) }
        let archived = staged.union(published).sorted()
        func dir(_ asOf: Int32) -> String {
            let relative = PlanArchive.relative(asOf)
            return staged.contains(asOf) ? FilePath.join(folder.staging, relative) : folder.publishedPath(relative)
        }
        if let only = onlyPlan {
            let name = CivilDate.iso(only)
            guard archived.contains(only) else {
                throw PlansError.planNotAvailable(asOf: name, detail: "not in \(folder.publishedPath(PlanArchive.folder)) "
                    + "(archived: \(archived.isEmpty ? "none" : archived.map(CivilDate.iso).joined(separator: ", "))); make it with retain run --as-of \(name)")
            }
        }
        var due: [Int32] = []
        var waiting: [(asOf: Int32, horizonEnd: Int32)] = []
        var damaged: [String] = []
        /// A damaged plan: the error of `--plan`, else set aside with a warning.
        func setAside(_ error: PlansError) throws {
            if onlyPlan != nil { throw error }
            damaged.append("\(error)")
            reporter.warning("evaluate: \(error)")
        }
        for asOf in archived where onlyPlan == nil || onlyPlan == asOf {
            do {
                let (_, _, end) = try PlanArchive.loadRecord(dir(asOf))
                if let lastDay, end <= lastDay { due.append(asOf) } else { waiting.append((asOf, end)) }
            } catch { try setAside(error) }
        }
        // The plans due, read side by side (each is every scored customer of its day).
        let loaded = Slots<Result<Plan, PlansError>>(count: due.count)
        Workers.run(due.count) { k in loaded[k] = Result { () throws(PlansError) in try PlanArchive.load(dir(due[k])) } }
        var plans: [Plan] = []
        for k in due.indices {
            switch loaded[k] {
            case .success(let plan): plans.append(plan)
            case .failure(let error): try setAside(error)
            case nil: continue
            }
        }
        if let only = onlyPlan, let w = waiting.first {
            throw PlansError.planNotAvailable(asOf: CivilDate.iso(only), detail: "its horizon ends \(CivilDate.iso(w.horizonEnd)), after the data's last day "
                + "\(lastDay.map(CivilDate.iso) ?? "(no data)"); it can be judged once the log reaches \(CivilDate.iso(w.horizonEnd))")
        }
        steps.done("read \(plans.count + waiting.count) archived plans")
        let outcomes = plans.isEmpty ? [] : try spark.map { try Self.outcomes(plans, from: $0) }
            ?? Evaluator.outcomes(plans, view: try folder.ledgerView(for: .evaluate, numbering: .byID))
        let evaluations = zip(plans, outcomes).map { Evaluator.evaluate($0, $1) }
        steps.done("outcomes of \(plans.count) plans over their horizons")
        try EvaluationOutputs.write(evaluations, keeping: onlyPlan == nil ? [] : Set(archived.map(CivilDate.iso)),
                                    previous: { name in let p = folder.publishedPath(name); return FilePath.exists(p) ? p : nil },
                                    staging: folder.stagedPath)

        var notes: [String] = []
        for e in evaluations {
            let line = Self.summary(e)
            notes.append(line)
            reporter.info("evaluate: " + line)
        }
        if evaluations.isEmpty {
            let line = Self.nothingToJudge(waiting: waiting, lastDay: lastDay)
            notes.append(line)
            reporter.info("evaluate: " + line)
        }
        notes += damaged.map { "damaged: \($0)" }
        return clock.record(counts: ["plans_archived": archived.count, "plans_judged": evaluations.count,
                                     "plans_waiting": waiting.count, "plans_damaged": damaged.count],
                            notes: notes)
    }

    /// One line per judged plan: what the groups with a target achieved.
    static func summary(_ e: PlanEvaluation) -> String {
        let groups = e.groups.filter { $0.targetChurnReduction > 0 && $0.customers > 0 }.map { g -> String in
            let effect = g.effect.map { "effect \(points($0.estimate)) points (95% \(points($0.low)) to \(points($0.high)))" } ?? "no effect measurable"
            return "\(g.segment.rawValue) \(effect), target \(g.targetReached.rawValue)"
        }
        let all = e.groups.reduce((0, 0.0, 0)) { ($0.0 + $1.customers, $0.1 + $1.predicted, $0.2 + $1.churners) }
        return "plan \(CivilDate.iso(e.asOf)) (horizon to \(CivilDate.iso(e.horizonEnd))): \(MessageText.grouped(all.0)) customers, "
            + "\(MessageText.grouped(Int(all.1.rounded()))) churners predicted, \(MessageText.grouped(all.2)) churned"
            + (groups.isEmpty ? "" : "; " + groups.joined(separator: "; "))
    }

    /// Why no plan was judged, and when the first one can be.
    static func nothingToJudge(waiting: [(asOf: Int32, horizonEnd: Int32)], lastDay: Int32?) -> String {
        guard let first = waiting.min(by: { $0.horizonEnd < $1.horizonEnd }) else {
            return "no archived plan to judge yet (each run keeps its plan in plans/; a plan is judged once the data covers its horizon)"
        }
        return "no archived plan's horizon has passed, so there are no arms to compare yet: the first, \(CivilDate.iso(first.asOf)), "
            + "can be judged once the data reaches \(CivilDate.iso(first.horizonEnd)) (the data ends \(lastDay.map(CivilDate.iso) ?? "with no rows"))"
    }

    static func points(_ share: Double) -> String {
        (share >= 0 ? "+" : "") + MessageText.fixed(100 * share, 1)
    }
}
