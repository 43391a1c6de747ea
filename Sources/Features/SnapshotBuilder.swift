import CSupport
import Ledger
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// One snapshot: the active customers as of a date, their features, and (when the data
/// reaches A + H) their churn labels.
public struct Snapshot: Sendable {
    public let asOf: Int32
    public private(set) var features: [Feature]
    /// Customer numbers of the ledger view, increasing (so rows are in customer-id order).
    public let customers: [Int32]
    /// Per feature (same order as `features`), one value per customer. NaN = empty.
    public private(set) var values: [[Double]]
    /// 1 = no purchase in (A, A + H]; nil when the data ends before A + H.
    public let churned: [UInt8]?

    /// A snapshot computed elsewhere (another engine's results read back): `values` one
    /// column per feature, each one value per customer of `customers`.
    public init(asOf: Int32, features: [Feature], customers: [Int32], values: [[Double]], churned: [UInt8]?) {
        precondition(values.count == features.count && values.allSatisfy { $0.count == customers.count }, "Snapshot: columns and customers disagree")
        self.asOf = asOf; self.features = features; self.customers = customers; self.values = values; self.churned = churned
    }

    /// Adds a column computed outside the ledger's sums (the BG/NBD columns), one value
    /// per customer in `customers` order.
    public mutating func add(_ feature: Feature, _ column: [Double]) {
        precondition(column.count == customers.count, "\(feature.rawValue): \(column.count) values for \(customers.count) customers")
        features.append(feature)
        values.append(column)
    }
}

/// Computes snapshots for several dates in one pass over the ledger.
///
/// Per customer and date it keeps running sums (first and last purchase, net, purchased
/// and refunded amounts, window sums, discount, cost, service cost) and whether a purchase
/// falls in (A, A + H]. Orders, when the log maps order ids, are counted distinct through
/// one table of (customer, order) -> first day: an order split over several rows counts
/// once, dated by its first line.
public struct SnapshotBuilder: Sendable {
    public let settings: FeatureSettings

    public init(settings: FeatureSettings) { self.settings = settings }

    /// All snapshots at once (tests, small data). The features stage uses `sums` and takes
    /// one snapshot at a time, so only one is in memory.
    public func build(_ view: LedgerView, asOf dates: [Int32]) throws -> [Snapshot] {
        let sums = try self.sums(view, asOf: dates)
        return (0..<dates.count).map { sums.snapshot($0) }
    }

    /// One pass over the ledger: the running sums behind a run's three snapshots, taken
    /// by name (`SnapshotSums.snapshot(_:)`).
    public func sums(_ view: LedgerView, at dates: SnapshotDates) throws -> SnapshotSums {
        try sums(view, asOf: SnapshotDates.Snapshot.allCases.map { dates[$0] })
    }

    /// One pass over the ledger: the running sums behind every snapshot.
    public func sums(_ view: LedgerView, asOf dates: [Int32]) throws -> SnapshotSums {
        let n = view.customerCount
        let k = dates.count
        let hasOrders = view.columns.contains(.order)
        let (features, _) = Feature.available(with: view.columns)
        let w_ = settings.trendWindowDays, h = settings.horizonDays
        let dataEnd = view.lastDay ?? Int32.min

        let acc = Accumulators(customers: n, dates: k)
        // Worker w owns a range of the customer numbers (so no two touch the same cell or
        // order table); each reads every row of a chunk and sorts its own rows by customer
        // bucket before adding them up (see `accumulate`). A customer's rows are added in
        // file order whatever the ranges, so the sums do not depend on the worker count.
        let owned = Workers.split(n, grain: 1)
        // Each table is sized once for its share of the orders: the ledger's order-id runs
        // (an order's lines sit together in a log), else half the rows.
        let orders = hasOrders ? view.orderRuns() ?? view.rows / 2 : 0
        let orderTables = owned.map { _ in OrderFirstDays(expected: orders / owned.count) }
        let scratch = owned.map { _ in BucketScratch() }
        let datesCopy = dates
        try view.forEachChunk { customers, c in
            guard let chunk = ChunkPointers(c, customers: customers) else { return }  // an empty chunk
            Workers.run(owned.count) { w in
                Self.accumulate(chunk, customers: owned[w], scratch: scratch[w], cells: acc.cells,
                                orders: orderTables[w], dates: datesCopy, window: w_, horizon: h, hasOrders: hasOrders)
            }
        }
        if hasOrders {
            // Each worker's table holds only its range's customers: all add at once.
            Workers.run(owned.count) { w in
                Self.countOrders(orderTables[w], cells: acc.cells, dates: datesCopy, window: w_)
            }
        }

        if scratch.contains(where: \.sawUnordered) { try Self.recountUnordered(view, cells: acc.cells, customers: n, dates: dates) }

        return SnapshotSums(builder: self, acc: acc, dates: dates, customers: n, features: features, dataEnd: dataEnd)
    }

