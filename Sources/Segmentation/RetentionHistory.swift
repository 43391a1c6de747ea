import CSupport
import Ledger
import RetainIO

/// Retention measured the way retention people do (docs/DOMAIN.md), per period, from the ledger.
///
/// For a period [start, end] (calendar weeks from Monday, months, quarters or years), with
/// "active at day d" = a purchase (amount > 0) in (d − active window, d]:
/// - S = customers active at the start (as of start − 1), E = active at the end, N = new:
///   first purchase within the period;
/// - retention rate = (E − N) / S × 100 (percent);
/// - churn rate = |S not in E| / S × 100: the share of the starting customers lost;
/// - sales-adjusted retention = net sales in the period of the retained customers (S and
///   E) × 100 / net sales of all of S in the period before (same length). The base is the
///   period before because a lost customer, by definition inactive at the end, bought
///   nothing in a period shorter than the window: the same-period ratio would always be
///   100%. 100% = the base's spend kept whole; above 100% = it grew;
/// - profit-based retention: the same with profit = amount − cost − service cost where the
///   log has them, else amount × the default margin rate.
/// Percent; empty where S (or the base) is zero. Only complete periods after the data's
/// first day are shown; S counts only what the log holds.
public struct RetentionHistory: Sendable {
    public struct Row: Sendable, Equatable {
        public var start: Int32
        public var end: Int32
        public var customersStart = 0
        public var customersEnd = 0
        public var newCustomers = 0
        public var retained = 0
        public var lost = 0
        public var salesRetained = 0.0
        public var salesBase = 0.0
        public var profitRetained = 0.0
        public var profitBase = 0.0

        public init(start: Int32, end: Int32) { self.start = start; self.end = end }

        public var retentionRate: Double { customersStart > 0 ? Double(customersEnd - newCustomers) / Double(customersStart) * 100 : .nan }
        public var churnRate: Double { customersStart > 0 ? Double(lost) / Double(customersStart) * 100 : .nan }
        public var salesAdjustedRetention: Double { salesBase != 0 ? salesRetained / salesBase * 100 : .nan }
        public var profitRetention: Double { profitBase != 0 ? profitRetained / profitBase * 100 : .nan }
    }

    /// One cell of the cohort table: of the customers whose first purchase fell in the
    /// cohort's period, how many are active at the end of a period (the same period or a
    /// later one). retention rate = retained / customers × 100 (percent).
    public struct CohortRow: Sendable, Equatable {
        public var cohortStart: Int32
        public var periodStart: Int32
        /// The cohort's size: customers whose first purchase is in the cohort's period.
        public var customers = 0
        /// Of them, active at the end of the period (a purchase in the active window before it).
        public var retained = 0

        public init(cohortStart: Int32, periodStart: Int32, customers: Int, retained: Int) {
            self.cohortStart = cohortStart; self.periodStart = periodStart; self.customers = customers; self.retained = retained
        }

        public var retentionRate: Double { customers > 0 ? Double(retained) / Double(customers) * 100 : .nan }
    }

    public let rows: [Row]
    /// Per cohort (a period of first purchases among `rows`' periods) and each period from
    /// it on: `retention_cohorts.csv`, the heatmap retention teams read.
    public var cohorts: [CohortRow] = []
    /// What profit was computed from, for the report ("cost and service cost", ...).
    public let profitBasis: String

    /// A history computed elsewhere (another engine's results read back).
    public init(rows: [Row], cohorts: [CohortRow] = [], profitBasis: String) {
        self.rows = rows; self.cohorts = cohorts; self.profitBasis = profitBasis
    }

    /// A row's profit, by the columns the log has: amount − cost (where the row has one)
    /// − service cost (where it has one); without a cost column, amount × the default
    /// margin rate − service cost. Currency.
    public struct ProfitRule: Sendable, Equatable {
        public let hasCost: Bool
        public let hasService: Bool
        public let margin: Double

        public init(hasCost: Bool, hasService: Bool, margin: Double) { self.hasCost = hasCost; self.hasService = hasService; self.margin = margin }

