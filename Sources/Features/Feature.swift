import Ledger

/// The features of a customer snapshot as of date A (history = transactions dated <= A).
/// Days are whole days; money is in the log's currency.
public enum Feature: String, CaseIterable, Sendable {
    /// A - day of the last purchase (amount > 0). Days.
    case recencyDays = "recency_days"
    /// Distinct orders with amount > 0 (an order = an order id where mapped, else a row).
    case frequency
    /// Net amount (refunds included) / frequency. Currency per order.
    case monetary
    /// A - day of the first purchase. Days.
    case tenureDays = "tenure_days"
    /// (last purchase - first purchase) / (frequency - 1): the mean gap between
    /// consecutive orders. Days; empty for a single order (no gap exists).
    case meanGapDays = "mean_gap_days"
    /// recency_days / mean_gap_days: how overdue the next order is (1 = on time). Empty
    /// where mean_gap_days is empty or zero.
    case recencyOverGap = "recency_over_gap"
    /// Net amount in (A - W, A]. Currency.
    case spendLastWindow = "spend_last_window"
    /// Net amount in (A - 2W, A - W]. Currency.
    case spendPreviousWindow = "spend_previous_window"
    /// Orders dated in (A - W, A] (an order's date is its first line's).
    case ordersLastWindow = "orders_last_window"
    /// Orders dated in (A - 2W, A - W].
    case ordersPreviousWindow = "orders_previous_window"
    /// Refunded amount / purchased amount (sum of -amount over amount < 0 rows, over the
    /// sum of amount > 0 rows). A share, 0 when nothing was refunded.
    case refundRate = "refund_rate"
    /// Share of the purchased amount bought with a discount (rows with amount > 0 and
    /// discount > 0, over all rows with amount > 0). Needs the discount column.
    case discountShare = "discount_share"
    /// Service cost / frequency. Currency per order; needs the service-cost column.
    case serviceCostPerOrder = "service_cost_per_order"
    /// (net amount - cost) / net amount over rows with a known cost. A share; needs the
    /// cost column; empty when the net amount is zero.
    case marginRate = "margin_rate"
    /// BG/NBD's probability of no purchase in (A, A + H], from a BG/NBD fitted on the
    /// customer-base summary as of A (`CustomerBase`; never on data after A). A share.
    case btydPNoPurchase = "btyd_p_no_purchase"
    /// BG/NBD's expected purchase days in (A, A + H], from the same fit. Purchases.
    case btydExpectedPurchases = "btyd_expected_purchases"

    /// The BG/NBD columns: added to a snapshot by the features stage after its fit, not
    /// summed from the ledger, and left out of the model unless the hybrid asks for them.
    public static let customerBaseModel: [Feature] = [.btydPNoPurchase, .btydExpectedPurchases]

    /// The optional ledger column this feature needs, if any.
    public var needs: LedgerFormat.Columns {
        switch self {
        case .discountShare: return .discount
        case .serviceCostPerOrder: return .serviceCost
        case .marginRate: return .cost
        default: return []
        }
    }

    /// The four docs/CONTRACT.md features every snapshot has.
    public static let contract: [Feature] = [.recencyDays, .frequency, .monetary, .tenureDays]

    /// Features computable from a ledger with `columns`; the others, for the log line
    /// that says which were left out.
    public static func available(with columns: LedgerFormat.Columns) -> (present: [Feature], missing: [Feature]) {
        let summed = allCases.filter { !customerBaseModel.contains($0) }
        return (summed.filter { columns.contains($0.needs) }, summed.filter { !columns.contains($0.needs) })
    }
}

/// Settings of the features stage (pipeline file, `[features]`).
public struct FeatureSettings: Sendable, Equatable {
    /// Churn horizon H: churned = no purchase in (A, A + H]. Days.
    public var horizonDays: Int32 = 90
    /// "Active" = at least one purchase in (A - window, A] (docs/DOMAIN.md). Days.
    public var activeWindowDays: Int32 = 365
    /// Trend window W for the last-W-days against previous-W-days features. Days.
    public var trendWindowDays: Int32 = 90

    public init() {}
}
