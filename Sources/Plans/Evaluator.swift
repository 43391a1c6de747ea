import ChurnModel
import Ledger
import RetainIO
import Segmentation

/// What happened to a plan's customers in the plan's horizon (as-of, as-of + H].
public struct PlanOutcome: Sendable {
    /// Per plan customer: a purchase (a row with amount > 0) in the horizon.
    public var bought: [Bool]
    /// Per plan customer: the net amount of its rows in the horizon (refunds included; currency).
    public var revenue: [Double]
    /// Per plan customer: whether the ledger has the customer at all (a plan made from
    /// other data may name customers it no longer holds; they are left out and counted).
    public var inLedger: [Bool]
}

/// One group of one plan, both arms.
public struct GroupEvaluation: Sendable {
    public var segment: Segment
    public var targetCustomers = 0, controlCustomers = 0
    /// Σ p per arm: the churners the plan's model expected.
    public var targetPredicted = 0.0, controlPredicted = 0.0
    /// Customers with no purchase in the horizon, per arm.
    public var targetChurners = 0, controlChurners = 0
    /// Net revenue in the horizon per arm (currency).
    public var targetRevenue = 0.0, controlRevenue = 0.0
    /// The measured effect: control churn rate − target churn rate (proportion points;
    /// positive = the action kept customers), with Newcombe's 95% interval. nil when an
    /// arm is empty.
    public var effect: (estimate: Double, low: Double, high: Double)?
    /// Revenue per customer, target − control, with Welch's 95% interval (currency).
    public var revenueDifference: (estimate: Double, low: Double, high: Double)?
    /// ρ, the share of expected churners the group's programme aimed to keep.
    public var targetChurnReduction = 0.0
    /// yes / no / cannot tell / no target.
    public var targetReached = TargetReached.cannotTell
    public var notes: [String] = []

    public var customers: Int { targetCustomers + controlCustomers }
    public var predicted: Double { targetPredicted + controlPredicted }
    public var churners: Int { targetChurners + controlChurners }
    public var targetChurnRate: Double { targetCustomers > 0 ? Double(targetChurners) / Double(targetCustomers) : .nan }
    public var controlChurnRate: Double { controlCustomers > 0 ? Double(controlChurners) / Double(controlCustomers) : .nan }
    /// The effect the plan's target asked for: ρ × the target arm's predicted churn rate
    /// (Σp / n), proportion points.
    public var requiredEffect: Double { targetCustomers > 0 ? targetChurnReduction * targetPredicted / Double(targetCustomers) : .nan }
}

public enum TargetReached: String, Sendable {
    case yes, no
    case cannotTell = "cannot tell"
    case noTarget = "no target"
}

/// A plan judged against what happened in its horizon.
public struct PlanEvaluation: Sendable {
    public var asOf: Int32
    public var horizonEnd: Int32
    public var groups: [GroupEvaluation]
    /// Predicted against actual churn of the customers who got no action (the control
    /// arms, and every customer of a group without a target): the model's calibration on
    /// the plan, untouched by the programme. nil when there are none.
    public var calibration: Metrics?
    /// Plan customers the ledger no longer has.
    public var notInLedger: Int
}

/// Judges archived plans: what their customers did in each plan's horizon, per group and arm.
public enum Evaluator {
    /// Each plan's outcome, from one pass over the ledger per batch of plans (each plan maps
    /// every ledger customer to its row: 4 bytes a customer, so batches bound the memory).
    /// `view` must number customers by id (`LedgerView.Numbering.byID`).
    public static func outcomes(_ plans: [Plan], view: LedgerView) throws -> [PlanOutcome] {
        let perBatch = max(1, (256 << 20) / max(1, 4 * view.customerCount))
        var result: [PlanOutcome] = []
        var start = 0
        while start < plans.count {
            let batch = Array(plans[start..<min(plans.count, start + perBatch)])
            start += batch.count
            let mapped = Slots<([Int32], [Bool])>(count: batch.count)
            let ledgerIDs = view.customerIDs
            Workers.run(batch.count) { k in mapped[k] = rowMap(batch[k].ids, ledgerIDs) }
            var maps: [[Int32]] = []
            var outcomes: [PlanOutcome] = []
            for (k, plan) in batch.enumerated() {
                let (map, found) = mapped[k] ?? ([Int32](repeating: -1, count: ledgerIDs.count), [Bool](repeating: false, count: plan.ids.count))
                maps.append(map)
                outcomes.append(PlanOutcome(bought: [Bool](repeating: false, count: plan.ids.count),
                                            revenue: [Double](repeating: 0, count: plan.ids.count), inLedger: found))
            }
            let from = batch.map(\.asOf), to = batch.map(\.horizonEnd)
            let earliest = from.min() ?? 0, latest = to.max() ?? 0
            try view.forEachChunk { customers, chunk in
                for r in 0..<chunk.count {
                    let d = chunk.day[r]
                    guard d > earliest, d <= latest else { continue }
                    let c = Int(customers[r])
                    guard c >= 0 else { continue }
                    let a = chunk.amount[r]
                    for k in 0..<batch.count where d > from[k] && d <= to[k] {
                        let row = Int(maps[k][c])
                        guard row >= 0 else { continue }
                        if a > 0 { outcomes[k].bought[row] = true }
                        outcomes[k].revenue[row] += a
                    }
                }
            }
            result += outcomes
        }
        return result
    }

