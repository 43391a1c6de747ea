/// The four groups of docs/CONTRACT.md, in the order their rules are tried.
public enum Segment: String, CaseIterable, Sendable, Codable {
    case keepStrategic = "keep-strategic"
    case highVolume = "high-volume"
    case costlySwitcher = "costly-switcher"
    case drop
}

/// The roles that make a customer strategically important beyond its own spend (docs/DOMAIN.md).
public enum StrategicRole: String, CaseIterable, Sendable {
    case benchmark, inspiration
    case doorOpener = "door-opener"
    case technologyPartner = "technology-partner"
}

/// How often retention is measured: the repurchase cycle of the business (docs/DOMAIN.md).
public enum HistoryPeriod: String, CaseIterable, Sendable {
    case week, month, quarter, year
}

/// Settings of the segment stage (pipeline file, `[segment]`). Shares are 0...1.
public struct SegmentSettings: Sendable, Equatable {
    /// The period values and targets are computed for, in days (default: the churn horizon,
    /// the period the churn probability speaks about).
    public var targetDays: Int32 = 90
    /// Margin rate assumed where the log has no cost column (or a customer's margin is
    /// undefined because its net amount is zero).
    public var defaultMarginRate: Double = 0.30
    /// keep-strategic: CLV (the value stage's) at or above this quantile of all scored
    /// customers' CLV; without the value stage, the expected value over the target period.
    public var strategicValueQuantile: Double = 0.90
    /// Optional CSV of strategic accounts: customer_id, role (absolute path).
    public var strategicAccounts: String? = nil
    /// high-volume: orders a year at or above this quantile.
    public var highVolumeQuantile: Double = 0.80
    /// costly-switcher: cost to serve per order at or above this share of the order's
    /// gross margin ...
    public var costlyCostShare: Double = 0.50
    /// ... or at least this share of spend bought on discount (the deal-driven switcher).
    public var switcherDiscountShare: Double = 0.50
    /// Target churn reduction per segment: the share of its expected churners to keep.
    public var targetChurnReduction: [Segment: Double] = [
        .keepStrategic: 0.25, .highVolume: 0.15, .costlySwitcher: 0.05, .drop: 0,
    ]
    /// Order rates use at least this many days of tenure, so a customer first seen last
    /// week with one order is not "an order a week".
    public var minimumTenureDays: Int32 = 30
    public var historyPeriod: HistoryPeriod = .quarter
    public var historyPeriods: Int = 8

    public init() {}
}
