import Ledger
import RetainIO

/// One snapshot: the active customers as of a date, their features, and (when the data
/// reaches A + H) their churn labels.
public struct Snapshot: Sendable {
    public let asOf: Int32
    public let features: [Feature]
    /// Customer numbers of the ledger view, increasing (so rows are in customer-id order).
    public let customers: [Int32]
    /// Per feature (same order as `features`), one value per customer. NaN = empty.
    public let values: [[Double]]
    /// 1 = no purchase in (A, A + H]; nil when the data ends before A + H.
    public let churned: [UInt8]?
}

/// Computes snapshots for several dates in one pass over the ledger.
///
/// Per customer and date it keeps running sums (first and last purchase, net, purchased
/// and refunded amounts, window sums, discount, cost, service cost) and whether a purchase
/// falls in (A, A + H]. Orders, when the log maps order ids, are counted distinct through
/// one table of (customer, order) -> first day: an order split over several rows counts
/// once, dated by its first line.
public struct SnapshotBuilder {
    public let settings: FeatureSettings

    public init(settings: FeatureSettings) { self.settings = settings }

    public func build(_ view: LedgerView, asOf dates: [Int32]) throws -> [Snapshot] {
        let n = view.customerIDs.count
        let k = dates.count
        let hasOrders = view.columns.contains(.order)
        let (features, _) = Feature.available(with: view.columns)
        let w = settings.trendWindowDays, h = settings.horizonDays
        let dataEnd = view.lastDay ?? Int32.min

        var acc = Accumulators(count: n * k)
        let orders = OrderFirstDays()
        try view.forEachChunk { customers, c in
            let discount = c.numbers[.discount], cost = c.numbers[.cost], service = c.numbers[.serviceCost]
            for i in 0..<c.count {
                let cust = Int(customers[i])
                guard cust >= 0 else { continue }
                let day = c.day[i], amount = c.amount[i]
                if hasOrders, amount > 0, let order = c.order { orders.note(customer: UInt32(cust), order: order[i], day: day) }
                for s in 0..<k {
                    let a = dates[s]
                    let j = s * n + cust
                    if day > a {
                        if amount > 0 && day <= a + h { acc.boughtAfter[j] = 1 }
                        continue
                    }
                    acc.net[j] += amount
                    if day > a - w { acc.spendLast[j] += amount } else if day > a - 2 * w { acc.spendPrevious[j] += amount }
                    if amount > 0 {
                        acc.purchased[j] += amount
                        if day < acc.first[j] { acc.first[j] = day }
                        if day > acc.last[j] { acc.last[j] = day }
                        if !hasOrders {
                            acc.orders[j] += 1
                            if day > a - w { acc.ordersLast[j] += 1 } else if day > a - 2 * w { acc.ordersPrevious[j] += 1 }
                        }
                        if let discount, discount[i] > 0 { acc.discounted[j] += amount }
                    } else if amount < 0 {
                        acc.refunded[j] -= amount
                    }
                    if let service, !service[i].isNaN { acc.service[j] += service[i] }
                    if let cost, !cost[i].isNaN { acc.cost[j] += cost[i]; acc.costedAmount[j] += amount }
                }
            }
        }
        if hasOrders {
            orders.forEach { cust, day in
                for s in 0..<k {
                    let a = dates[s]
                    guard day <= a else { continue }
                    let j = s * n + cust
                    acc.orders[j] += 1
                    if day > a - w { acc.ordersLast[j] += 1 } else if day > a - 2 * w { acc.ordersPrevious[j] += 1 }
                }
            }
        }

        return dates.enumerated().map { s, a in
            var members: [Int32] = []
            for cust in 0..<n {
                let j = s * n + cust
                // Active: a purchase in (A - window, A]; first seen on or before A by construction.
                if acc.last[j] != Int32.min && acc.last[j] > a - settings.activeWindowDays { members.append(Int32(cust)) }
            }
            var columns = [[Double]](repeating: [], count: features.count)
            for (f, feature) in features.enumerated() {
                columns[f] = members.map { cust in value(feature, acc, s * n + Int(cust), asOf: a) }
            }
            let labelled = a <= dataEnd - h
            return Snapshot(asOf: a, features: features, customers: members, values: columns,
                            churned: labelled ? members.map { acc.boughtAfter[s * n + Int($0)] == 0 ? 1 : 0 } : nil)
        }
    }

