import Foundation
import RetainIO

/// A synthetic transaction log with every optional column, deterministic for a seed.
///
/// Each customer draws, independently (so later stages have real signal to find):
/// - a purchase rate λ ~ Gamma(1.1, 3.2) orders a year, and after each order a chance p
///   of leaving for good, p ~ Beta(1.3, 5.5) raised for deal-driven and costly customers
///   (the BG/NBD story: buy at a personal rate while alive, drop out after a purchase);
/// - a typical unit price (log-normal, median 22), basket depth (lines and quantities);
/// - a margin rate ~ Beta(4, 8) (about 33 %), so cost = amount x (1 - margin) +/- noise;
/// - a discount habit ~ Beta(0.6, 3): the chance an order is bought on a 10-40 % discount;
/// - a cost to serve per order (log-normal, median 2.5; 5 % of customers 8x costlier);
/// - a favourite channel (web, store, app, phone) used 80 % of the time;
/// - a refund habit: the chance an order is partly returned within 1-30 days.
/// With a `treatment` (a programme with a known effect), a treated customer's chance of
/// leaving is lowered by the stated share for every decision to leave whose next order
/// would come after the programme's start day (so a customer lapsing at the start can be
/// kept); every random draw stays the same, so the log up to that day is the log without it.
/// Customers arrive uniformly over the window, and rows come out in date order with
/// customers interleaved, as a real log arrives. An order's lines share its order id and
/// name distinct products, so no two lines of a log are identical (as in a real export).
public struct Generator {
    public var customers: Int
    public var seed: UInt64
    /// Last day of the log (days since 1970-01-01) and its length in days.
    public var endDay: Int32
    public var days: Int32

    /// A retention programme acting on some customers from a day on.
    public struct Treatment: Sendable {
        /// The programme starts after this day (a plan's as-of): purchases after it are treated.
        public var afterDay: Int32
        /// Per customer index (customer id C<index + 1>), whether the programme reaches it.
        public var treated: [Bool]
        /// The share by which a treated customer's dropout chance falls (0.3: p becomes 0.7·p).
        public var dropoutReduction: Double

        public init(afterDay: Int32, treated: [Bool], dropoutReduction: Double) {
            self.afterDay = afterDay; self.treated = treated; self.dropoutReduction = dropoutReduction
        }
    }
    public var treatment: Treatment? = nil

    public static let header = "order_id,customer_id,date,product_id,quantity,amount,cost,discount,service_cost,channel"
    static let channels = ["web", "store", "app", "phone"]

    public init(customers: Int, seed: UInt64 = 1, endDay: Int32 = 20_453 /* 2025-12-31 */, days: Int32 = 1095) {
        self.customers = customers; self.seed = seed; self.endDay = endDay; self.days = days
    }

    struct Profile {
        var rate: Double          // orders a day
        var dropout: Double
        var price: Double
        var linesMean: Double
        var quantityMean: Double
        var margin: Double
        var discountHabit: Double
        var serviceCost: Double
        var channel: Int
        var refundHabit: Double
        var start: Int32
    }

    func profile(_ c: Int) -> Profile {
        var r = Xoshiro(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(c))
        let discount = r.beta(0.6, 3)
        let costly = r.uniform() < 0.05
        let service = r.lognormal(median: 2.5, sigma: 0.7) * (costly ? 8 : 1)
        var dropout = r.beta(1.3, 5.5) + 0.35 * discount + (costly ? 0.1 : 0)
        dropout = min(dropout, 0.95)
        return Profile(rate: r.gamma(shape: 1.1, scale: 3.2) / 365, dropout: dropout,
                       price: r.lognormal(median: 22, sigma: 0.6), linesMean: r.gamma(shape: 2, scale: 0.45),
                       quantityMean: r.gamma(shape: 1.5, scale: 0.5), margin: r.beta(4, 8), discountHabit: discount,
                       serviceCost: service, channel: Int(r.next() % 4), refundHabit: r.beta(0.5, 14),
                       start: endDay - days + 1 + Int32(r.next() % UInt64(days)))
    }

