import Testing
import Ledger
import RetainIO
import RetainTestSupport

/// The real CDNOW log as it arrives (README of datasets/cdnow): 69,659 transactions of
/// 23,570 customers between 1997-01-01 and 1998-06-30, whitespace separated, CRLF.
@Suite("CDNOW, read as it arrives")
struct CDNOWTests {
    static func format() -> InputFormat {
        var f = InputFormat(dateFormat: DateFormat(pattern: "yyyyMMdd")!, earliestDay: CivilDate.day(year: 1990, month: 1, day: 1)!,
                            latestDay: CivilDate.day(year: 2030, month: 1, day: 1)!)
        f.delimiter = .whitespace
        f.hasHeader = true
        f.columns = [.customerID: .name("customer_id"), .date: .name("date"), .amount: .name("dollar_value"),
                     .quantity: .name("number_of_cds")]
        return f
    }

    @Test("every row accepted, every customer found, totals exact")
    func counts() throws {
        let dir = TemporaryFolder()
        let summary = try Ingestor(format: Self.format()).ingest(inputPath: RepoPaths.cdnow, partPath: dir.file("p.part"), rejectsPath: dir.file("r.csv"))
        #expect(summary.rowsRead == 69_659)
        #expect(summary.rowsAccepted == 69_659)
        #expect(summary.rowsRejected == 0)
        #expect(summary.customers == 23_570)
        #expect(summary.firstDay == CivilDate.day(year: 1997, month: 1, day: 1))
        #expect(summary.lastDay == CivilDate.day(year: 1998, month: 6, day: 30))

        let part = try LedgerPart(path: dir.file("p.part"))
        var rows = 0
        var total = 0.0, cds = 0.0
        var ids = Set<String>()
        try part.forEachChunk { c in
            rows += c.count
            for i in 0..<c.count { total += c.amount[i]; cds += c.numbers[.quantity]![i] }
            for s in c.slot { ids.insert(part.customerID(slot: Int(s))!) }
        }
        #expect(rows == 69_659)
        #expect(ids.count == 23_570)
        #expect(ids.contains("00001") && ids.contains("23570"))
        // Sums computed independently: awk '{s+=$4; c+=$3} END {printf "%.2f %d", s, c}' (header skipped).
        #expect(isClose(total, Self.expectedDollars, rel: 1e-11))
        #expect(isClose(cds, Self.expectedCDs, rel: 0))
    }

    static let expectedDollars = 2_500_315.63
    static let expectedCDs = 167_881.0
}
