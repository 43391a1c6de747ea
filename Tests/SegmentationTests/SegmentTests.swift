import Foundation
import Ledger
import RetainIO
import RetainTestSupport
import Segmentation
import Testing

/// A scores table (customer_id, churn_probability, features) from columns.
func scores(_ ids: [String], _ columns: [(String, [Double])]) -> CSVTable {
    var bytes: [UInt8] = [], ends: [Int] = []
    for id in ids { bytes += Array(id.utf8); ends.append(bytes.count) }
    return CSVTable(path: "scores.csv", keyName: "customer_id", names: columns.map(\.0), columns: columns.map(\.1),
                    keyBytes: bytes, keyEnds: ends)
}

/// Ten customers worked by hand. Target period T = 100 days, minimum tenure 30 days,
/// default margin 30%; r = frequency / max(tenure, 30) orders a day; π = monetary·m − service;
/// P = r·T·π; EV = (1 − p)·P; R = r·T·monetary; revenue at risk p·R; profit at risk p·P.
///
/// | id | p | freq | monetary | tenure | margin | service | discount | r | P | EV | p·R | p·P |
/// |---|---|---|---|---|---|---|---|---|---|---|---|---|
/// | A | 0.2 | 10 | 100 | 500 | 0.4 | 5 | 0 | 0.02 | 2·35 = 70 | 56 | 0.2·200 = 40 | 14 |
/// | B | 0.5 | 2 | 50 | 200 | 0.4 | 2 | 0 | 0.01 | 18 | 9 | 25 | 9 |
/// | C | 0.9 | 1 | 30 | 10→30 | 0.2 | 1 | 0 | 1/30 | (10/3)·5 = 16.67 | 1.67 | 90 | 15 |
/// | D | 0.4 | 20 | 10 | 400 | 0.3 | 0.5 | 0 | 0.05 | 5·2.5 = 12.5 | 7.5 | 20 | 5 |
/// | E | 0.6 | 4 | 40 | 400 | 0.25 | 8 | 0 | 0.01 | 2 | 0.8 | 24 | 1.2 |
/// | F | 0.7 | 5 | 20 | 500 | 0.5 | 1 | 0.8 | 0.01 | 9 | 2.7 | 14 | 6.3 |
/// | G | 0.3 | 3 | 60 | 300 | 0.5 | 3 | 0.1 | 0.01 | 27 | 18.9 | 18 | 8.1 |
/// | H | 0.8 | 1 | 10 | 100 | 0.3 | 1 | 0 | 0.01 | 2 | 0.4 | 8 | 1.6 |
/// | I | 0.1 | 2 | 25 | 200 | empty→0.3 | 0.5 | 0 | 0.01 | 7 | 6.3 | 2.5 | 0.7 |
/// | J | 0.5 | 1 | 5 | 100 | 0.2 | 0 | 0 | 0.01 | 1 | 0.5 | 2.5 | 0.5 |
///
/// EV sorted: 0.4, 0.5, 0.8, 1.67, 2.7, 6.3, 7.5, 9, 18.9, 56; 90% quantile (type 7):
/// 18.9 + 0.1·(56 − 18.9) = 22.61 → A by value; J is a listed door-opener.
/// Orders a year (365·r): C 12.17, D 18.25, A 7.3, the rest 3.65; 80% quantile:
/// 7.3 + 0.2·(12.1667 − 7.3) = 8.2733 → C, D high-volume.
/// E: service 8 ≥ 50% of its margin 10 → costly; F: 80% on discount → switcher.
/// B, G, H, I: drop.
@Suite("Segments, value and targets: a hand-worked example")
struct SegmentTests {
    static let ids = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
    static let table = scores(ids, [
        ("churn_probability", [0.2, 0.5, 0.9, 0.4, 0.6, 0.7, 0.3, 0.8, 0.1, 0.5]),
        ("frequency", [10, 2, 1, 20, 4, 5, 3, 1, 2, 1]),
        ("monetary", [100, 50, 30, 10, 40, 20, 60, 10, 25, 5]),
        ("tenure_days", [500, 200, 10, 400, 400, 500, 300, 100, 200, 100]),
        ("margin_rate", [0.4, 0.4, 0.2, 0.3, 0.25, 0.5, 0.5, 0.3, .nan, 0.2]),
        ("service_cost_per_order", [5, 2, 1, 0.5, 8, 1, 3, 1, 0.5, 0]),
        ("discount_share", [0, 0, 0, 0, 0, 0.8, 0.1, 0, 0, 0]),
    ])