    /// Purchase days and the net amount after the first purchase day, counted again for the
    /// customers whose rows came out of date order: one more pass over the ledger, keeping
    /// their (customer, day) net amounts, then each customer's days in order. Serial: logs
    /// written as they happen never come here.
    static func recountUnordered(_ view: LedgerView, cells: UnsafeMutablePointer<Cell>, customers n: Int, dates: [Int32]) throws {
        let k = dates.count
        var flagged = [Bool](repeating: false, count: n)
        for c in 0..<n { for s in 0..<k where cells[c * k + s].unordered != 0 { flagged[c] = true } }
        var days: [UInt64: (net: Double, bought: Bool)] = [:]
        try view.forEachChunk { customers, c in
            guard let chunk = ChunkPointers(c, customers: customers) else { return }
            for i in 0..<chunk.count {
                let cust = Int(chunk.customers[i])
                guard flagged[cust] else { continue }
                let key = UInt64(cust) << 32 | UInt64(UInt32(bitPattern: chunk.day[i] &+ Cell.bias))
                let v = chunk.amount[i]
                let old = days[key] ?? (0, false)
                days[key] = (old.net + v, old.bought || v > 0)
            }
        }
        for c in 0..<n where flagged[c] { for s in 0..<k { cells[c * k + s].purchaseDays = 0; cells[c * k + s].repeatNet = 0 } }
        for key in days.keys.sorted() {
            guard let e = days[key] else { continue }
            let c = Int(key >> 32), d = Int32(bitPattern: UInt32(truncatingIfNeeded: key)) &- Cell.bias
            for s in 0..<k where d <= dates[s] {
                if e.bought { cells[c * k + s].purchaseDays += 1 }
                if let first = cells[c * k + s].firstDay, d > first { cells[c * k + s].repeatNet += e.net }
            }
        }
    }

    /// The customer-base summary as of `dates[s]` of every customer with a purchase on or
    /// before it (docs/DOMAIN.md; `CustomerBase`), in customer-number order.
    func customerBase(_ s: Int, _ acc: Accumulators, dates: [Int32], n: Int) -> CustomerBase {
        let a = dates[s], k = dates.count
        let cells = UnsafeSendable(acc.cells)
        let ranges = Workers.split(n, grain: 1 << 14)
        let parts = Slots<CustomerBase>(count: ranges.count)
        let formulas = CustomerBase.formulas
        let needed = formulas.reduce(into: Set<CustomerSum>()) { $0.formUnion($1.sums) }
        Workers.run(ranges.count) { r in
            var part = CustomerBase(asOf: a)
            part.customers = ranges[r].filter { cells.value[$0 * k + s].firstDay != nil }.map(Int32.init)
            var lo = 0
            while lo < part.customers.count {
                let hi = min(lo + Self.formulaBlock, part.customers.count)
                var sums: [CustomerSum: [Double]] = [:]
                for s_ in needed { sums[s_] = part.customers[lo..<hi].map { Self.sum(s_, cells.value[Int($0) * k + s], asOf: a) } }
                let block = FormulaBlock(sums: sums, count: hi - lo, asOf: Double(a))
                let v = formulas.map(block.evaluate)
                part.repeatPurchases += v[0].map { Int32($0) }
                part.repeatSpanDays += v[1]
                part.ageDays += v[2]
                part.repeatMeanSpend += v[3]
                lo = hi
            }
            parts[r] = part
        }
        var all = CustomerBase(asOf: a)
        for r in 0..<ranges.count {
            guard let p = parts[r] else { continue }
            all.customers += p.customers; all.repeatPurchases += p.repeatPurchases; all.repeatSpanDays += p.repeatSpanDays
            all.ageDays += p.ageDays; all.repeatMeanSpend += p.repeatMeanSpend
        }
        return all
    }

