import Foundation
import Linalg
import RetainIO

/// One scored customer's value over the target period T (days), from `scores.csv`.
///
/// - order rate r = frequency / max(tenure_days, minimum tenure): orders per day;
/// - margin m = margin_rate (net amount less cost of goods, over net amount; amounts are
///   net of discounts, so discounting lowers m) or the configured default;
/// - profit per order π = monetary·m − service_cost_per_order (0 without that column);
/// - if retained, over T: revenue R = r·T·monetary and profit P = r·T·π (currency);
/// - with churn probability p: `expectedValue` = (1 − p)·P, `revenueAtRisk` = p·R and
///   `profitAtRisk` = p·P (currency).
public struct CustomerValue: Sendable, Equatable {
    public var ordersPerYear: Double
    public var marginPerOrder: Double
    public var serviceCostPerOrder: Double?
    public var revenueIfRetained: Double
    public var profitIfRetained: Double
    public var expectedValue: Double
    public var revenueAtRisk: Double
    public var profitAtRisk: Double

    public init(probability p: Double, frequency: Double, monetary: Double, tenureDays: Double, marginRate: Double?,
                serviceCostPerOrder: Double?, settings: SegmentSettings) {
        let rate = frequency / max(tenureDays, Double(settings.minimumTenureDays))
        let t = Double(settings.targetDays)
        let m = marginRate.flatMap { $0.isFinite ? $0 : nil } ?? settings.defaultMarginRate
        let service = serviceCostPerOrder.flatMap { $0.isFinite ? $0 : nil }
        ordersPerYear = rate * 365
        marginPerOrder = monetary * m
        self.serviceCostPerOrder = service
        revenueIfRetained = rate * t * monetary
        profitIfRetained = rate * t * (monetary * m - (service ?? 0))
        expectedValue = (1 - p) * profitIfRetained
        revenueAtRisk = p * revenueIfRetained
        profitAtRisk = p * profitIfRetained
    }
}

/// Per segment, what retention work there is to do and what it is worth.
public struct SegmentTarget: Sendable, Equatable {
    public var segment: Segment
    public var customers: Int
    /// Σ p: the churners expected if nothing is done (the baseline).
    public var expectedChurners: Double
    /// Σ p·R (currency).
    public var revenueAtRisk: Double
    /// Σ p·P (currency).
    public var profitAtRisk: Double
    /// ρ: the share of expected churners the segment's programme aims to keep (setting).
    public var targetChurnReduction: Double
    /// ρ·Σ p customers and ρ·Σ p·R revenue kept if the target is reached.
    public var targetRetainedCustomers: Double
    public var targetRetainedRevenue: Double
    /// Break-even spend: ρ·Σ p·P / customers, the profit the target saves spread over every
    /// customer the action reaches (0 when that profit is not positive). Spending more per
    /// customer costs more than reaching the target earns.
    public var maxSpendPerCustomer: Double
}

/// Places every scored customer in exactly one segment, by the first rule that holds
/// (keep-strategic, high-volume, costly-switcher; else drop), and says why in words and
/// numbers. A rule whose data the log lacks is reported unavailable and skipped.
public struct Segmenter: Sendable {
    public let settings: SegmentSettings
    public let accounts: StrategicAccounts?

    public init(settings: SegmentSettings, accounts: StrategicAccounts?) {
        self.settings = settings
        self.accounts = accounts
    }

    public struct Placement: Sendable {
        public var segment: Segment
        public var value: CustomerValue
        public var reason: String
        public var role: StrategicRole?
    }

    public struct Result: Sendable {
        public var placements: [Placement]
        public var targets: [SegmentTarget]
        /// Thresholds the quantile rules resolved to.
        public var valueThreshold: Double
        public var volumeThreshold: Double
        /// One line per rule that could not be applied, and why.
        public var unavailable: [String]
        /// Strategic accounts listed but not among the scored customers.
        public var accountsNotScored: Int
    }