    static func settings() -> SegmentSettings {
        var s = SegmentSettings()
        s.targetDays = 100
        return s
    }

    @Test func everyRuleAndValueToTheCent() throws {
        let r = try Segmenter(settings: Self.settings(), accounts: StrategicAccounts(roles: ["J": .doorOpener])).segment(Self.table)
        #expect(r.placements.map(\.segment) == [.keepStrategic, .drop, .highVolume, .highVolume, .costlySwitcher,
                                                 .costlySwitcher, .drop, .drop, .drop, .keepStrategic])
        #expect(allClose(r.placements.map(\.value.expectedValue), [56, 9, 5.0 / 3, 7.5, 0.8, 2.7, 18.9, 0.4, 6.3, 0.5], rel: 1e-12))
        #expect(allClose(r.placements.map(\.value.revenueAtRisk), [40, 25, 90, 20, 24, 14, 18, 8, 2.5, 2.5], rel: 1e-12))
        #expect(allClose(r.placements.map(\.value.profitAtRisk), [14, 9, 15, 5, 1.2, 6.3, 8.1, 1.6, 0.7, 0.5], rel: 1e-12))
        #expect(isClose(r.valueThreshold, 22.61, rel: 1e-12))
        #expect(isClose(r.volumeThreshold, 7.3 + 0.2 * (365.0 / 30 - 7.3), rel: 1e-12))
        #expect(r.placements[9].role == .doorOpener && r.reason(9).hasPrefix("strategic account (door-opener)"))
        #expect(r.reason(0) == "expected value 56.00 over 100 days is in the top 10% (at least 22.61)")
        #expect(r.reason(2).hasPrefix("12.2 orders a year is in the top 20% (at least 8.3)"))
        #expect(r.reason(4) == "cost to serve 8.00 per order takes 80% of its margin 10.00 (limit 50%)")
        #expect(r.reason(5) == "80% of spend bought on discount (limit 50%): a deal-driven switcher")
        #expect(r.reason(1).hasPrefix("no keep rule holds: expected value 9.00 below 22.61, 3.6 orders a year below 8.3"))
        #expect(r.unavailable.isEmpty)
    }

    @Test func targetsReconcile() throws {
        let r = try Segmenter(settings: Self.settings(), accounts: StrategicAccounts(roles: ["J": .doorOpener])).segment(Self.table)
        let t = Dictionary(uniqueKeysWithValues: r.targets.map { ($0.segment, $0) })
        #expect(r.targets.map(\.segment) == Segment.allCases)
        #expect(r.targets.reduce(0) { $0 + $1.customers } == 10)
        // keep-strategic A, J: Σp 0.7, p·R 42.5, p·P 14.5; ρ 25%: 0.175 customers, 10.625 revenue, 0.25·14.5/2 per customer.
        let k = try #require(t[.keepStrategic])
        #expect(k.customers == 2 && isClose(k.expectedChurners, 0.7) && isClose(k.revenueAtRisk, 42.5) && isClose(k.profitAtRisk, 14.5))
        #expect(isClose(k.targetRetainedCustomers, 0.175) && isClose(k.targetRetainedRevenue, 10.625) && isClose(k.maxSpendPerCustomer, 1.8125))
        // high-volume C, D: Σp 1.3, p·R 110, p·P 20; ρ 15%: 0.195, 16.5, 1.5.
        let h = try #require(t[.highVolume])
        #expect(h.customers == 2 && isClose(h.expectedChurners, 1.3) && isClose(h.revenueAtRisk, 110))
        #expect(isClose(h.targetRetainedCustomers, 0.195) && isClose(h.targetRetainedRevenue, 16.5) && isClose(h.maxSpendPerCustomer, 1.5))
        // costly-switcher E, F: Σp 1.3, p·R 38, p·P 7.5; ρ 5%: 0.065, 1.9, 0.1875.
        let c = try #require(t[.costlySwitcher])
        #expect(isClose(c.revenueAtRisk, 38) && isClose(c.targetRetainedRevenue, 1.9) && isClose(c.maxSpendPerCustomer, 0.1875))
        // drop B, G, H, I: Σp 1.7, p·R 53.5; no spend.
        let d = try #require(t[.drop])
        #expect(d.customers == 4 && isClose(d.expectedChurners, 1.7) && isClose(d.revenueAtRisk, 53.5))
        #expect(d.targetRetainedCustomers == 0 && d.maxSpendPerCustomer == 0)
        #expect(isClose(r.targets.reduce(0) { $0 + $1.expectedChurners }, 5.0))
    }

    @Test func rulesWithoutTheirDataAreSkippedAndSaidSo() throws {
        // CDNOW-like: no cost, service cost or discount columns.
        let t = scores(["a", "b", "c"], [("churn_probability", [0.5, 0.5, 0.5]), ("frequency", [1, 2, 3]),
                                          ("monetary", [10, 10, 10]), ("tenure_days", [100, 100, 100])])
        let r = try Segmenter(settings: Self.settings(), accounts: nil).segment(t)
        #expect(r.unavailable.count == 3)
        #expect(r.unavailable.contains { $0.contains("no service_cost column") })
        #expect(r.unavailable.contains { $0.contains("no discount column") })
        #expect(r.unavailable.contains { $0.contains("default_margin_rate") })
        #expect(!r.placements.contains { $0.segment == .costlySwitcher })
        // Default margin 30%: c: r = 0.03, P = 0.03·100·3 = 9, EV = 4.5.
        #expect(isClose(r.placements[2].value.expectedValue, 4.5, rel: 1e-12))
    }

    @Test func strategicAccountsFile() throws {
        let dir = TemporaryFolder()
        let good = try dir.write("a.csv", "customer_id,role\nC1,benchmark\n\"a,b\",door-opener\r\nC3, Technology-Partner \n")
        let a = try StrategicAccounts.load(good)
        #expect(a.roles == ["C1": .benchmark, "a,b": .doorOpener, "C3": .technologyPartner])
        let bad = try dir.write("b.csv", "customer_id,role\nC1,benchmark\nC2,friend\n")
        #expect { try StrategicAccounts.load(bad) } throws: { e in
            (e as? SegmentationError)?.description.contains("b.csv:3: role 'friend' is not one of") == true
        }
        let noHeader = try dir.write("c.csv", "id,kind\n")
        #expect(throws: SegmentationError.self) { try StrategicAccounts.load(noHeader) }
        // Saved by a spreadsheet with a byte-order mark: the header still names customer_id.
        let marked = try dir.write("d.csv", "\u{FEFF}customer_id,role\nC1,benchmark\n")
        #expect(try StrategicAccounts.load(marked).roles == ["C1": .benchmark])
    }
}