    /// One worker's share of a chunk: the rows of customers in `range`.
    ///
    /// The rows are first put in order of customer bucket (128 adjacent customer numbers,
    /// a stable counting sort into `scratch`), then added up in that order. Rows arrive in
    /// random customer order; in bucket order the cells (hundreds of megabytes) are
    /// walked forward, so page walks stay local and the prefetches of the next rows' cells
    /// overlap. Each row's cell is still a cache miss (a chunk holds too few rows per
    /// customer to reuse a line), but the page walks it saves are worth the sort.
    /// The sort is stable, so each customer's rows are still added in file order (the same
    /// sums to the last bit).
    private static func accumulate(_ c: ChunkPointers, customers range: Range<Int>, scratch: BucketScratch,
                                   cells: UnsafeMutablePointer<Cell>, orders: OrderFirstDays,
                                   dates: [Int32], window w: Int32, horizon h: Int32, hasOrders: Bool) {
        let k = dates.count
        let rows = scratch.sort(c, customers: range)
        let ahead = 8  // rows: far enough that cells and order slot arrive before they are needed
        let lineSpan = k * MemoryLayout<Cell>.stride + 63  // every line of a customer's cells
        dates.withUnsafeBufferPointer { dates in
            for i in 0..<rows.count {
                if i + ahead < rows.count {
                    let next = rows[i + ahead]
                    let cell = UnsafeRawPointer(cells + Int(next.customer) * k)
                    var line = 0
                    while line < lineSpan { retain_prefetch(cell + line); line += 64 }
                    if hasOrders, next.amount > 0 { orders.prefetch(customer: UInt32(next.customer), order: next.order) }
                }
                let r = rows[i]
                let cust = Int(r.customer)
                let d = r.day, v = r.amount
                if hasOrders, v > 0 { orders.note(customer: UInt32(cust), order: r.order, day: d) }
                let row = cells + cust * k  // this customer's cells, one per date, adjacent
                for s in 0..<k {
                    let a = dates[s]
                    if d > a {
                        if v > 0 && d <= a + h { row[s].boughtAfter = 1 }
                        continue
                    }
                    row[s].net += v
                    if d > a - w { row[s].spendLast += v } else if d > a - 2 * w { row[s].spendPrevious += v }
                    if row[s].noteRowDay(d) { scratch.sawUnordered = true }
                    if let first = row[s].firstDay, d > first { row[s].repeatNet += v }
                    if v > 0 {
                        if let last = row[s].lastDay { if d > last { row[s].purchaseDays += 1 } } else { row[s].purchaseDays = 1 }
                        row[s].purchased += v
                        row[s].noteFirst(d)
                        row[s].noteLast(d)
                        if !hasOrders {
                            row[s].orders += 1
                            if d > a - w { row[s].ordersLast += 1 } else if d > a - 2 * w { row[s].ordersPrevious += 1 }
                        }
                        if r.discount > 0 { row[s].discounted += v }
                    } else if v < 0 {
                        row[s].refunded -= v
                    }
                    if !r.service.isNaN { row[s].service += r.service }
                    if !r.cost.isNaN { row[s].cost += r.cost; row[s].costedAmount += v }
                }
            }
        }
    }

