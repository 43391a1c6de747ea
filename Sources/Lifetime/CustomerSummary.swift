import RetainIO

/// BG/NBD's view of each customer as of a date A, in days (`Features.CustomerBase` has
/// the rest of the summary):
/// - `x`: repeat purchases, the distinct purchase days (a day with an amount > 0) after the
///   first one;
/// - `tx`: days from the first to the last purchase day (0 when x = 0);
/// - `T`: days from the first purchase day to A.
///
/// Stored grouped: rows with equal x adjacent, in increasing x, so that the terms that
/// depend on x alone are computed once per group.
public struct CustomerSummary: Sendable {
    public private(set) var x: [Int32] = []
    public private(set) var tx: [Double] = []
    public private(set) var T: [Double] = []
    /// How many customers a row stands for.
    public private(set) var weight: [Double] = []
    /// Row ranges of equal x, in increasing x.
    public private(set) var groups: [(x: Int32, rows: Range<Int>)] = []
    /// Whether every tₓ and T is a whole number of days in 0..<2²² (the likelihood then
    /// takes log(α + d) from a table).
    public private(set) var wholeDays = false
    /// Whether rows are already distinct (x, tx, T) with counts (`purchasesOnly`'s form).
    private var compressedForm = false

    /// Customers (the sum of the weights).
    public var customers: Double { weight.reduce(0, +) }
    public var rows: Int { x.count }

    /// One row per customer (any order); rows are regrouped by x, stably.
    public init(x: [Int32], tx: [Double], T: [Double]) {
        let n = x.count
        var order = [Int](repeating: 0, count: n)
        var counts: [Int32: Int] = [:]
        for v in x { counts[v, default: 0] += 1 }
        var start: [Int32: Int] = [:]
        var at = 0
        for v in counts.keys.sorted() { start[v] = at; groups.append((v, at..<(at + (counts[v] ?? 0)))); at += counts[v] ?? 0 }
        for i in 0..<n { let v = x[i]; let s = start[v] ?? 0; order[s] = i; start[v] = s + 1 }
        self.x = order.map { x[$0] }
        self.tx = order.map { tx[$0] }
        self.T = order.map { T[$0] }
        self.weight = [Double](repeating: 1, count: n)
    }

    /// BG/NBD's data straight from per-customer columns of whole days (as `purchasesOnly`,
    /// without grouping every customer first).
    public static func purchases(x: [Int32], tx: [Double], T: [Double]) -> CustomerSummary {
        var one = CustomerSummary()
        one.x = x; one.tx = tx; one.T = T
        one.weight = []
        return one.compressed() ?? CustomerSummary(x: x, tx: tx, T: T)
    }

    /// The same customers, one row per distinct (x, tx, T) of whole days with its count as
    /// weight: a log of millions of customers has far
    /// fewer distinct triples, and the likelihood is a sum over them. `tx` and `T` must
    /// be whole days below 2²².
    public func purchasesOnly() -> CustomerSummary { compressedForm ? self : compressed() ?? self }

    /// One row per distinct (x, tx, T), or nil when they are not all whole days in range.
    private func compressed() -> CustomerSummary? {
        var keys: [UInt64] = []
        keys.reserveCapacity(x.count)
        for i in 0..<x.count {
            guard tx[i] >= 0, T[i] >= 0, tx[i] < 4_194_304, T[i] < 4_194_304, tx[i] == tx[i].rounded(), T[i] == T[i].rounded(),
                  x[i] >= 0, x[i] < 1 << 20 else { return nil }
            keys.append(UInt64(x[i]) << 44 | UInt64(tx[i]) << 22 | UInt64(T[i]))
        }
        let sorted = RadixSort.sorted(keys)
        var out = CustomerSummary()
        var i = 0
        while i < sorted.count {
            let key = sorted[i].key
            var j = i + 1
            while j < sorted.count && sorted[j].key == key { j += 1 }
            let gx = Int32(key >> 44)
            if out.groups.last?.x != gx { out.groups.append((gx, out.x.count..<out.x.count)) }
            out.x.append(gx)
            out.tx.append(Double((key >> 22) & 0x3F_FFFF))
            out.T.append(Double(key & 0x3F_FFFF))
            out.weight.append(Double(j - i))
            let last = out.groups.count - 1
            out.groups[last].rows = out.groups[last].rows.lowerBound..<out.x.count
            i = j
        }
        out.wholeDays = true
        out.compressedForm = true
        return out
    }

    private init() {}

    /// Every n-th row, with its weight (a start for the full fit; see `BGNBD.fit`).
    func everyNth(_ n: Int) -> CustomerSummary {
        var out = CustomerSummary()
        out.wholeDays = wholeDays
        out.compressedForm = true
        for (gx, rows) in groups {
            let first = out.x.count
            for i in stride(from: rows.lowerBound, to: rows.upperBound, by: n) {
                out.x.append(gx); out.tx.append(tx[i]); out.T.append(T[i]); out.weight.append(weight[i])
            }
            if out.x.count > first { out.groups.append((gx, first..<out.x.count)) }
        }
        return out
    }
}