        /// The profit of a row with `amount`, `cost` and `service` (NaN = the row has none).
        @inline(__always) public func profit(amount v: Double, cost: Double, service: Double) -> Double {
            var profit = v
            if hasCost { if !cost.isNaN { profit -= cost } } else { profit = v * margin }
            if hasService, !service.isNaN { profit -= service }
            return profit
        }

        /// The basis in words, for the report.
        public var basis: String {
            hasCost || hasService
                ? "amount" + (hasCost ? " − cost" : "") + (hasService ? " − service cost" : "") + (hasCost ? "" : " at the default margin")
                : "amount × the default margin rate \(margin)"
        }
    }

    /// The periods a history holds at most.
    public static func periodCount(_ settings: SegmentSettings) -> Int { min(max(settings.historyPeriods, 1), 62) }

    /// The periods: the last `count` complete ones of `period` ending on or before `lastDay`
    /// and starting on or after `firstDay` (fewer when the data is shorter).
    public static func periods(_ period: HistoryPeriod, count: Int, firstDay: Int32, lastDay: Int32) -> [(start: Int32, end: Int32)] {
        var result: [(Int32, Int32)] = []
        var end = lastDay
        // The last complete period ends on lastDay if lastDay is a period's last day, else
        // on the day before the period lastDay falls in.
        if periodStart(period, of: lastDay + 1) != lastDay + 1 { end = periodStart(period, of: lastDay) - 1 }
        while result.count < count {
            let start = periodStart(period, of: end)
            guard start >= firstDay else { break }
            result.append((start, end))
            end = start - 1
        }
        return result.reversed()
    }

    /// The first day of the period containing `day`.
    public static func periodStart(_ period: HistoryPeriod, of day: Int32) -> Int32 {
        let (y, m, _) = CivilDate.civil(day)
        switch period {
        case .week:
            // Day 0 (1970-01-01) was a Thursday; Monday-based weekday 0...6.
            let weekday = Int32(((Int(day) + 3) % 7 + 7) % 7)
            return day - weekday
        case .month: return CivilDate.day(year: y, month: m, day: 1) ?? day
        case .quarter: return CivilDate.day(year: y, month: (m - 1) / 3 * 3 + 1, day: 1) ?? day
        case .year: return CivilDate.day(year: y, month: 1, day: 1) ?? day
        }
    }

    /// Rows ahead whose customer state is prefetched.
    static let ahead = 16

    /// Two passes over the ledger on the calling thread: the first finds each customer's
    /// first purchase and at which period boundaries it is active (a bit per boundary), the
    /// second sums the sales of retained and base customers. Memory: 16 bytes per customer,
    /// whatever the number of rows. One thread, because the history runs beside other work
    /// (`BackgroundHistory` in the pipeline): two, splitting customers by parity, each read
    /// every row, for more CPU in all.
    ///
    /// `stop`: asked between chunks; when it says so, the computation ends with
    /// `SegmentationError.stopped`.
    public static func compute(_ view: LedgerView, settings: SegmentSettings, activeWindowDays window: Int32,
                               stop: (() -> Bool)? = nil) throws -> RetentionHistory {
        let hasCost = view.columns.contains(.cost), hasService = view.columns.contains(.serviceCost)
        let rule = ProfitRule(hasCost: hasCost, hasService: hasService, margin: settings.defaultMarginRate)
        let basis = rule.basis
        guard let first = view.firstDay, let last = view.lastDay else { return RetentionHistory(rows: [], profitBasis: basis) }
        let count = Self.periodCount(settings)
        let periods = Self.periods(settings.historyPeriod, count: count, firstDay: first, lastDay: last)
        guard !periods.isEmpty else { return RetentionHistory(rows: [], profitBasis: basis) }
        // Boundary j: the end of period j - 1 (j = 0: the day before the first period), so
        // period k starts after boundary k and ends on boundary k + 1.
        let boundaries: [Int32] = [periods[0].start - 1] + periods.map(\.end)
        // The base of period k is the period of the same length before it.
        let bases: [(Int32, Int32)] = periods.map { p in (p.start - (p.end - p.start + 1), p.start - 1) }
        let n = view.customerCount
        // Per customer, together in one line: the boundaries it is active at (a bit each)
        // and its first purchase day.
        let state = UnsafeMutablePointer<CustomerState>.allocate(capacity: max(n, 1))
        state.initialize(repeating: CustomerState(active: 0, firstPurchase: .max), count: max(n, 1))
        defer { state.deallocate() }

        // Pass 1: the boundaries each customer is active at, and its first purchase.
        try markActive(view, state: state, boundaries: boundaries, window: window, stop: stop)
        // Pass 2: sales and profit of retained customers in each period, and of S in its base.
        let sums = try salesAndProfit(view, state: state, periods: periods, bases: bases, rule: rule, stop: stop)
        let rows = tally(state, customers: n, periods: periods, sums: sums)
        return RetentionHistory(rows: rows, cohorts: cohorts(state, customers: n, periods: periods), profitBasis: basis)
    }
}


