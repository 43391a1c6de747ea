import Foundation
import Ledger
import RetainIO
import RetainTestSupport
import Testing

/// RFC 4180 lets a quoted field hold line breaks; a customer id can. The record runs over
/// the lines, later line numbers stay physical, and the work split over the cores never
/// cuts such a record.
@Suite("Quoted fields over several lines")
struct QuotedLineBreakTests {
    static func format() -> InputFormat {
        var f = InputFormat(dateFormat: DateFormat(pattern: "yyyy-MM-dd")!, earliestDay: 0, latestDay: 30_000)
        f.columns = [.orderID: .name("order_id"), .customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount")]
        return f
    }

    @Test func idsWithLineBreaksCommasAndQuotes() throws {
        let dir = TemporaryFolder()
        let text = "order_id,customer_id,date,amount\n"
            + "o1,plain,2024-01-01,1.00\n"
            + "o2,\"two\nlines\",2024-01-02,2.00\n"
            + "o3,\"a,b\",2024-01-03,3.00\r\n"
            + "o4,\"say \"\"q\"\"\",2024-01-04,4.00\n"
            + "o5,\"three\r\nline\r\nid\",2024-01-05,5.00\n"
            + "o6,bad,2024-13-01,6.00\n"  // physical line 10
        let input = try dir.write("in.csv", text)
        let ingestor = Ingestor(format: Self.format())
        let s = try ingestor.ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsAccepted == 5 && s.rowsRejected == 1)
        let view = try LedgerView(parts: [try LedgerPart(path: dir.file("p"))])
        #expect(Set(view.customerIDs) == ["plain", "two\nlines", "a,b", "say \"q\"", "three\r\nline\r\nid"])
        let rejects = String(decoding: try FilePath.readAll(dir.file("r")), as: UTF8.self)
        #expect(rejects.contains("10,"), "the bad row keeps its physical line: \(rejects)")
    }

    @Test("many multi-line records across the split between the cores")
    func acrossTheSplit() throws {
        let dir = TemporaryFolder()
        var text = "order_id,customer_id,date,amount\n"
        for i in 0..<2000 { text += "o\(i),\"id \(i % 50)\nsecond line\",2024-01-\(String(format: "%02d", i % 28 + 1)),1.00\n" }
        let input = try dir.write("in.csv", text)
        var ingestor = Ingestor(format: Self.format())
        ingestor.parallelThreshold = 64  // split even this small block between two workers
        let s = try ingestor.ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsAccepted == 2000 && s.rowsRejected == 0)
        let view = try LedgerView(parts: [try LedgerPart(path: dir.file("p"))])
        #expect(view.customerIDs.count == 50)
        #expect(view.customerIDs.allSatisfy { $0.hasSuffix("\nsecond line") })
    }

    @Test func aStrayQuoteRejectsOnlyItsLine() throws {
        let dir = TemporaryFolder()
        var text = "order_id,customer_id,date,amount\n"
        for i in 0..<50 { text += "o\(i),c\(i % 5),2024-01-02,1.00\n" }
        text += "o99,\"never closed,2024-01-02,1.00\n"
        for i in 50..<100 { text += "o\(i),c\(i % 5),2024-01-02,1.00\n" }
        let input = try dir.write("in.csv", text)
        let s = try Ingestor(format: Self.format()).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsAccepted == 100 && s.rowsRejected == 1)
        let rejects = String(decoding: try FilePath.readAll(dir.file("r")), as: UTF8.self)
        #expect(rejects.contains("52,unterminated_quote"), "\(rejects)")
    }
}
