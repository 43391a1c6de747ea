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
        let m = Self.margin(marginRate, settings: settings)
        let service = Self.serviceCost(serviceCostPerOrder)
        ordersPerYear = rate * 365
        marginPerOrder = monetary * m
        self.serviceCostPerOrder = service
        revenueIfRetained = rate * t * monetary
        profitIfRetained = rate * t * (monetary * m - (service ?? 0))
        expectedValue = (1 - p) * profitIfRetained
        revenueAtRisk = p * revenueIfRetained
        profitAtRisk = p * profitIfRetained
    }

    /// The margin rate m a customer's value uses: its own `margin_rate` where the log has
    /// costs and it is defined, else `segment.default_margin_rate`. A share.
    public static func margin(_ marginRate: Double?, settings: SegmentSettings) -> Double {
        marginRate.flatMap { $0.isFinite ? $0 : nil } ?? settings.defaultMarginRate
    }

    /// The cost to serve per order, where the log has it. Currency per order.
    public static func serviceCost(_ perOrder: Double?) -> Double? {
        perOrder.flatMap { $0.isFinite ? $0 : nil }
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
    /// Σ p·CLV (currency), where the value stage ran.
    public var clvAtRisk: Double? = nil

    public init(segment: Segment, customers: Int, expectedChurners: Double, revenueAtRisk: Double, profitAtRisk: Double,
                targetChurnReduction: Double, targetRetainedCustomers: Double, targetRetainedRevenue: Double,
                maxSpendPerCustomer: Double, clvAtRisk: Double? = nil) {
        self.segment = segment; self.customers = customers; self.expectedChurners = expectedChurners
        self.revenueAtRisk = revenueAtRisk; self.profitAtRisk = profitAtRisk; self.targetChurnReduction = targetChurnReduction
        self.targetRetainedCustomers = targetRetainedCustomers; self.targetRetainedRevenue = targetRetainedRevenue
        self.maxSpendPerCustomer = maxSpendPerCustomer; self.clvAtRisk = clvAtRisk
    }
}

/// The value stage's figures per scored customer (`value.csv`), in `scores.csv`'s order.
public struct LifetimeColumns: Sendable {
    public var pAlive: [Double]
    public var expectedPurchases: [Double]
    public var clv: [Double]
    /// The CLV horizon, for the reasons' wording.
    public var horizonMonths: Int

    public init(pAlive: [Double], expectedPurchases: [Double], clv: [Double], horizonMonths: Int) {
        self.pAlive = pAlive; self.expectedPurchases = expectedPurchases; self.clv = clv; self.horizonMonths = horizonMonths
    }
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

    /// Which rule placed a customer; the reason text is written from it on demand (a
    /// formatted sentence per customer cost more than the whole rest of the stage).
    public enum Rule: Sendable, Equatable {
        case strategicAccount(StrategicRole)
        case topValue
        case topVolume
        case costToServe
        case discountDependence(Double)
        case noRule
    }

    public struct Placement: Sendable {
        public var segment: Segment
        public var value: CustomerValue
        public var rule: Rule
        public var role: StrategicRole? {
            if case .strategicAccount(let r) = rule { return r }
            return nil
        }
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
        public let settings: SegmentSettings
        /// Whether cost-to-serve or discount data existed (the drop reason mentions them).
        let hadCostRules: Bool
        /// The value stage's figures; keep-strategic's rule and the reasons use the CLV.
        public let lifetime: LifetimeColumns?

        /// The value the keep-strategic rule ranks customer `i` by: CLV where the value stage
        /// ran, else the expected value over the target period.
        public func rankedValue(_ i: Int) -> Double { lifetime?.clv[i] ?? placements[i].value.expectedValue }

        /// "CLV 123.45 over 12 months" or "expected value 12.34 over 90 days".
        private func appendValue(_ i: Int, _ b: OutputBuffer, horizon: Bool = true) throws {
            if let l = lifetime {
                try b.append("CLV ")
                try b.appendFixed(l.clv[i], decimals: 2)
                if horizon { try b.append(" over \(l.horizonMonths) months") }
            } else {
                try b.append("expected value ")
                try b.appendFixed(placements[i].value.expectedValue, decimals: 2)
                if horizon { try b.append(" over \(settings.targetDays) days") }
            }
        }

        /// `reason` of docs/CONTRACT.md for placement `i`: which rule, in words and numbers.
        public func reason(_ i: Int) -> String {
            let b = OutputBuffer(memoryCapacity: 256)
            try? writeReason(i, to: b)
            return String(decoding: b.contents, as: UTF8.self)
        }