    /// Ledger customer number -> plan row (-1: not in the plan), by merging the plan's ids
    /// and the ledger's, both in byte order; and per plan row whether the ledger has it.
    static func rowMap(_ ids: [String], _ ledgerIDs: [String]) -> ([Int32], [Bool]) {
        var map = [Int32](repeating: -1, count: ledgerIDs.count)
        var found = [Bool](repeating: false, count: ids.count)
        let order = LedgerView.byteOrder(ids)
        var j = 0
        for o in order {
            let id = ids[Int(o)]
            while j < ledgerIDs.count && ledgerIDs[j].utf8.lexicographicallyPrecedes(id.utf8) { j += 1 }
            if j < ledgerIDs.count && ledgerIDs[j] == id {
                map[j] = o
                found[Int(o)] = true
                j += 1
            }
        }
        return (map, found)
    }

    /// The plan's groups and calibration from its outcome.
    public static func evaluate(_ plan: Plan, _ outcome: PlanOutcome) -> PlanEvaluation {
        var groups = Segment.allCases.map { s in
            var g = GroupEvaluation(segment: s)
            g.targetChurnReduction = plan.targetChurnReduction[s] ?? 0
            return g
        }
        var revenues = Segment.allCases.map { _ in (target: [Double](), control: [Double]()) }
        var untreatedP: [Double] = [], untreatedChurned: [Double] = []
        var missing = 0
        for i in 0..<plan.ids.count {
            guard outcome.inLedger[i] else { missing += 1; continue }
            let k = Segment.allCases.firstIndex(of: plan.segments[i]) ?? 0
            let churned = !outcome.bought[i], p = plan.probabilities[i], r = outcome.revenue[i]
            if plan.arms[i] == .control {
                groups[k].controlCustomers += 1; groups[k].controlPredicted += p
                groups[k].controlRevenue += r; revenues[k].control.append(r)
                if churned { groups[k].controlChurners += 1 }
            } else {
                groups[k].targetCustomers += 1; groups[k].targetPredicted += p
                groups[k].targetRevenue += r; revenues[k].target.append(r)
                if churned { groups[k].targetChurners += 1 }
            }
            if plan.arms[i] == .control || groups[k].targetChurnReduction == 0 {
                untreatedP.append(p); untreatedChurned.append(churned ? 1 : 0)
            }
        }
        for k in groups.indices { judge(&groups[k], revenues[k].target, revenues[k].control) }
        return PlanEvaluation(asOf: plan.asOf, horizonEnd: plan.horizonEnd, groups: groups,
                              calibration: untreatedP.isEmpty ? nil : Metrics(predicted: untreatedP, observed: untreatedChurned),
                              notInLedger: missing)
    }

    /// The effect, the revenue difference and whether the target was reached.
    ///
    /// The plan's target was to keep ρ of the target arm's expected churners
    /// (`target_retained_customers` = ρ·Σp), a churn rate lower by ρ·Σp/n: the required
    /// effect. Reached: yes when the effect's whole interval is at or above it, no when the
    /// whole interval is below it, cannot tell when the interval straddles it.
    static func judge(_ g: inout GroupEvaluation, _ target: [Double], _ control: [Double]) {
        g.effect = Intervals.newcombe(g.controlChurners, g.controlCustomers, g.targetChurners, g.targetCustomers)
        let (mt, vt) = meanAndVariance(target), (mc, vc) = meanAndVariance(control)
        g.revenueDifference = Intervals.welch(mean1: mt, variance1: vt, n1: target.count, mean2: mc, variance2: vc, n2: control.count)
        if g.controlCustomers == 0 { g.notes.append("no control customers: no effect can be measured") }
        if g.targetCustomers == 0 { g.notes.append("no target customers") }
        guard g.targetChurnReduction > 0 else { g.targetReached = .noTarget; return }
        guard let e = g.effect else { g.targetReached = .cannotTell; return }
        let required = g.requiredEffect
        g.targetReached = e.low >= required ? .yes : e.high < required ? .no : .cannotTell
    }

    /// Mean and sample variance (n − 1), by two passes.
    static func meanAndVariance(_ x: [Double]) -> (Double, Double) {
        guard !x.isEmpty else { return (.nan, .nan) }
        let m = x.reduce(0, +) / Double(x.count)
        guard x.count > 1 else { return (m, .nan) }
        return (m, x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1))
    }
}

extension Evaluator {
    /// A plan's outcome from another engine's per-customer figures over its horizon:
    /// `horizonIDs` (customer_id byte order) with `bought` (1 = a purchase) and net
    /// `revenue`; `known`, also in byte order, the customers the data holds at all (a
    /// plan customer found in neither is left out, as `outcomes(_:view:)` leaves out one
    /// the ledger lacks).
    public static func outcome(_ plan: Plan, horizonIDs: [String], bought: [Double], revenue: [Double], known: [String]) -> PlanOutcome {
        var outcome = PlanOutcome(bought: [Bool](repeating: false, count: plan.ids.count),
                                  revenue: [Double](repeating: 0, count: plan.ids.count),
                                  inLedger: [Bool](repeating: false, count: plan.ids.count))
        func merge(_ ids: [String], _ found: (Int, Int) -> Void) {
            var j = 0
            for (i, id) in plan.ids.enumerated() {
                while j < ids.count && ids[j].utf8.lexicographicallyPrecedes(id.utf8) { j += 1 }
                if j < ids.count && ids[j] == id { found(i, j) }
            }
        }
        merge(known) { i, _ in outcome.inLedger[i] = true }
        merge(horizonIDs) { i, j in
            outcome.inLedger[i] = true
            outcome.bought[i] = bought[j] == 1
            outcome.revenue[i] = revenue[j]
        }
        return outcome
    }
}
