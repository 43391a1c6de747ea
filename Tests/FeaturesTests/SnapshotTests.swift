import Testing
import Foundation
import Features
import Ledger
import RetainIO
import RetainTestSupport

/// Edge cases of the feature definitions, each worked by hand. As-of A = 2024-03-01,
/// horizon H = 30 days (so A + H = 2024-03-31), trend window W = 30, active window 365.
@Suite("Snapshots: definitions at the edges")
struct SnapshotTests {
    static let a = CivilDate.day(year: 2024, month: 3, day: 1)!

    static func settings() -> FeatureSettings {
        var s = FeatureSettings()
        s.horizonDays = 30
        s.trendWindowDays = 30
        s.activeWindowDays = 365
        return s
    }

    /// Builds a ledger from `order_id,customer_id,date,amount[,discount,cost,service_cost]` rows.
    static func view(_ rows: [String], optional: Bool = false) throws -> (LedgerView, TemporaryFolder) {
        let dir = TemporaryFolder()
        let header = optional ? "order_id,customer_id,date,amount,discount,cost,service_cost" : "order_id,customer_id,date,amount"
        let input = try dir.write("in.csv", ([header] + rows).joined(separator: "\n") + "\n")
        var f = InputFormat(dateFormat: DateFormat(pattern: "yyyy-MM-dd")!, earliestDay: 0, latestDay: 30_000)
        f.columns = [.orderID: .name("order_id"), .customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount")]
        if optional { f.columns[.discount] = .name("discount"); f.columns[.cost] = .name("cost"); f.columns[.serviceCost] = .name("service_cost") }
        _ = try Ingestor(format: f).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        return (try LedgerView(parts: [try LedgerPart(path: dir.file("p"))]), dir)
    }

    /// Feature value of a customer in a snapshot, or nil when the customer is not in it.
    static func value(_ s: Snapshot, _ view: LedgerView, _ id: String, _ f: Feature) -> Double? {
        guard let c = view.customerIDs.firstIndex(of: id), let row = s.customers.firstIndex(of: Int32(c)),
              let col = s.features.firstIndex(of: f) else { return nil }
        return s.values[col][row]
    }

    static func label(_ s: Snapshot, _ view: LedgerView, _ id: String) -> UInt8? {
        guard let c = view.customerIDs.firstIndex(of: id), let row = s.customers.firstIndex(of: Int32(c)) else { return nil }
        return s.churned?[row]
    }

    @Test("a single purchase: recency = tenure, frequency 1, no mean gap")
    func single() throws {
        let (v, dir) = try Self.view(["o1,c1,2024-01-10,10.00", "x,late,2024-04-30,1"])
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        // 2024-01-10 to 2024-03-01: 21 days to Jan 31, 29 in February (leap year), 1 = 51.
        #expect(Self.value(s, v, "c1", .recencyDays) == 51)
        #expect(Self.value(s, v, "c1", .tenureDays) == 51)
        #expect(Self.value(s, v, "c1", .frequency) == 1)
        #expect(Self.value(s, v, "c1", .monetary) == 10)
        #expect(Self.value(s, v, "c1", .meanGapDays)?.isNaN == true)
        #expect(Self.value(s, v, "c1", .recencyOverGap)?.isNaN == true)
        #expect(Self.label(s, v, "c1") == 1, "no purchase in (A, A+H]")
    }

    @Test("refunds larger than purchases: net negative, monetary negative, refund rate over 1")
    func netNegative() throws {
        let (v, dir) = try Self.view(["o1,c2,2024-01-05,20.00", "r1,c2,2024-01-20,-30.00", "x,late,2024-04-30,1"])
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        #expect(Self.value(s, v, "c2", .frequency) == 1, "a refund is not an order")
        #expect(Self.value(s, v, "c2", .monetary) == -10)   // (20 - 30) / 1
        #expect(Self.value(s, v, "c2", .refundRate) == 1.5) // 30 / 20
        #expect(Self.value(s, v, "c2", .recencyDays) == 56, "the last purchase, not the refund: Jan 5 -> Mar 1")
    }

    @Test("several orders on one day, and one order split over rows")
    func ordersAndLines() throws {
        let (v, dir) = try Self.view([
            "o1,c3,2024-02-01,15.00", "o2,c3,2024-02-01,5.00",                           // two orders, same day
            "o9,c6,2024-02-10,2.00", "o9,c6,2024-02-10,3.00", "o9,c6,2024-02-10,5.00",   // one order, three lines
            "x,late,2024-04-30,1",
        ])
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        #expect(Self.value(s, v, "c3", .frequency) == 2)
        #expect(Self.value(s, v, "c3", .monetary) == 10)      // 20 / 2
        #expect(Self.value(s, v, "c3", .meanGapDays) == 0)    // (Feb 1 - Feb 1) / (2 - 1)
        #expect(Self.value(s, v, "c3", .recencyOverGap)?.isNaN == true, "a zero gap has no ratio")
        #expect(Self.value(s, v, "c6", .frequency) == 1)
        #expect(Self.value(s, v, "c6", .monetary) == 10)      // 2 + 3 + 5
        #expect(Self.value(s, v, "c6", .ordersLastWindow) == 1, "Feb 10 is in (Jan 31, Mar 1]")
    }

    @Test("purchases exactly on A and on A + H; a customer seen only after A")
    func boundaries() throws {
        let (v, dir) = try Self.view([
            "o1,c4,2024-01-15,1", "o2,c4,2024-03-01,4", "o3,c4,2024-03-31,9",   // on A (history), on A+H (in horizon)
            "o4,c5,2024-01-15,1", "o5,c5,2024-04-01,9",                          // A+H+1: outside the horizon
            "o6,c7,2024-03-06,7",                                                // only after A
            "x,late,2024-04-30,1",
        ])
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        #expect(Self.value(s, v, "c4", .recencyDays) == 0)
        #expect(Self.value(s, v, "c4", .frequency) == 2)
        #expect(Self.value(s, v, "c4", .monetary) == 2.5)    // (1 + 4) / 2
        #expect(Self.value(s, v, "c4", .meanGapDays) == 46)  // Jan 15 -> Mar 1 = 46 days, 1 gap
        #expect(Self.label(s, v, "c4") == 0, "a purchase on A + H is inside (A, A + H]")
        #expect(Self.label(s, v, "c5") == 1, "A + H + 1 is outside")
        #expect(Self.value(s, v, "c7", .frequency) == nil, "first seen after A: not in the snapshot")
        #expect(!s.customers.contains(Int32(v.customerIDs.firstIndex(of: "late")!)))
    }

    @Test("activity window: with 366 days, a purchase on A - 365 counts and one on A - 366 does not")
    func activeWindow() throws {
        // 2023-03-01 to 2024-03-01 is 366 days (Feb 29, 2024 lies between): 2023-03-02 is
        // A - 365 and 2023-03-01 is A - 366; the window (A - 366, A] holds the first only.
        let (v, dir) = try Self.view(["o1,in,2023-03-02,1", "o2,out,2023-03-01,1", "x,late,2024-04-30,1"])
        _ = dir
        var settings = Self.settings()
        settings.activeWindowDays = 366
        let s = try SnapshotBuilder(settings: settings).build(v, asOf: [Self.a])[0]
        #expect(Self.value(s, v, "in", .frequency) == 1, "A - 365 is inside (A - 366, A]")
        #expect(Self.value(s, v, "out", .frequency) == nil, "A - 366 is outside")
    }

    @Test("trend windows, discount, margin and cost to serve, when the columns exist")
    func behaviour() throws {
        let (v, dir) = try Self.view([
            "o1,c8,2024-01-20,100,0,60,5",     // previous window (Jan 1, Jan 31]
            "o2,c8,2024-02-15,50,10,20,3",     // last window (Jan 31, Mar 1], discounted
            "r2,c8,2024-02-20,-10,0,-4,",      // refund in the last window, service unknown
            "x,late,2024-04-30,1,0,1,1",
        ], optional: true)
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        #expect(Self.value(s, v, "c8", .spendLastWindow) == 40)        // 50 - 10
        #expect(Self.value(s, v, "c8", .spendPreviousWindow) == 100)
        #expect(Self.value(s, v, "c8", .ordersLastWindow) == 1)
        #expect(Self.value(s, v, "c8", .ordersPreviousWindow) == 1)
        #expect(isClose(Self.value(s, v, "c8", .discountShare) ?? .nan, 50.0 / 150.0, rel: 1e-15))
        #expect(Self.value(s, v, "c8", .serviceCostPerOrder) == 4)      // (5 + 3) / 2
        #expect(Self.value(s, v, "c8", .marginRate) == (140.0 - 76.0) / 140.0)  // net 140, cost 60+20-4
        #expect(Self.value(s, v, "c8", .refundRate) == 10.0 / 150.0)
    }

    @Test("without cost, discount or service-cost columns those features are absent, not zero")
    func absentColumns() throws {
        let (v, dir) = try Self.view(["o1,c1,2024-01-10,10.00"])
        _ = dir
        let s = try SnapshotBuilder(settings: Self.settings()).build(v, asOf: [Self.a])[0]
        #expect(!s.features.contains(.discountShare) && !s.features.contains(.marginRate) && !s.features.contains(.serviceCostPerOrder))
        #expect(Array(s.features.prefix(4)) == Feature.contract)
        #expect(s.churned == nil, "the data ends before A + H: no labels")
    }
}