/// Retention per period, worked by hand. Monthly periods, active window W = 30 days.
/// Boundaries: Jan 31, Feb 29, Mar 31 (2024); active at b = a purchase in (b − 30, b]:
/// (Jan 1, Jan 31], (Jan 30, Feb 29], (Mar 1, Mar 31].
///
/// | customer | purchases (amount, cost, service) | active Jan 31 / Feb 29 / Mar 31 |
/// |---|---|---|
/// | u1 | Jan 10 (100, 60, 5), Feb 10 (50, 30, 5), Feb 20 refund (−10, −6, 0), Mar 10 (80, 40, 5) | yes / yes / yes |
/// | u2 | Jan 15 (40, 20, 2) | yes / no / no |
/// | u3 | Feb 5 (30, 15, 1): new in Feb | no / yes / no |
/// | u4 | Jan 20 (60, 30, 3), Mar 20 (60, 30, 3) | yes / no / yes |
/// | u5 | Mar 5 (20, 10, 1): new in Mar | no / no / yes |
/// | u6 | Jan 1 (10, 5, 0): the data's first day | no / no / no |
/// | u7 | Mar 31 (5, 2, 0): new in Mar, the data's last day | no / no / yes |
///
/// February: S {u1, u2, u4} = 3, E {u1, u3} = 2, N 1: retention (2 − 1)/3 = 33.33%, lost
/// {u2, u4}: churn 66.67%. Retained u1's February sales 50 − 10 = 40, profit 15 − 4 = 11;
/// base = S's sales in the 29 days before (Jan 3 to Jan 31): 100 + 40 + 60 = 200, profit
/// 35 + 18 + 27 = 80 → sales-adjusted 20%, profit-based 13.75%.
/// March: S {u1, u3} = 2, E {u1, u4, u5, u7} = 4, N 2: retention (4 − 2)/2 = 100%; lost
/// {u3}: churn 50%. Retained u1: 80, profit 35; base Jan 30 to Feb 29 of {u1, u3}: sales
/// 50 − 10 + 30 = 70, profit 11 + 14 = 25 → 114.29%, 140%.
@Suite("Retention history: a hand-worked example")
struct RetentionHistoryTests {
    static func view() throws -> (LedgerView, TemporaryFolder) {
        let dir = TemporaryFolder()
        let rows = [
            "1,u1,2024-01-10,100,60,5", "2,u1,2024-02-10,50,30,5", "3,u1,2024-02-20,-10,-6,0", "4,u1,2024-03-10,80,40,5",
            "5,u2,2024-01-15,40,20,2", "6,u3,2024-02-05,30,15,1", "7,u4,2024-01-20,60,30,3", "8,u4,2024-03-20,60,30,3",
            "9,u5,2024-03-05,20,10,1", "10,u6,2024-01-01,10,5,0", "11,u7,2024-03-31,5,2,0",
        ]
        let input = try dir.write("in.csv", (["order_id,customer_id,date,amount,cost,service_cost"] + rows).joined(separator: "\n") + "\n")
        guard let dateFormat = DateFormat(pattern: "yyyy-MM-dd") else { throw CocoaError(.formatting) }
        var f = InputFormat(dateFormat: dateFormat, earliestDay: 0, latestDay: 30_000)
        f.columns = [.orderID: .name("order_id"), .customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount"),
                     .cost: .name("cost"), .serviceCost: .name("service_cost")]
        _ = try Ingestor(format: f).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        return (try LedgerView(parts: [try LedgerPart(path: dir.file("p"))]), dir)
    }

