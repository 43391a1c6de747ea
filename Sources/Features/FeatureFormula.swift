/// The definitions of a snapshot's features, as data: per-customer sums over the history
/// rows (`CustomerSum`), and per feature a formula over those sums and the as-of date
/// (`Formula`). The snapshot builder evaluates the formulas over its running sums; the
/// Spark engine renders the same sums and formulas as SQL. One definition, two engines.

/// A per-customer aggregate over the rows dated on or before A (history), with W the trend
/// window. Every sum of no rows is 0; a day of no rows does not exist (an active customer
/// always has one).
public enum CustomerSum: String, CaseIterable, Sendable {
    /// min(day) over rows with amount > 0. Day number.
    case firstPurchaseDay = "first_purchase_day"
    /// max(day) over rows with amount > 0. Day number.
    case lastPurchaseDay = "last_purchase_day"
    /// Distinct orders with amount > 0 (an order = an order id where mapped, else a row).
    case orders
    /// Orders dated in (A - W, A] (an order's date is its first line's).
    case ordersLast = "orders_last"
    /// Orders dated in (A - 2W, A - W].
    case ordersPrevious = "orders_previous"
    /// sum(amount), refunds included. Currency.
    case net
    /// sum(amount) over amount > 0. Currency.
    case purchased
    /// sum(-amount) over amount < 0. Currency.
    case refunded
    /// sum(amount) over day in (A - W, A]. Currency.
    case spendLast = "spend_last"
    /// sum(amount) over day in (A - 2W, A - W]. Currency.
    case spendPrevious = "spend_previous"
    /// sum(amount) over amount > 0 and discount > 0. Currency.
    case discounted
    /// sum(service cost) over rows with a service cost. Currency.
    case service
    /// sum(cost) over rows with a cost. Currency.
    case cost
    /// sum(amount) over rows with a cost. Currency.
    case costedAmount = "costed_amount"
    /// Distinct days with a purchase (amount > 0).
    case purchaseDays = "purchase_days"
    /// sum(amount) over rows dated after the customer's first purchase day. Currency.
    case repeatNet = "repeat_net"

    /// What a row must satisfy to count (all of them).
    public var filter: [RowCondition] {
        switch self {
        case .firstPurchaseDay, .lastPurchaseDay, .orders, .purchased: return [.purchase]
        case .ordersLast: return [.purchase, .inLastWindow]
        case .ordersPrevious: return [.purchase, .inPreviousWindow]
        case .net: return []
        case .refunded: return [.refund]
        case .spendLast: return [.inLastWindow]
        case .spendPrevious: return [.inPreviousWindow]
        case .discounted: return [.purchase, .discounted]
        case .service: return [.hasServiceCost]
        case .cost, .costedAmount: return [.hasCost]
        case .purchaseDays: return [.purchase]
        case .repeatNet: return [.afterFirstPurchase]
        }
    }

    /// How the counted rows become one number.
    public var aggregate: RowAggregate {
        switch self {
        case .firstPurchaseDay: return .earliestDay
        case .lastPurchaseDay: return .latestDay
        case .orders, .ordersLast, .ordersPrevious: return .distinctOrders
        case .net, .purchased, .spendLast, .spendPrevious, .discounted, .costedAmount, .repeatNet: return .sum(.amount)
        case .purchaseDays: return .distinctDays
        case .refunded: return .sum(.negatedAmount)
        case .service: return .sum(.serviceCost)
        case .cost: return .sum(.cost)
        }
    }
}

/// A condition on one history row (day d, as of A, trend window W).
public enum RowCondition: Sendable {
    /// amount > 0.
    case purchase
    /// amount < 0.
    case refund
    /// A - W < d (d <= A holds for every history row); for orders, d = the order's first line's day.
    case inLastWindow
    /// A - 2W < d <= A - W.
    case inPreviousWindow
    /// discount > 0.
    case discounted
    /// The row has a service cost.
    case hasServiceCost
    /// The row has a cost.
    case hasCost
    /// d > the customer's first purchase day (`CustomerSum.firstPurchaseDay`).
    case afterFirstPurchase
}

/// How a `CustomerSum` combines its rows.
public enum RowAggregate: Sendable {
    case sum(RowMeasure)
    case earliestDay
    case latestDay
    /// Distinct orders, each dated by its first line (with amount > 0).
    case distinctOrders
    /// Distinct days.
    case distinctDays
}

/// The number a summed row contributes.
public enum RowMeasure: Sendable {
    case amount, negatedAmount, serviceCost, cost
}

/// A feature's value from a customer's sums and the as-of date A, in Double arithmetic in
/// the order written (so both engines round alike). `nil` otherwise = the value is empty.
public indirect enum Formula: Sendable {
    case sum(CustomerSum)
    /// A, the snapshot's as-of day number.
    case asOf
    case number(Double)
    /// a - b.
    case difference(Formula, Formula)
    /// a / b.
    case ratio(Formula, Formula)
    /// max(a, b).
    case larger(Formula, Formula)
    /// `then` where `condition` holds, else `otherwise` (nil: empty).
    case when(Condition, then: Formula, otherwise: Formula?)

    public indirect enum Condition: Sendable {
        /// a > b.
        case greater(Formula, Formula)
        /// a != b.
        case notEqual(Formula, Formula)
        /// Both hold.
        case both(Condition, Condition)
    }

    /// The sums the formula reads.
    public var sums: Set<CustomerSum> {
        switch self {
        case .sum(let s): return [s]
        case .asOf, .number: return []
        case .difference(let a, let b), .ratio(let a, let b), .larger(let a, let b): return a.sums.union(b.sums)
        case .when(let c, let t, let o): return c.sums.union(t.sums).union(o?.sums ?? [])
        }
    }
}

