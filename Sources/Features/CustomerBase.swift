/// The customer-base models' summary (BG/NBD, Gamma-Gamma) as of date A, one entry per
/// customer with a purchase (a row with amount > 0) on or before A, in customer-number
/// order. Days are whole days; money in the log's currency.
/// - `repeatPurchases` x: distinct purchase days after the first;
/// - `repeatSpanDays` tₓ: last purchase day − first purchase day;
/// - `ageDays` T: A − first purchase day;
/// - `repeatMeanSpend` z̄: the net amount (refunds included) dated after the first purchase
///   day, floored at 0, over x; 0 when x = 0. A refund is netted against the purchases of
///   the period it falls in, and a customer whose refunds exceed their repeat purchases
///   spends nothing per purchase rather than a negative amount (Gamma-Gamma needs z̄ ≥ 0).
public struct CustomerBase: Sendable {
    public let asOf: Int32
    public var customers: [Int32] = []
    public var repeatPurchases: [Int32] = []
    public var repeatSpanDays: [Double] = []
    public var ageDays: [Double] = []
    public var repeatMeanSpend: [Double] = []

    public init(asOf: Int32) { self.asOf = asOf }

    public var count: Int { customers.count }

    /// The column names of `snapshots/summary.csv`, after customer_id (lifetimes' summary
    /// in days: x, t_x, T, zbar).
    public static let columns = ["x", "t_x", "T", "zbar"]
}