    /// `scores`: `scores.csv` (customer_id, churn_probability, the snapshot's features).
    public func segment(_ scores: CSVTable) throws(SegmentationError) -> Result {
        func required(_ name: String) throws(SegmentationError) -> [Double] {
            guard let c = scores.column(name) else { throw .missingColumn(file: scores.path, column: name) }
            return c
        }
        let p = try required("churn_probability"), frequency = try required("frequency")
        let monetary = try required("monetary"), tenure = try required("tenure_days")
        let margin = scores.column("margin_rate"), service = scores.column("service_cost_per_order")
        let discount = scores.column("discount_share")
        let n = scores.count
        let s = settings

        var unavailable: [String] = []
        if margin == nil {
            unavailable.append("margin: the log has no cost column; value uses segment.default_margin_rate = \(percent(s.defaultMarginRate))")
        }
        if service == nil {
            unavailable.append("costly-switcher by cost to serve: the log has no service_cost column")
        }
        if discount == nil {
            unavailable.append("costly-switcher by discount dependence: the log has no discount column")
        }

        let values = (0..<n).map { i in
            CustomerValue(probability: p[i], frequency: frequency[i], monetary: monetary[i], tenureDays: tenure[i],
                          marginRate: margin?[i], serviceCostPerOrder: service?[i], settings: s)
        }
        let valueThreshold = n > 0 ? Quantile.of(values.map(\.expectedValue), s.strategicValueQuantile) : .nan
        let volumeThreshold = n > 0 ? Quantile.of(values.map(\.ordersPerYear), s.highVolumeQuantile) : .nan
        let topValue = "top \(percent(1 - s.strategicValueQuantile))", topVolume = "top \(percent(1 - s.highVolumeQuantile))"

        var matchedAccounts = 0
        var placements: [Placement] = []
        placements.reserveCapacity(n)
        for i in 0..<n {
            let v = values[i]
            let role = accounts.flatMap { $0.roles.isEmpty ? nil : $0.roles[scores.key(i)] }
            if role != nil { matchedAccounts += 1 }
            // 1. keep-strategic
            if let role {
                placements.append(Placement(segment: .keepStrategic, value: v, reason: "strategic account (\(role.rawValue)); "
                    + "expected value \(money(v.expectedValue)) over \(s.targetDays) days", role: role))
                continue
            }
            if v.expectedValue > 0 && v.expectedValue >= valueThreshold {
                placements.append(Placement(segment: .keepStrategic, value: v, reason: "expected value \(money(v.expectedValue)) over "
                    + "\(s.targetDays) days is in the \(topValue) (at least \(money(valueThreshold)))", role: nil))
                continue
            }
            // 2. high-volume
            if v.ordersPerYear >= volumeThreshold {
                placements.append(Placement(segment: .highVolume, value: v, reason: "\(number(v.ordersPerYear)) orders a year is in the "
                    + "\(topVolume) (at least \(number(volumeThreshold))); expected value \(money(v.expectedValue))", role: nil))
                continue
            }
            // 3. costly-switcher
            if let cost = v.serviceCostPerOrder, v.marginPerOrder <= 0 || cost >= s.costlyCostShare * v.marginPerOrder {
                let share = v.marginPerOrder > 0 ? "takes \(percent(cost / v.marginPerOrder)) of its margin \(money(v.marginPerOrder))"
                    : "while the order earns no margin (\(money(v.marginPerOrder)))"
                placements.append(Placement(segment: .costlySwitcher, value: v, reason: "cost to serve \(money(cost)) per order \(share) "
                    + "(limit \(percent(s.costlyCostShare)))", role: nil))
                continue
            }
            if let d = discount?[i], d.isFinite, d >= s.switcherDiscountShare {
                placements.append(Placement(segment: .costlySwitcher, value: v, reason: "\(percent(d)) of spend bought on discount "
                    + "(limit \(percent(s.switcherDiscountShare))): a deal-driven switcher", role: nil))
                continue
            }
            // 4. drop
            var why = ["expected value \(money(v.expectedValue)) below \(money(valueThreshold))",
                       "\(number(v.ordersPerYear)) orders a year below \(number(volumeThreshold))"]
            if service != nil || discount != nil { why.append("cost to serve and discount use within limits") }
            placements.append(Placement(segment: .drop, value: v, reason: "no keep rule holds: " + why.joined(separator: ", "), role: nil))
        }

        let targets = Segment.allCases.map { seg -> SegmentTarget in
            var t = SegmentTarget(segment: seg, customers: 0, expectedChurners: 0, revenueAtRisk: 0, profitAtRisk: 0,
                                  targetChurnReduction: s.targetChurnReduction[seg] ?? 0, targetRetainedCustomers: 0,
                                  targetRetainedRevenue: 0, maxSpendPerCustomer: 0)
            for (i, pl) in placements.enumerated() where pl.segment == seg {
                t.customers += 1
                t.expectedChurners += p[i]
                t.revenueAtRisk += pl.value.revenueAtRisk
                t.profitAtRisk += pl.value.profitAtRisk
            }
            let rho = t.targetChurnReduction
            t.targetRetainedCustomers = rho * t.expectedChurners
            t.targetRetainedRevenue = rho * t.revenueAtRisk
            t.maxSpendPerCustomer = t.customers > 0 ? max(0, rho * t.profitAtRisk / Double(t.customers)) : 0
            return t
        }
        return Result(placements: placements, targets: targets, valueThreshold: valueThreshold, volumeThreshold: volumeThreshold,
                      unavailable: unavailable, accountsNotScored: (accounts?.roles.count ?? 0) - matchedAccounts)
    }
}

func money(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", x) : "n/a" }
func number(_ x: Double) -> String { x.isFinite ? String(format: "%.1f", x) : "n/a" }
func percent(_ share: Double) -> String {
    guard share.isFinite else { return "n/a" }
    let p = (share * 1000).rounded() / 10  // one decimal: 1 - 0.9 is 0.0999..., shown as 10%
    return p == p.rounded() ? String(format: "%.0f%%", p) : String(format: "%.1f%%", p)
}