    /// Writes the log to `path` atomically; returns the number of rows.
    @discardableResult
    public func write(to path: String) throws -> Int {
        // Orders per day, as (customer, order number) pairs; lines are drawn at write time
        // from a generator seeded by the pair, so memory is 8 bytes an order.
        let first = endDay - days + 1
        var byDay = [[UInt64]](repeating: [], count: Int(days))
        var refunds = [[UInt64]](repeating: [], count: Int(days))
        for c in 0..<customers {
            let p = profile(c)
            var r = Xoshiro(seed: seed ^ (UInt64(c) &* 0xD1B5_4A32_D192_ED03))
            var day = p.start
            var n: UInt64 = 0
            while day <= endDay {
                byDay[Int(day - first)].append(UInt64(c) << 24 | n)
                if r.uniform() < p.refundHabit {
                    let back = day + 1 + Int32(r.next() % 30)
                    if back <= endDay { refunds[Int(back - first)].append(UInt64(c) << 24 | n) }
                }
                n += 1
                if n >= 1 << 24 { break }
                let u = r.uniform()
                // The gap to the next order is drawn even for a customer who leaves (then
                // unused): the treatment needs it, and nothing is drawn after leaving.
                let next = day + Int32(max(1, r.exponential(rate: p.rate).rounded(.up)))
                if u < p.dropout {
                    // Treated: a decision to leave whose next order would come after the
                    // programme's start is kept with chance (1 - reduction).
                    guard let t = treatment, next > t.afterDay, c < t.treated.count, t.treated[c],
                          u >= p.dropout * (1 - t.dropoutReduction) else { break }
                }
                day = next
            }
        }
        var rows = 0
        try AtomicFile.writeNamed(path) { out in
            try out.append(Self.header + "\n")
            for d in 0..<Int(days) {
                let date = iso(first + Int32(d))
                // Interleave customers within a day in a seeded order.
                var day = byDay[d]
                var shuffle = Xoshiro(seed: seed ^ UInt64(d) &* 31)
                day.shuffle(using: &shuffle)
                for key in day {
                    let c = Int(key >> 24), n = key & 0xFF_FFFF
                    rows += try writeOrder(out, customer: c, order: n, profile: profile(c), date: date, refund: false)
                }
                for key in refunds[d] {
                    let c = Int(key >> 24), n = key & 0xFF_FFFF
                    rows += try writeOrder(out, customer: c, order: n, profile: profile(c), date: date, refund: true)
                }
            }
        }
        return rows
    }

    private func writeOrder(_ out: OutputBuffer, customer c: Int, order n: UInt64, profile p: Profile, date: [UInt8], refund: Bool) throws -> Int {
        var r = Xoshiro(seed: (seed << 32) ^ (UInt64(c) << 24) ^ n ^ 0xA5A5)
        let lines = 1 + r.poisson(p.linesMean)
        let discounted = r.uniform() < p.discountHabit
        let depth = discounted ? 0.10 + 0.30 * r.uniform() : 0
        let channel = r.uniform() < 0.8 ? p.channel : Int(r.next() % 4)
        let orderID = "O\(c)-\(n)"
        let returned = refund ? Int(r.next() % UInt64(lines)) : -1
        let firstProduct = Int(r.next() % 5000)
        var written = 0
        for line in 0..<lines {
            let quantity = 1 + r.poisson(p.quantityMean)
            let unit = p.price * exp(0.25 * r.normal())
            let gross = (Double(quantity) * unit * 100).rounded() / 100
            let discount = (gross * depth * 100).rounded() / 100
            let amount = gross - discount
            let cost = amount * (1 - p.margin) * (0.9 + 0.2 * r.uniform())
            let service = line == 0 ? p.serviceCost * (0.7 + 0.6 * r.uniform()) : 0
            if refund && line != returned { continue }
            try out.append(refund ? "R" + orderID.dropFirst() : orderID)
            try out.append(byte: 44)
            try out.append("C\(c + 1)")
            try out.append(byte: 44)
            try date.withUnsafeBytes { try out.append($0) }
            try out.append(byte: 44)
            try out.append("P\((firstProduct + line * 7919) % 100_000)")
            try out.append(byte: 44)
            try out.append(integer: Int64(refund ? -quantity : quantity))
            try out.append(byte: 44)
            try out.appendFixed(refund ? -amount : amount, decimals: 2)
            try out.append(byte: 44)
            try out.appendFixed(refund ? -cost : cost, decimals: 2)
            try out.append(byte: 44)
            try out.appendFixed(refund ? 0 : discount, decimals: 2)
            try out.append(byte: 44)
            try out.appendFixed(refund ? 0 : service, decimals: 2)
            try out.append(byte: 44)
            try out.append(Self.channels[channel])
            try out.append(byte: 10)
            written += 1
        }
        return written
    }

    private func iso(_ day: Int32) -> [UInt8] { Array(CivilDate.iso(day).utf8) }
}