    /// Adds each distinct order, dated by its first line, to its customer's cells. The
    /// table is walked in groups of 16 orders whose cells are prefetched first: the
    /// customers come in hash order, so every cell is a cache miss, and a group's misses
    /// overlap instead of coming one at a time.
    private static func countOrders(_ orders: OrderFirstDays, cells: UnsafeMutablePointer<Cell>, dates: [Int32], window w: Int32) {
        let k = dates.count
        let lineSpan = k * MemoryLayout<Cell>.stride
        dates.withUnsafeBufferPointer { dates in
            orders.forEachGroup { customers, days, m in
                for j in 0..<m {
                    let cell = UnsafeRawPointer(cells + customers[j] * k)
                    var line = 0
                    while line < lineSpan { retain_prefetch(cell + line); line += 64 }
                }
                for j in 0..<m {
                    let row = cells + customers[j] * k, d = days[j]
                    for s in 0..<k {
                        let a = dates[s]
                        guard d <= a else { continue }
                        row[s].orders += 1
                        if d > a - w { row[s].ordersLast += 1 } else if d > a - 2 * w { row[s].ordersPrevious += 1 }
                    }
                }
            }
        }
    }

    func snapshot(_ s: Int, _ acc: Accumulators, dates: [Int32], n: Int, features: [Feature], dataEnd: Int32) -> Snapshot {
        let a = dates[s]
        let k = dates.count
        let cells = UnsafeSendable(acc.cells)
        let window = settings.activeWindowDays
        // Members by every worker, each a range of the customer numbers in order (a
        // customer's cells are 336 bytes apart: every one a cache line of its own, so the
        // scan is bound by memory, not arithmetic). Active: a purchase in (A - window, A];
        // first seen on or before A by construction.
        let ranges = Workers.split(n, grain: 1 << 14)
        let found = Slots<[Int32]>(count: ranges.count)
        Workers.run(ranges.count) { r in
            var mine: [Int32] = []
            mine.reserveCapacity(ranges[r].count / 3)
            for cust in ranges[r] {
                if let last = cells.value[cust * k + s].lastDay, last > a - window { mine.append(Int32(cust)) }
            }
            found[r] = mine
        }
        let members = (0..<ranges.count).flatMap { found[$0] ?? [] }
        // The workers on ranges of the members, a block of them at a time: the block's sums
        // are read from the cells once, then every feature's formula is evaluated over the
        // block (`FormulaBlock`), straight into the final arrays (no copy).
        let m = members.count
        let labelled = a <= dataEnd - settings.horizonDays
        var churned: [UInt8]? = nil
        let formulas = features.map { $0.formula }
        let needed = formulas.reduce(into: Set<CustomerSum>()) { $0.formUnion($1?.sums ?? []) }.sorted { $0.rawValue < $1.rawValue }
        let columns = members.withUnsafeBufferPointer { mem -> [[Double]] in
            let memRef = UnsafeSendable(mem)
            return ColumnBuffers.make(features.count, capacity: m) { out -> Int in
                let outRef = UnsafeSendable(out)
                Workers.forEachRange(m, grain: 1 << 12) { rows in
                    var lo = rows.lowerBound
                    while lo < rows.upperBound {
                        let hi = min(lo + Self.formulaBlock, rows.upperBound)
                        var sums: [CustomerSum: [Double]] = [:]
                        for s_ in needed {
                            sums[s_] = (lo..<hi).map { row in Self.sum(s_, cells.value[Int(memRef.value[row]) * k + s], asOf: a) }
                        }
                        let block = FormulaBlock(sums: sums, count: hi - lo, asOf: Double(a))
                        for (f, formula) in formulas.enumerated() {
                            let values = formula.map(block.evaluate) ?? [Double](repeating: .nan, count: hi - lo)
                            for i in 0..<(hi - lo) { outRef.value[f][lo + i] = values[i] }
                        }
                        lo = hi
                    }
                }
                return m
            }
        }
        if labelled { churned = members.map { cells.value[Int($0) * k + s].boughtAfter == 0 ? 1 : 0 } }
        return Snapshot(asOf: a, features: features, customers: members, values: columns, churned: churned)
    }

