import Testing
import Foundation
import Ledger
import RetainIO
import RetainTestSupport

/// Each kind of bad row, alone in a file of good rows: exactly one reject, with the right
/// reason and physical line number, and every good row still in the ledger.
@Suite("Rejected rows")
struct RejectTests {
    static func format(order: Bool = true, quantity: Bool = false) -> InputFormat {
        var f = InputFormat(dateFormat: DateFormat(pattern: "yyyy-MM-dd")!, earliestDay: CivilDate.day(year: 2000, month: 1, day: 1)!,
                            latestDay: CivilDate.day(year: 2030, month: 12, day: 31)!)
        f.columns = [.customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount")]
        if order { f.columns[.orderID] = .name("order_id") }
        if quantity { f.columns[.quantity] = .name("quantity") }
        return f
    }

    /// 100 good rows (amount 1.00 each, distinct orders), the bad row as data row 51
    /// (physical line 52, after the header), then 100 more good rows.
    static func file(bad: String, header: String = "order_id,customer_id,date,amount,quantity") -> String {
        var lines = [header]
        for i in 0..<100 { lines.append("o\(i),c\(i % 7),2024-01-\(String(format: "%02d", i % 28 + 1)),1.00,1") }
        lines.insert(bad, at: 51)
        for i in 100..<200 { lines.append("o\(i),c\(i % 7),2024-02-\(String(format: "%02d", i % 28 + 1)),1.00,1") }
        return lines.joined(separator: "\n") + "\n"
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let bad: String
        let reason: RejectReason
        var quantity = false
        var testDescription: String { "\(reason.rawValue): \(bad.debugDescription)" }
    }

    static let cases: [Case] = [
        Case(bad: "o900,c1,2024-01-05", reason: .missingField),
        Case(bad: "o900,c1,2024-01-05,1.00,1,extra", reason: .tooManyFields),
        Case(bad: "o900,\"c1,2024-01-05,1.00,1", reason: .unterminatedQuote),
        Case(bad: "o900,,2024-01-05,1.00,1", reason: .emptyCustomerID),
        Case(bad: "o900,c1,2024-02-30,1.00,1", reason: .unparsableDate),
        Case(bad: "o900,c1,05/01/2024,1.00,1", reason: .unparsableDate),
        Case(bad: "o900,c1,,1.00,1", reason: .missingField),
        Case(bad: "o900,c1,1899-12-31,1.00,1", reason: .implausibleDate),
        Case(bad: "o900,c1,2099-01-01,1.00,1", reason: .implausibleDate),
        Case(bad: "o900,c1,2024-01-05,1.0O,1", reason: .unparsableAmount),
        Case(bad: "o900,c1,2024-01-05,$3,1", reason: .unparsableAmount),
        Case(bad: "o900,c1,2024-01-05,,1", reason: .missingField),
        Case(bad: "o900,c1,2024-01-05,1e99,1", reason: .unparsableAmount),
        Case(bad: "o900,c1,2024-01-05,99999999999,1", reason: .implausibleAmount),
        Case(bad: "o900,c1,2024-01-05,1.00,two", reason: .unparsableNumber, quantity: true),
        Case(bad: ",c1,2024-01-05,1.00,1", reason: .missingOrderID),
        // An exact repeat of data row 10 (physical line 11): the second copy is rejected.
        Case(bad: "o9,c2,2024-01-10,1.00,1", reason: .duplicateLine),
    ]

    @Test("one bad row: one reject, right reason and line, nothing else lost", arguments: cases)
    func oneBadRow(_ c: Case) throws {
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", Self.file(bad: c.bad))
        let summary = try Ingestor(format: Self.format(quantity: c.quantity))
            .ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(summary.rowsRead == 201)
        #expect(summary.rowsRejected == 1)
        #expect(summary.rowsAccepted == 200)
        #expect(summary.rejectsByReason == [c.reason.rawValue: 1])
        let rejects = try String(contentsOfFile: dir.file("r"), encoding: .utf8)
        #expect(rejects.hasPrefix("52,\(c.reason.rawValue),"), "reject line: \(rejects)")
        // Every good row is in the ledger: 200 rows of 1.00.
        var total = 0.0, rows = 0
        try LedgerPart(path: dir.file("p")).forEachChunk { ch in rows += ch.count; total += ch.amount.reduce(0, +) }
        #expect(rows == 200)
        #expect(isClose(total, 200, rel: 1e-15))
    }

    @Test("invalid UTF-8 in a customer id is rejected, not stored")
    func invalidUTF8() throws {
        let dir = TemporaryFolder()
        var bytes = Array(Self.file(bad: "o900,cX,2024-01-05,1.00,1").utf8)
        let x = bytes.firstIndex(of: UInt8(ascii: "X"))!
        bytes[x] = 0xFF
        let input = dir.file("in.csv")
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        let s = try Ingestor(format: Self.format()).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rejectsByReason == [RejectReason.invalidText.rawValue: 1])
        #expect(s.rowsAccepted == 200)
        // rejects.csv stays valid UTF-8 even though the raw line was not.
        let text = try String(contentsOfFile: dir.file("r"), encoding: .utf8)
        #expect(text.hasPrefix("52,invalid_utf8,"))
    }