    /// The two months of the example.
    static var twoMonths: SegmentSettings {
        var s = SegmentSettings()
        s.historyPeriod = .month
        s.historyPeriods = 2
        return s
    }

    @Test func everyMeasureByHand() throws {
        let (view, _) = try Self.view()
        let h = try RetentionHistory.compute(view, settings: Self.twoMonths, activeWindowDays: 30)
        #expect(h.rows.count == 2)
        let feb = h.rows[0], mar = h.rows[1]
        #expect(CivilDate.iso(feb.start) == "2024-02-01" && CivilDate.iso(feb.end) == "2024-02-29")
        #expect(feb.customersStart == 3 && feb.customersEnd == 2 && feb.newCustomers == 1 && feb.lost == 2 && feb.retained == 1)
        #expect(isClose(feb.retentionRate, 100.0 / 3) && isClose(feb.churnRate, 200.0 / 3))
        #expect(isClose(feb.salesRetained, 40) && isClose(feb.salesBase, 200) && isClose(feb.salesAdjustedRetention, 20))
        #expect(isClose(feb.profitRetained, 11) && isClose(feb.profitBase, 80) && isClose(feb.profitRetention, 13.75))
        #expect(CivilDate.iso(mar.start) == "2024-03-01" && CivilDate.iso(mar.end) == "2024-03-31")
        #expect(mar.customersStart == 2 && mar.customersEnd == 4 && mar.newCustomers == 2 && mar.lost == 1)
        #expect(isClose(mar.retentionRate, 100) && isClose(mar.churnRate, 50))
        #expect(isClose(mar.salesAdjustedRetention, 80.0 / 70 * 100) && isClose(mar.profitRetention, 140))
        // Cohorts: February's first buyers are u3 (02-05), active at the end of February
        // (bought in the 30 days before) but not of March; March's are u5 and u7, both
        // active at its end.
        let cells = h.cohorts.map { "\(CivilDate.iso($0.cohortStart)) \(CivilDate.iso($0.periodStart)) \($0.retained)/\($0.customers)" }
        #expect(cells == ["2024-02-01 2024-02-01 1/1", "2024-02-01 2024-03-01 0/1", "2024-03-01 2024-03-01 2/2"])
        #expect(isClose(h.cohorts[1].retentionRate, 0) && isClose(h.cohorts[2].retentionRate, 100))
    }