extension RetentionHistory {
    /// For each day from `firstDay` on, the boundaries (a bit each) a purchase that day
    /// makes its customer active at: bit j where day <= boundaries[j] < day + window. Days
    /// outside the table reach none.
    public static func activeBoundaries(_ boundaries: [Int32], window: Int32) -> (firstDay: Int32, bits: [UInt64]) {
        guard let first = boundaries.first, let last = boundaries.last, window > 0 else { return (0, []) }
        let firstDay = first - window + 1
        var bits = [UInt64](repeating: 0, count: Int(last - firstDay) + 1)
        for (j, b) in boundaries.enumerated() {
            for day in (b - window + 1)...b { bits[Int(day - firstDay)] |= 1 << UInt64(j) }
        }
        return (firstDay, bits)
    }
}

/// One customer's retention-history state: the boundaries it is active at, a bit each,
/// and its first purchase day.
struct CustomerState {
    var active: UInt64
    var firstPurchase: Int32

}

extension RetentionHistory {
    /// Pass 1: a purchase on day t makes the customer active at boundaries b with
    /// t <= b < t + window: the bits of `activeAt`, a table by day over the days that
    /// reach a boundary (one load per row, where a search and a loop per row were).
    private static func markActive(_ view: LedgerView, state: UnsafeMutablePointer<CustomerState>, boundaries: [Int32],
                                   window: Int32, stop: (() -> Bool)?) throws {
        let activeAt = Self.activeBoundaries(boundaries, window: window)
        try activeAt.bits.withUnsafeBufferPointer { bits in
            let from = Int(activeAt.firstDay), span = UInt(bits.count)
            try view.forEachChunk(parallel: false) { customers, c in
                if stop?() == true { throw SegmentationError.stopped }
                guard let chunk = ChunkPointers(c, customers: customers) else { return }
                for i in 0..<chunk.count {
                    if i + Self.ahead < chunk.count {  // rows come in random customer order: fetch ahead
                        let next = Int(chunk.customers[i + Self.ahead])
                        if next >= 0 { retain_prefetch(state + next) }
                    }
                    let cust = Int(chunk.customers[i])
                    guard cust >= 0, chunk.amount[i] > 0 else { continue }
                    let t = chunk.day[i]
                    if t < state[cust].firstPurchase { state[cust].firstPurchase = t }
                    let d = Int(t) - from
                    if UInt(bitPattern: d) < span { state[cust].active |= bits[d] }
                }
            }
        }
    }