    @Test("without order ids, identical lines are separate purchases (CDNOW has them)")
    func repeatsWithoutOrderIDs() throws {
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", "customer_id,date,amount\nc1,2024-01-01,5\nc1,2024-01-01,5\n")
        let s = try Ingestor(format: Self.format(order: false)).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsAccepted == 2 && s.rowsRejected == 0)
    }

    @Test("blank lines are counted, not rows; CRLF and a missing final newline are fine")
    func blankLines() throws {
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", "customer_id,date,amount\r\nc1,2024-01-01,5\r\n\r\nc2,2024-01-02,6")
        let s = try Ingestor(format: Self.format(order: false)).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsRead == 2 && s.rowsAccepted == 2 && s.blankLines == 1)
    }

    @Test("a header without a mapped column is an error naming the key and the columns")
    func missingColumn() throws {
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", "client,date,amount\nc1,2024-01-01,5\n")
        #expect {
            try Ingestor(format: Self.format(order: false)).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        } throws: { e in
            let text = String(describing: e)
            return text.contains("input.columns.customer_id") && text.contains("client, date, amount") && text.contains(":1:")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("p")), "no half-written part")
    }
}

@Suite("Duplicate order lines across blocks")
struct DuplicateTests {
    @Test("copies far apart: later ones rejected with their own line and text, rows removed from the ledger",
          arguments: [(false, false), (true, false), (false, true)])
    func farApart(gzip: Bool, spill: Bool) throws {
        let dir = TemporaryFolder()
        var lines = ["order_id,customer_id,date,amount"]
        for i in 0..<3000 { lines.append("o\(i),c\(i % 11),2024-05-\(String(format: "%02d", i % 28 + 1)),\(i).50") }
        let original = lines[101]                 // physical line 102
        lines.insert(original, at: 2001)          // physical line 2002
        lines.append(original)                    // last line, 3003
        lines.append("o5,c5,2024-05-06,5.50,extra")  // a different line (too many fields)
        try dir.write("in.csv", lines.joined(separator: "\n") + "\n")
        var input = dir.file("in.csv")
        if gzip {
            #expect(try shell("gzip -k \(input)") == 0)
            input += ".gz"
        }
        var ing = Ingestor(format: RejectTests.format())
        ing.blockBytes = 4096          // many blocks: the copies are in different ones
        ing.parallelThreshold = 0
        if spill {
            // 2-record pages, 512 of them in memory: most of the 3,000 lines go to disk.
            ing.duplicatePageRecords = 2
            ing.duplicateMemoryLimit = 0
        }
        let s = try ing.ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsRead == 3003)
        #expect(s.rowsAccepted == 3000)
        #expect(s.rejectsByReason == ["duplicate_line": 2, "too_many_fields": 1])
        let rejects = try dir.read("r").split(separator: "\n").map(String.init)
        // Fields with commas are quoted (RFC 4180).
        #expect(rejects.contains("2002,duplicate_line,\"\(original)\",\"exact duplicate of an earlier line of the same order (same customer, day and text)\""))
        #expect(rejects.contains { $0.hasPrefix("3003,duplicate_line,\"\(original)\",") })
        let part = try LedgerPart(path: dir.file("p"))
        #expect(part.rows == 3000)
        var amounts: [Double] = []
        try part.forEachChunk { c in amounts += Array(c.amount) }
        let inOrder = amounts == (0..<3000).map { Double($0) + 0.5 }
        #expect(inOrder, "each original once, in file order")
    }
}