    /// Asked to stop (its run ended first), the history stops with its own error.
    @Test func stopping() throws {
        let (view, _) = try Self.view()
        #expect(throws: SegmentationError.self) {
            _ = try RetentionHistory.compute(view, settings: Self.twoMonths, activeWindowDays: 30, stop: { true })
        }
    }

    @Test func periodsAreCompleteCalendarPeriods() throws {
        func d(_ y: Int, _ m: Int, _ day: Int) throws -> Int32 { try #require(CivilDate.day(year: y, month: m, day: day)) }
        // Data to 2025-11-20: the last complete quarter is Q3; weeks start on Monday (2025-11-17 was one).
        let q = RetentionHistory.periods(.quarter, count: 2, firstDay: try d(2024, 1, 1), lastDay: try d(2025, 11, 20))
        #expect(q.map { CivilDate.iso($0.start) } == ["2025-04-01", "2025-07-01"])
        #expect(q.map { CivilDate.iso($0.end) } == ["2025-06-30", "2025-09-30"])
        let w = RetentionHistory.periods(.week, count: 1, firstDay: try d(2024, 1, 1), lastDay: try d(2025, 11, 20))
        #expect(CivilDate.iso(w[0].start) == "2025-11-10" && CivilDate.iso(w[0].end) == "2025-11-16")
        let y = RetentionHistory.periods(.year, count: 5, firstDay: try d(2023, 3, 1), lastDay: try d(2025, 12, 31))
        #expect(y.map { CivilDate.iso($0.start) } == ["2024-01-01", "2025-01-01"], "2023 began before the data")
    }

    /// The day table of pass 1 against the rule it stands for, boundary by boundary: a
    /// purchase on day t makes its customer active at boundary b when t <= b < t + window.
    @Test func activeBoundariesFollowTheRule() {
        var random = SplitMix(seed: 5)
        for _ in 0..<200 {
            var boundaries: [Int32] = [Int32(random.next() % 1000)]
            for _ in 0..<Int(random.next() % 12) { boundaries.append(boundaries[boundaries.count - 1] + 1 + Int32(random.next() % 120)) }
            let window = 1 + Int32(random.next() % 400)
            let (first, bits) = RetentionHistory.activeBoundaries(boundaries, window: window)
            for t in (boundaries[0] - window - 3)...(boundaries[boundaries.count - 1] + 3) {
                var expected: UInt64 = 0
                for (j, b) in boundaries.enumerated() where t <= b && b < t + window { expected |= 1 << UInt64(j) }
                let d = Int(t - first)
                let got = d >= 0 && d < bits.count ? bits[d] : 0
                #expect(got == expected, "day \(t), window \(window), boundaries \(boundaries)")
                if got != expected { return }
            }
        }
    }
}

/// With the value stage's figures, keep-strategic ranks by CLV: the same ten customers,
/// CLV given by hand so that G (not A) is on top. CLV sorted: 1 … 9, 100 (G); the 90%
/// quantile (type 7) is 9 + 0.1·(100 − 9) = 18.1, so G is keep-strategic by CLV, A falls
/// to the next rule that holds for it (none: drop; its 7.3 orders a year are below 8.27),
/// J stays a listed door-opener. CLV at risk per group = Σ p·CLV.
@Suite("Segments with lifetime value")
struct LifetimeSegmentTests {
    static let clv: [Double] = [5, 1, 2, 3, 4, 6, 100, 7, 8, 9]