extension Formula.Condition {
    public var sums: Set<CustomerSum> {
        switch self {
        case .greater(let a, let b), .notEqual(let a, let b): return a.sums.union(b.sums)
        case .both(let a, let b): return a.sums.union(b.sums)
        }
    }
}

extension Feature {
    /// The feature's definition (see each case's doc comment); nil for the BG/NBD columns,
    /// which come from a model fit, not from sums.
    public var formula: Formula? {
        let orders = Formula.sum(.orders), first = Formula.sum(.firstPurchaseDay), last = Formula.sum(.lastPurchaseDay)
        let purchased = Formula.sum(.purchased), costed = Formula.sum(.costedAmount)
        let gap = Formula.ratio(.difference(last, first), .difference(orders, .number(1)))
        switch self {
        case .recencyDays: return .difference(.asOf, last)
        case .frequency: return orders
        case .monetary: return .when(.greater(orders, .number(0)), then: .ratio(.sum(.net), orders), otherwise: nil)
        case .tenureDays: return .difference(.asOf, first)
        case .meanGapDays: return .when(.greater(orders, .number(1)), then: gap, otherwise: nil)
        case .recencyOverGap:
            return .when(.both(.greater(orders, .number(1)), .greater(last, first)), then: .ratio(.difference(.asOf, last), gap), otherwise: nil)
        case .spendLastWindow: return .sum(.spendLast)
        case .spendPreviousWindow: return .sum(.spendPrevious)
        case .ordersLastWindow: return .sum(.ordersLast)
        case .ordersPreviousWindow: return .sum(.ordersPrevious)
        case .refundRate: return .when(.greater(purchased, .number(0)), then: .ratio(.sum(.refunded), purchased), otherwise: .number(0))
        case .discountShare: return .when(.greater(purchased, .number(0)), then: .ratio(.sum(.discounted), purchased), otherwise: .number(0))
        case .serviceCostPerOrder: return .when(.greater(orders, .number(0)), then: .ratio(.sum(.service), orders), otherwise: nil)
        case .marginRate: return .when(.notEqual(costed, .number(0)), then: .ratio(.difference(costed, .sum(.cost)), costed), otherwise: nil)
        case .btydPNoPurchase, .btydExpectedPurchases: return nil
        }
    }
}

extension CustomerBase {
    /// The summary's columns (`columns` order: x, t_x, T, zbar) as formulas over the sums
    /// as of A (see `CustomerBase` for their meaning).
    ///
    /// Built per call, not kept in a global: an indirect enum's boxes are referenced through
    /// tagged pointers, which LeakSanitizer does not follow, so a global tree reads as a leak.
    public static var formulas: [Formula] {
        let first = Formula.sum(.firstPurchaseDay), last = Formula.sum(.lastPurchaseDay)
        let x = Formula.larger(.difference(.sum(.purchaseDays), .number(1)), .number(0))
        return [x, .difference(last, first), .difference(.asOf, first),
                .when(.greater(x, .number(0)), then: .ratio(.larger(.sum(.repeatNet), .number(0)), x), otherwise: .number(0))]
    }
}

/// Evaluates formulas a block of customers at a time: each node is one loop over the
/// block's values, so the cost per customer is a few instructions per node rather than a
/// dispatch per node per customer.
struct FormulaBlock {
    /// The block's sums (NaN-free), one array per `CustomerSum` read, `count` values each.
    var sums: [CustomerSum: [Double]]
    var count: Int
    var asOf: Double

    /// The formula's values for the block; NaN = empty.
    func evaluate(_ f: Formula) -> [Double] {
        switch f {
        case .sum(let s): return sums[s] ?? [Double](repeating: 0, count: count)
        case .asOf: return [Double](repeating: asOf, count: count)
        case .number(let x): return [Double](repeating: x, count: count)
        case .difference(let a, let b): return Self.zip(evaluate(a), evaluate(b), -)
        case .ratio(let a, let b): return Self.zip(evaluate(a), evaluate(b), /)
        case .larger(let a, let b): return Self.zip(evaluate(a), evaluate(b)) { Swift.max($0, $1) }
        case .when(let c, let t, let o):
            let holds = test(c), yes = evaluate(t), no = o.map(evaluate) ?? [Double](repeating: .nan, count: count)
            var out = no
            for i in 0..<count where holds[i] { out[i] = yes[i] }
            return out
        }
    }

    func test(_ c: Formula.Condition) -> [Bool] {
        switch c {
        case .greater(let a, let b):
            let x = evaluate(a), y = evaluate(b)
            return (0..<count).map { x[$0] > y[$0] }
        case .notEqual(let a, let b):
            let x = evaluate(a), y = evaluate(b)
            return (0..<count).map { x[$0] != y[$0] }
        case .both(let a, let b):
            let x = test(a), y = test(b)
            return (0..<count).map { x[$0] && y[$0] }
        }
    }

    @inline(__always)
    private static func zip(_ a: [Double], _ b: [Double], _ op: (Double, Double) -> Double) -> [Double] {
        [Double](unsafeUninitializedCapacity: a.count) { out, n in
            for i in 0..<a.count { out[i] = op(a[i], b[i]) }
            n = a.count
        }
    }
}