    private func value(_ f: Feature, _ acc: Accumulators, _ j: Int, asOf a: Int32) -> Double {
        let orders = Double(acc.orders[j])
        switch f {
        case .recencyDays: return Double(a - acc.last[j])
        case .frequency: return orders
        case .monetary: return orders > 0 ? acc.net[j] / orders : .nan
        case .tenureDays: return Double(a - acc.first[j])
        case .meanGapDays: return orders >= 2 ? Double(acc.last[j] - acc.first[j]) / (orders - 1) : .nan
        case .recencyOverGap:
            guard orders >= 2, acc.last[j] > acc.first[j] else { return .nan }
            return Double(a - acc.last[j]) / (Double(acc.last[j] - acc.first[j]) / (orders - 1))
        case .spendLastWindow: return acc.spendLast[j]
        case .spendPreviousWindow: return acc.spendPrevious[j]
        case .ordersLastWindow: return Double(acc.ordersLast[j])
        case .ordersPreviousWindow: return Double(acc.ordersPrevious[j])
        case .refundRate: return acc.purchased[j] > 0 ? acc.refunded[j] / acc.purchased[j] : 0
        case .discountShare: return acc.purchased[j] > 0 ? acc.discounted[j] / acc.purchased[j] : 0
        case .serviceCostPerOrder: return orders > 0 ? acc.service[j] / orders : .nan
        case .marginRate: return acc.costedAmount[j] != 0 ? (acc.costedAmount[j] - acc.cost[j]) / acc.costedAmount[j] : .nan
        }
    }
}

/// Running sums per (snapshot, customer), flat arrays indexed snapshot * customers + customer.
struct Accumulators {
    var first, last: [Int32]
    var orders, ordersLast, ordersPrevious: [Int32]
    var net, purchased, refunded, spendLast, spendPrevious, discounted, service, cost, costedAmount: [Double]
    var boughtAfter: [UInt8]

    init(count: Int) {
        first = [Int32](repeating: .max, count: count)
        last = [Int32](repeating: .min, count: count)
        orders = [Int32](repeating: 0, count: count); ordersLast = orders; ordersPrevious = orders
        net = [Double](repeating: 0, count: count)
        purchased = net; refunded = net; spendLast = net; spendPrevious = net
        discounted = net; service = net; cost = net; costedAmount = net
        boughtAfter = [UInt8](repeating: 0, count: count)
    }
}

/// Distinct orders: (customer, order-id hash) -> the day of the order's first line.
final class OrderFirstDays {
    private struct Entry { var order: UInt64; var customer: UInt32; var day: Int32 }
    private var entries: [Entry]
    private var used: [Bool]
    private var mask: Int
    private var count = 0

    init() {
        entries = [Entry](repeating: Entry(order: 0, customer: 0, day: 0), count: 1 << 16)
        used = [Bool](repeating: false, count: 1 << 16)
        mask = (1 << 16) - 1
    }

    func note(customer: UInt32, order: UInt64, day: Int32) {
        var i = Int(truncatingIfNeeded: XXH64.avalanche(order ^ (UInt64(customer) &* 0x9E37_79B1_85EB_CA87))) & mask
        while used[i] {
            if entries[i].order == order && entries[i].customer == customer {
                if day < entries[i].day { entries[i].day = day }
                return
            }
            i = (i + 1) & mask
        }
        used[i] = true
        entries[i] = Entry(order: order, customer: customer, day: day)
        count += 1
        if count * 2 > mask + 1 { grow() }
    }

    private func grow() {
        let old = entries, oldUsed = used
        let cap = (mask + 1) * 2
        entries = [Entry](repeating: Entry(order: 0, customer: 0, day: 0), count: cap)
        used = [Bool](repeating: false, count: cap)
        mask = cap - 1
        count = 0
        for (e, u) in zip(old, oldUsed) where u { note(customer: e.customer, order: e.order, day: e.day) }
    }

    func forEach(_ body: (Int, Int32) -> Void) {
        for (e, u) in zip(entries, used) where u { body(Int(e.customer), e.day) }
    }
}