    @Test("keep-strategic is the top CLV decile plus strategic accounts; the reason cites the CLV; CLV at risk adds up")
    func byCLV() throws {
        let lifetime = LifetimeColumns(pAlive: Array(repeating: 0.5, count: 10), expectedPurchases: Array(repeating: 1, count: 10),
                                       clv: Self.clv, horizonMonths: 12)
        let r = try Segmenter(settings: SegmentTests.settings(), accounts: StrategicAccounts(roles: ["J": .doorOpener]))
            .segment(SegmentTests.table, lifetime: lifetime)
        #expect(r.placements.map(\.segment) == [.drop, .drop, .highVolume, .highVolume, .costlySwitcher,
                                                .costlySwitcher, .keepStrategic, .drop, .drop, .keepStrategic])
        #expect(isClose(r.valueThreshold, 18.1, rel: 1e-12))
        #expect(r.reason(6) == "CLV 100.00 over 12 months is in the top 10% (at least 18.10)")
        #expect(r.reason(9) == "strategic account (door-opener); CLV 9.00 over 12 months")
        let p = [0.2, 0.5, 0.9, 0.4, 0.6, 0.7, 0.3, 0.8, 0.1, 0.5]
        for t in r.targets {
            let members = r.placements.indices.filter { r.placements[$0].segment == t.segment }
            #expect(isClose(t.clvAtRisk ?? .nan, members.reduce(0) { $0 + p[$1] * Self.clv[$1] }, rel: 1e-12, abs: 1e-12), "\(t.segment)")
        }
    }
}

/// The group profile on the hand-worked ten: A and J keep-strategic, C and D high-volume,
/// E and F costly-switcher, B, G, H and I drop.
@Suite("Group profile: distributions and the most at stake")
struct GroupProfileTests {
    static let clv: [Double] = [100, 10, 20, 30, 40, 50, 60, 70, 80, 1000]

    func profile(top: Int = 10) throws -> (Segmenter.Result, GroupProfile) {
        let r = try Segmenter(settings: SegmentTests.settings(), accounts: StrategicAccounts(roles: ["J": .doorOpener])).segment(SegmentTests.table)
        let churn = SegmentTests.table.column("churn_probability") ?? []
        return (r, GroupProfile.make(r, churn: churn, clv: Self.clv, top: top))
    }

    @Test func churnBinsCountEachGroupsCustomers() throws {
        let (_, p) = try profile()
        let drop = p.bins.filter { $0.segment == "drop" && $0.measure == "churn_probability" }
        #expect(drop.count == 20)
        // B 0.5, G 0.3, H 0.8, I 0.1: bins of 0.05.
        #expect(drop.indices.filter { drop[$0].customers > 0 } == [2, 6, 10, 16])
        for seg in Segment.allCases {
            let n = p.bins.filter { $0.segment == seg.rawValue && $0.measure == "churn_probability" }.reduce(0) { $0 + $1.customers }
            #expect(n == [Segment.keepStrategic: 2, .highVolume: 2, .costlySwitcher: 2, .drop: 4][seg])
        }
    }

    /// p99 of the CLVs (type 7): 100 + 0.91·(1000 − 100) = 919, rounded up to 1000; bins of
    /// 50; J's 1000 is in the open bin.
    @Test func clvBinsUpToTheRoundedPercentile() throws {
        let (_, p) = try profile()
        let all = p.bins.filter { $0.segment == "all" && $0.measure == "clv" }
        #expect(all.count == 21 && all.last?.high == nil && all.last?.low == 1000)
        #expect(isClose(all[1].low, 50) && isClose(all[1].high ?? 0, 100))
        #expect(all.reduce(0) { $0 + $1.customers } == 10 && all.last?.customers == 1)
        // 100 (A) is in [100, 150): bin 2.
        #expect(all[2].customers == 1)
    }

    /// Stakes p·CLV: J 500, A 20; C 18, D 12; F 35, E 24; H 56, G 18, I 8, B 5.
    @Test func mostAtStakeByCLVAtRisk() throws {
        let (r, p) = try profile()
        let ids = SegmentTests.ids
        #expect(p.atRisk.map { ids[$0.index] } == ["J", "A", "C", "D", "F", "E", "H", "G", "I", "B"])
        #expect(p.atRisk.map(\.rank) == [1, 2, 1, 2, 1, 2, 1, 2, 3, 4])
        #expect(isClose(p.atRisk[0].clvAtRisk ?? 0, 500) && isClose(p.atRisk[0].revenueAtRisk, r.placements[9].value.revenueAtRisk))
        let (_, first) = try profile(top: 1)
        #expect(first.atRisk.map { ids[$0.index] } == ["J", "C", "F", "H"])
    }
}