        /// Writes the reason of placement `i` (plain text; callers quote it as a CSV field).
        public func writeReason(_ i: Int, to b: OutputBuffer) throws {
            let pl = placements[i], v = pl.value, s = settings
            switch pl.rule {
            case .strategicAccount(let role):
                try b.append("strategic account (\(role.rawValue)); ")
                try appendValue(i, b)
            case .topValue:
                try appendValue(i, b)
                try b.append(" is in the top ")
                try appendPercent(1 - s.strategicValueQuantile, b)
                try b.append(" (at least ")
                try b.appendFixed(valueThreshold, decimals: 2)
                try b.append(")")
            case .topVolume:
                try b.appendFixed(v.ordersPerYear, decimals: 1)
                try b.append(" orders a year is in the top ")
                try appendPercent(1 - s.highVolumeQuantile, b)
                try b.append(" (at least ")
                try b.appendFixed(volumeThreshold, decimals: 1)
                try b.append("); ")
                try appendValue(i, b, horizon: false)
            case .costToServe:
                try b.append("cost to serve ")
                try b.appendFixed(v.serviceCostPerOrder ?? .nan, decimals: 2)
                if v.marginPerOrder > 0 {
                    try b.append(" per order takes ")
                    try appendPercent((v.serviceCostPerOrder ?? 0) / v.marginPerOrder, b)
                    try b.append(" of its margin ")
                    try b.appendFixed(v.marginPerOrder, decimals: 2)
                } else {
                    try b.append(" per order while the order earns no margin (")
                    try b.appendFixed(v.marginPerOrder, decimals: 2)
                    try b.append(")")
                }
                try b.append(" (limit ")
                try appendPercent(s.costlyCostShare, b)
                try b.append(")")
            case .discountDependence(let d):
                try appendPercent(d, b)
                try b.append(" of spend bought on discount (limit ")
                try appendPercent(s.switcherDiscountShare, b)
                try b.append("): a deal-driven switcher")
            case .noRule:
                try b.append("no keep rule holds: ")
                try appendValue(i, b, horizon: false)
                try b.append(" below ")
                try b.appendFixed(valueThreshold, decimals: 2)
                try b.append(", ")
                try b.appendFixed(v.ordersPerYear, decimals: 1)
                try b.append(" orders a year below ")
                try b.appendFixed(volumeThreshold, decimals: 1)
                if hadCostRules { try b.append(", cost to serve and discount use within limits") }
            }
        }

        /// A share as a percentage with at most one decimal ("10%", "12.5%").
        private func appendPercent(_ share: Double, _ b: OutputBuffer) throws {
            let p = (share * 1000).rounded() / 10  // 1 - 0.9 is 0.0999...: shown as 10%
            try b.appendFixed(p, decimals: p == p.rounded() ? 0 : 1)
            try b.append(byte: UInt8(ascii: "%"))
        }
    }

    /// `scores`: `scores.csv` (customer_id, churn_probability, the snapshot's features).
    /// `lifetime`: the value stage's figures, when it ran (keep-strategic then ranks by CLV).
    public func segment(_ scores: CSVTable, lifetime: LifetimeColumns? = nil) throws(SegmentationError) -> Result {
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
            unavailable.append("margin: the log has no cost column; value uses segment.default_margin_rate = \(MessageText.sharePercent(s.defaultMarginRate))")
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
        let ranked = lifetime?.clv ?? values.map(\.expectedValue)
        let valueThreshold = n > 0 ? Quantile.of(ranked, s.strategicValueQuantile) : .nan
        let volumeThreshold = n > 0 ? Quantile.of(values.map(\.ordersPerYear), s.highVolumeQuantile) : .nan
        var matchedAccounts = 0
        var placements: [Placement] = []
        placements.reserveCapacity(n)
        let roles = accounts?.roles ?? [:]
        for i in 0..<n {
            let v = values[i]
            let role = roles.isEmpty ? nil : roles[scores.key(i)]
            let rule: Rule
            let segment: Segment
            if let role {
                matchedAccounts += 1
                (segment, rule) = (.keepStrategic, .strategicAccount(role))
            } else if ranked[i] > 0 && ranked[i] >= valueThreshold {
                (segment, rule) = (.keepStrategic, .topValue)
            } else if v.ordersPerYear >= volumeThreshold {
                (segment, rule) = (.highVolume, .topVolume)
            } else if let cost = v.serviceCostPerOrder, v.marginPerOrder <= 0 || cost >= s.costlyCostShare * v.marginPerOrder {
                (segment, rule) = (.costlySwitcher, .costToServe)
            } else if let d = discount?[i], d.isFinite, d >= s.switcherDiscountShare {
                (segment, rule) = (.costlySwitcher, .discountDependence(d))
            } else {
                (segment, rule) = (.drop, .noRule)
            }
            placements.append(Placement(segment: segment, value: v, rule: rule))
        }

        var targets = Segment.allCases.map { seg in
            SegmentTarget(segment: seg, customers: 0, expectedChurners: 0, revenueAtRisk: 0, profitAtRisk: 0,
                          targetChurnReduction: s.targetChurnReduction[seg] ?? 0, targetRetainedCustomers: 0,
                          targetRetainedRevenue: 0, maxSpendPerCustomer: 0, clvAtRisk: lifetime == nil ? nil : 0)
        }
        for (i, pl) in placements.enumerated() {
            let k = Segment.allCases.firstIndex(of: pl.segment) ?? 0
            targets[k].customers += 1
            targets[k].expectedChurners += p[i]
            targets[k].revenueAtRisk += pl.value.revenueAtRisk
            targets[k].profitAtRisk += pl.value.profitAtRisk
            if let l = lifetime { targets[k].clvAtRisk = (targets[k].clvAtRisk ?? 0) + p[i] * l.clv[i] }
        }
        for k in targets.indices {
            let rho = targets[k].targetChurnReduction
            targets[k].targetRetainedCustomers = rho * targets[k].expectedChurners
            targets[k].targetRetainedRevenue = rho * targets[k].revenueAtRisk
            targets[k].maxSpendPerCustomer = targets[k].customers > 0 ? max(0, rho * targets[k].profitAtRisk / Double(targets[k].customers)) : 0
        }
        return Result(placements: placements, targets: targets, valueThreshold: valueThreshold, volumeThreshold: volumeThreshold,
                      unavailable: unavailable, accountsNotScored: (accounts?.roles.count ?? 0) - matchedAccounts,
                      settings: s, hadCostRules: service != nil || discount != nil, lifetime: lifetime)
    }
}