    /// Customers per formula block: its sums and intermediate values stay in L1/L2.
    static let formulaBlock = 512

    /// A `CustomerSum` as the cell keeps it (`CustomerSum`'s definitions), as of A.
    @inline(__always)
    static func sum(_ s: CustomerSum, _ c: Cell, asOf a: Int32) -> Double {
        switch s {
        case .firstPurchaseDay: return Double(c.firstDay ?? a)
        case .lastPurchaseDay: return Double(c.lastDay ?? a)
        case .orders: return Double(c.orders)
        case .ordersLast: return Double(c.ordersLast)
        case .ordersPrevious: return Double(c.ordersPrevious)
        case .net: return c.net
        case .purchased: return c.purchased
        case .refunded: return c.refunded
        case .spendLast: return c.spendLast
        case .spendPrevious: return c.spendPrevious
        case .discounted: return c.discounted
        case .service: return c.service
        case .cost: return c.cost
        case .costedAmount: return c.costedAmount
        case .purchaseDays: return Double(c.purchaseDays)
        case .repeatNet: return c.repeatNet
        }
    }
}

/// The running sums of one pass, from which each snapshot is taken on demand.
public final class SnapshotSums {
    let builder: SnapshotBuilder
    let acc: Accumulators
    let dates: [Int32]
    let customers: Int
    let features: [Feature]
    let dataEnd: Int32

    init(builder: SnapshotBuilder, acc: Accumulators, dates: [Int32], customers: Int, features: [Feature], dataEnd: Int32) {
        self.builder = builder; self.acc = acc; self.dates = dates; self.customers = customers
        self.features = features; self.dataEnd = dataEnd
    }

    deinit { acc.free() }

    /// The snapshot as of `dates[index]`.
    public func snapshot(_ index: Int) -> Snapshot {
        builder.snapshot(index, acc, dates: dates, n: customers, features: features, dataEnd: dataEnd)
    }

    /// The snapshot named, of sums taken `at` a run's `SnapshotDates`.
    public func snapshot(_ named: SnapshotDates.Snapshot) -> Snapshot {
        snapshot(SnapshotDates.Snapshot.allCases.firstIndex(of: named) ?? 0)
    }

    /// The customer-base summary as of `dates[index]`.
    public func customerBase(_ index: Int) -> CustomerBase {
        builder.customerBase(index, acc, dates: dates, n: customers)
    }

    public func customerBase(_ named: SnapshotDates.Snapshot) -> CustomerBase {
        customerBase(SnapshotDates.Snapshot.allCases.firstIndex(of: named) ?? 0)
    }
}

/// The running sums of one customer as of one date (112 bytes). First and last days are
/// stored biased (zero = no purchase yet) so that zeroed memory is a valid start.
///
/// Purchase days and the net amount after the first purchase day (the customer-base
/// summary) are counted as the rows come, which is exact when a customer's rows come in
/// date order (a log written as it happens); a row dated before an earlier one of the
/// same customer marks the cell `unordered`, and `recountUnordered` counts those again.
struct Cell {
    static let bias: Int32 = 1 << 30  // days are far above -2^30
    var firstBiased: Int32   // bias - first purchase day
    var lastBiased: Int32    // last purchase day + bias
    var lastRowBiased: Int32 // latest row day so far + bias
    var orders: Int32
    var ordersLast: Int32
    var ordersPrevious: Int32
    /// Distinct days with a purchase (amount > 0).
    var purchaseDays: Int32
    var boughtAfter: UInt8
    var unordered: UInt8
    var net, purchased, refunded, spendLast, spendPrevious, discounted, service, cost, costedAmount: Double
    /// Net amount dated after the first purchase day (currency).
    var repeatNet: Double