    /// Pass 2: per period, the sales and profit of its retained customers and of its S in
    /// its base (4 sums a period). Day tables over the covered days: the period a day falls
    /// in (-1: none), and the periods whose base window holds it (a bit each; windows of
    /// unequal periods overlap).
    private static func salesAndProfit(_ view: LedgerView, state: UnsafeMutablePointer<CustomerState>, periods: [(start: Int32, end: Int32)],
                                       bases: [(Int32, Int32)], rule: ProfitRule, stop: (() -> Bool)?) throws -> [Double] {
        let k = periods.count
        let firstDay = bases.map(\.0).min() ?? periods[0].start, lastCovered = periods[k - 1].end
        let span = Int(lastCovered - firstDay) + 1
        var periodOf = [Int8](repeating: -1, count: span)
        var baseBits = [UInt64](repeating: 0, count: span)
        for p in 0..<k {
            for d in periods[p].start...periods[p].end { periodOf[Int(d - firstDay)] = Int8(p) }
            for d in bases[p].0...bases[p].1 { baseBits[Int(d - firstDay)] |= 1 << UInt64(p) }
        }
        var sums = [Double](repeating: 0, count: 4 * k)  // per period: sales and profit retained, of the base
        try periodOf.withUnsafeBufferPointer { periodOf in
        try baseBits.withUnsafeBufferPointer { baseBits in
        try sums.withUnsafeMutableBufferPointer { out in
            try view.forEachChunk(parallel: false) { customers, c in
                if stop?() == true { throw SegmentationError.stopped }
                guard let chunk = ChunkPointers(c, customers: customers) else { return }
                for i in 0..<chunk.count {
                    if i + Self.ahead < chunk.count {
                        let next = Int(chunk.customers[i + Self.ahead])
                        if next >= 0 { retain_prefetch(state + next) }
                    }
                    let cust = Int(chunk.customers[i])
                    guard cust >= 0 else { continue }
                    let d = Int(chunk.day[i] - firstDay)
                    guard d >= 0, d < span else { continue }
                    let bits = state[cust].active
                    let p = Int(periodOf[d])
                    // Retained in period p: active at its start (bit p) and end (bit p + 1).
                    let retained = p >= 0 && (bits >> UInt64(p)) & 3 == 3
                    // Base windows of periods this customer started active in (bit p: S of p).
                    var inBase = baseBits[d] & bits
                    guard retained || inBase != 0 else { continue }
                    let v = chunk.amount[i]
                    let profit = rule.profit(amount: v, cost: chunk.cost?[i] ?? .nan, service: chunk.service?[i] ?? .nan)
                    if retained { out[4 * p] += v; out[4 * p + 1] += profit }
                    while inBase != 0 {
                        let q = inBase.trailingZeroBitCount
                        out[4 * q + 2] += v; out[4 * q + 3] += profit
                        inBase &= inBase - 1
                    }
                }
            }
        }
        }
        }
        return sums
    }

    /// The cohort table from pass 1's state: cohort c = the customers whose first purchase
    /// is in period c; in period p >= c, those active at its end (bit p + 1).
    static func cohorts(_ state: UnsafeMutablePointer<CustomerState>, customers n: Int, periods: [(start: Int32, end: Int32)]) -> [CohortRow] {
        let k = periods.count
        guard k > 0 else { return [] }
        var size = [Int](repeating: 0, count: k), retained = [Int](repeating: 0, count: k * k)
        for cust in 0..<n {
            let f = state[cust].firstPurchase
            guard f >= periods[0].start, f <= periods[k - 1].end,
                  let c = periods.firstIndex(where: { f >= $0.start && f <= $0.end }) else { continue }
            size[c] += 1
            let bits = state[cust].active
            for p in c..<k where bits & (1 << UInt64(p + 1)) != 0 { retained[c * k + p] += 1 }
        }
        var rows: [CohortRow] = []
        for c in 0..<k {
            for p in c..<k {
                rows.append(CohortRow(cohortStart: periods[c].start, periodStart: periods[p].start, customers: size[c], retained: retained[c * k + p]))
            }
        }
        return rows
    }

    /// The rows: S, E, N, retained and lost counted per period, with the sums of pass 2.
    private static func tally(_ state: UnsafeMutablePointer<CustomerState>, customers n: Int, periods: [(start: Int32, end: Int32)],
                              sums: [Double]) -> [Row] {
        let k = periods.count
        var rows = periods.map { Row(start: $0.start, end: $0.end) }
        for cust in 0..<n {
            let bits = state[cust].active, f = state[cust].firstPurchase
            for p in 0..<k {
                let s = bits & (1 << UInt64(p)) != 0, e = bits & (1 << UInt64(p + 1)) != 0
                if s { rows[p].customersStart += 1 }
                if e { rows[p].customersEnd += 1 }
                if s && e { rows[p].retained += 1 }
                if s && !e { rows[p].lost += 1 }
                if f >= periods[p].start && f <= periods[p].end { rows[p].newCustomers += 1 }
            }
        }
        for p in 0..<k {
            rows[p].salesRetained = sums[4 * p]
            rows[p].profitRetained = sums[4 * p + 1]
            rows[p].salesBase = sums[4 * p + 2]
            rows[p].profitBase = sums[4 * p + 3]
        }
        return rows
    }
}