    /// Notes a row's day; true when it comes before an earlier row's (the cell is then unordered).
    @inline(__always) mutating func noteRowDay(_ day: Int32) -> Bool {
        let b = day + Self.bias
        if b < lastRowBiased { unordered = 1; return true }
        lastRowBiased = b
        return false
    }

    @inline(__always) mutating func noteFirst(_ day: Int32) {
        let b = Self.bias - day
        if b > firstBiased { firstBiased = b }
    }

    @inline(__always) mutating func noteLast(_ day: Int32) {
        let b = day + Self.bias
        if b > lastBiased { lastBiased = b }
    }

    var firstDay: Int32? { firstBiased == 0 ? nil : Self.bias - firstBiased }
    var lastDay: Int32? { lastBiased == 0 ? nil : lastBiased - Self.bias }
}

/// One worker's rows of a chunk, packed and in customer-bucket order; reused for every
/// chunk (memory per chunk, not per row). Absent columns read as NaN or zero, which the
/// sums skip.
final class BucketScratch: @unchecked Sendable {
    struct Row {
        var customer: Int32
        var day: Int32
        var amount: Double
        var order: UInt64
        var discount: Double
        var service: Double
        var cost: Double
    }

    /// Customers per bucket: 128 x 3 cells of 112 bytes is 42 KiB, well inside L2.
    static let bucketShift = 7
    /// Whether a row of this worker's came before an earlier row of its customer.
    var sawUnordered = false
    private var rows = UnsafeMutablePointer<Row>.allocate(capacity: 1)
    private var capacity = 1
    private var starts: [Int] = []

    deinit { rows.deallocate() }

    /// The rows of `c` whose customer number is in `range`, stably sorted by bucket.
    func sort(_ c: ChunkPointers, customers range: Range<Int>) -> UnsafeBufferPointer<Row> {
        if capacity < c.count {
            rows.deallocate()
            capacity = c.count
            rows = .allocate(capacity: capacity)
        }
        let lo = range.lowerBound, width = range.count
        let buckets = (width >> Self.bucketShift) + 1
        starts.removeAll(keepingCapacity: true)
        starts.append(contentsOf: repeatElement(0, count: buckets + 1))
        return starts.withUnsafeMutableBufferPointer { next in
            for i in 0..<c.count {
                let u = Int(c.customers[i]) - lo
                if u >= 0 && u < width { next[(u >> Self.bucketShift) + 1] += 1 }
            }
            for b in 0..<buckets { next[b + 1] += next[b] }
            let total = next[buckets]
            for i in 0..<c.count {
                let u = Int(c.customers[i]) - lo
                guard u >= 0 && u < width else { continue }
                let b = u >> Self.bucketShift
                let at = next[b]
                next[b] = at + 1
                rows[at] = Row(customer: c.customers[i], day: c.day[i], amount: c.amount[i],
                               order: c.order?[i] ?? 0, discount: c.discount?[i] ?? 0,
                               service: c.service?[i] ?? .nan, cost: c.cost?[i] ?? .nan)
            }
            return UnsafeBufferPointer(start: rows, count: total)
        }
    }
}

/// One cell per (customer, date), a customer's dates adjacent: a row updates a few
/// neighbouring cache lines instead of one line in each of fourteen arrays. Raw memory
/// from `mmap`, which comes zeroed (no initialising pass over half a gigabyte).
final class Accumulators: @unchecked Sendable {
    let cells: UnsafeMutablePointer<Cell>
    let count: Int

    init(customers: Int, dates: Int) {
        count = customers * dates
        cells = ZeroedMemory.allocate(Cell.self, count: count)
    }

    func free() { ZeroedMemory.free(cells, count: count) }
}

/// Distinct orders: (customer, order-id hash) -> the day of the order's first line.
/// Consecutive lines of one order (the usual layout) are recognised without a lookup.
final class OrderFirstDays: @unchecked Sendable {
    private struct Entry { var order: UInt64; var customer: UInt32; var day: Int32 }  // customer + 1; 0 = empty
    private var entries: UnsafeMutablePointer<Entry>
    private var mask: Int
    private var count = 0
    private var lastOrder: UInt64 = 0, lastCustomer: UInt32 = .max, lastSlot = -1

    /// Sized once for `expected` orders at most 70 % full: growing by doubling would zero
    /// fresh pages again and again (each doubling touches a new, larger table).
    init(expected: Int) {
        var cap = 1 << 16
        while cap * 7 < expected * 10 { cap <<= 1 }
        mask = cap - 1
        entries = ZeroedMemory.allocate(Entry.self, count: cap)
    }

    deinit { ZeroedMemory.free(entries, count: mask + 1) }

    @inline(__always) private func home(_ customer: UInt32, _ order: UInt64) -> Int {
        Int(truncatingIfNeeded: XXH64.avalanche(order ^ (UInt64(customer) &* 0x9E37_79B1_85EB_CA87))) & mask
    }

    /// Starts loading the slot an upcoming `note` will probe.
    @inline(__always) func prefetch(customer: UInt32, order: UInt64) {
        retain_prefetch(entries + home(customer, order))
    }

    @inline(__always) func note(customer: UInt32, order: UInt64, day: Int32) {
        if order == lastOrder && customer == lastCustomer && lastSlot >= 0 {
            if day < entries[lastSlot].day { entries[lastSlot].day = day }
            return
        }
        let key = customer &+ 1
        var i = home(customer, order)
        while entries[i].customer != 0 {
            if entries[i].order == order && entries[i].customer == key {
                if day < entries[i].day { entries[i].day = day }
                remember(order, customer, i)
                return
            }
            i = (i + 1) & mask
        }
        entries[i] = Entry(order: order, customer: key, day: day)
        count += 1
        if count * 10 > (mask + 1) * 7 { grow(); lastSlot = -1 } else { remember(order, customer, i) }
    }

    @inline(__always) private func remember(_ order: UInt64, _ customer: UInt32, _ slot: Int) {
        lastOrder = order; lastCustomer = customer; lastSlot = slot
    }

    private func grow() {
        let old = entries, oldCap = mask + 1
        mask = oldCap * 2 - 1
        entries = ZeroedMemory.allocate(Entry.self, count: mask + 1)
        for s in 0..<oldCap where old[s].customer != 0 {
            let e = old[s]
            var i = Int(truncatingIfNeeded: XXH64.avalanche(e.order ^ (UInt64(e.customer &- 1) &* 0x9E37_79B1_85EB_CA87))) & mask
            while entries[i].customer != 0 { i = (i + 1) & mask }
            entries[i] = e
        }
        ZeroedMemory.free(old, count: oldCap)
    }

    /// Every (customer, first day), in groups of up to 16: `body(customers, days, count)`.
    func forEachGroup(_ body: (UnsafePointer<Int>, UnsafePointer<Int32>, Int) -> Void) {
        let customers = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        let days = UnsafeMutablePointer<Int32>.allocate(capacity: 16)
        defer { customers.deallocate(); days.deallocate() }
        var m = 0
        for s in 0...mask where entries[s].customer != 0 {
            customers[m] = Int(entries[s].customer &- 1)
            days[m] = entries[s].day
            m += 1
            if m == 16 { body(customers, days, m); m = 0 }
        }
        if m > 0 { body(customers, days, m) }
    }
}
