import Testing
import Foundation
import Ledger
import RetainIO
import RetainTestSupport

@Suite("Dates and numbers")
struct FormatTests {
    func day(_ pattern: String, _ text: String) -> Int32? {
        let f = DateFormat(pattern: pattern)!
        return Array(text.utf8).withUnsafeBytes { f.parse($0.baseAddress!, count: $0.count) }
    }

    @Test("patterns people write")
    func patterns() {
        let jan5 = CivilDate.day(year: 2024, month: 1, day: 5)
        #expect(day("yyyyMMdd", "20240105") == jan5)
        #expect(day("yyyy-MM-dd", "2024-01-05") == jan5)
        #expect(day("dd/MM/yyyy", "05/01/2024") == jan5)
        #expect(day("MM/dd/yyyy", "01/05/2024") == jan5)
        #expect(day("M/d/yyyy", "1/5/2024") == jan5)
        #expect(day("yyyy-MM-dd HH:mm:ss", "2024-01-05 23:59:59") == jan5)
        #expect(day("yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-01-05T08:00:00.123") == jan5)
        #expect(day("iso8601", "2024-01-05") == jan5)
        #expect(day("iso8601", "2024-01-05T10:11:12Z") == jan5)
        #expect(day("iso8601", "2024-01-05T10:11:12.5+02:00") == jan5)
        #expect(day("iso8601", "2024-01-05 10:11") == jan5)
    }

    @Test("what is not a date")
    func notDates() {
        #expect(day("yyyy-MM-dd", "2023-02-29") == nil)   // not a leap year
        #expect(day("yyyy-MM-dd", "2024-13-01") == nil)
        #expect(day("yyyy-MM-dd", "2024-01-05x") == nil)  // trailing text
        #expect(day("yyyyMMdd", "2024015") == nil)
        #expect(day("iso8601", "2024-01-05T25:00") == nil)
        #expect(DateFormat(pattern: "yy-MM-dd") == nil)   // two-digit years are ambiguous
        #expect(DateFormat(pattern: "dd MMM yyyy") == nil)
        #expect(day("yyyy-MM-dd", "2024-02-29") == CivilDate.day(year: 2024, month: 2, day: 29))
    }

    @Test("civil dates round-trip across four centuries")
    func civil() {
        #expect(CivilDate.day(year: 1970, month: 1, day: 1) == 0)
        #expect(CivilDate.day(year: 2000, month: 3, day: 1) == 11_017)  // date -d 2000-03-01 +%s / 86400
        for d in stride(from: Int32(-50_000), through: 100_000, by: 37) {
            let (y, m, dd) = CivilDate.civil(d)
            #expect(CivilDate.day(year: y, month: m, day: dd) == d)
        }
        #expect(CivilDate.iso(19_727) == "2024-01-05")
    }

    func number(_ s: String, mark: UInt8 = UInt8(ascii: ".")) -> Double? {
        Array(s.utf8).withUnsafeBytes { DecimalText.parse($0.baseAddress!, count: $0.count, mark: mark) }
    }

    @Test("decimals parse to the same double strtod gives")
    func decimals() {
        #expect(number("11.77") == 11.77)
        #expect(number("-0.5") == -0.5)
        #expect(number("+3") == 3)
        #expect(number("12,50", mark: UInt8(ascii: ",")) == 12.5)
        #expect(number("0.1") == 0.1)
        #expect(number("123456789012.3456789") == 123456789012.3456789)  // slow path, > 19 digits
        #expect(number("1.") == 1 && number(".5") == 0.5)
        for bad in ["", "-", ".", "1.2.3", "1,5", "1e5", "0x10", " 1", "1 ", "NaN", "inf"] { #expect(number(bad) == nil, "\(bad)") }
        // Exhaustive against Double(String) on a range of cents.
        for cents in stride(from: -100_000, through: 100_000, by: 7) {
            let s = String(format: "%.2f", Double(cents) / 100)
            #expect(number(s) == Double(s), "\(s)")
        }
    }
}

@Suite("Layouts: quoting, whitespace, positions, gzip, block boundaries")
struct LayoutTests {
    static let base = RejectTests.format(order: false)

    func ingest(_ text: String, format: InputFormat = LayoutTests.base, blockBytes: Int? = nil, parallelThreshold: Int? = nil)
        throws -> (PartSummary, [String], [Double]) {
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", text)
        var ing = Ingestor(format: format)
        if let blockBytes { ing.blockBytes = blockBytes }
        if let parallelThreshold { ing.parallelThreshold = parallelThreshold }
        let s = try ing.ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        let part = try LedgerPart(path: dir.file("p"))
        var ids: [String] = [], amounts: [Double] = []
        try part.forEachChunk { c in
            for i in 0..<c.count { ids.append(part.customerID(slot: Int(c.slot[i])) ?? "?"); amounts.append(c.amount[i]) }
        }
        return (s, ids, amounts)
    }

    /// Messy quote-free logs: every line a random mix of good and broken fields, blank
    /// lines, CRLF and LF, stray CRs, too few and too many fields, no final line break.
    static func messyLog(seed: UInt64, lines: Int) -> String {
        var random = SplitMix(seed: seed)
        func pick<T>(_ xs: [T]) -> T { xs[Int(random.next() % UInt64(xs.count))] }
        var text = "order_id,customer_id,date,amount,quantity,channel\r\n"
        for i in 0..<lines {
            switch random.next() % 20 {
            case 0: text += pick(["", "\r", " "]) + pick(["\n", "\r\n"]); continue
            case 1: text += "o\(i),c\(i % 9)" + pick(["\n", "\r\n"]); continue  // too few fields
            default: break
            }
            var fields = ["o\(i % 50)", pick(["c1", "c22", "C333", "", "ç4", "c\(i % 13)"]),
                          pick(["2024-01-05", "2024-02-30", "24-01-05", "", "2024-03-01"]),
                          pick(["1.00", "-2.5", "abc", "", "12345678.9", "1e3", "7"]),
                          pick(["1", "", "x", "3.5"]), pick(["web", "store", "", "phone\r"])]
            if random.next() % 10 == 0 { fields.append("extra") }
            if random.next() % 15 == 0 { fields[Int(random.next() % 6)] = "a\rb" }
            text += fields.joined(separator: ",")
            if i < lines - 1 || random.next() % 2 == 0 { text += pick(["\n", "\r\n"]) }
        }
        return text
    }

    @Test("quote-free pieces split 64 bytes at a time give the general path's part and rejects, byte for byte")
    func unquotedFastPath() throws {
        var f = LayoutTests.base
        f.columns = [.orderID: .name("order_id"), .customerID: .name("customer_id"), .date: .name("date"),
                     .amount: .name("amount"), .quantity: .name("quantity"), .channel: .name("channel")]
        for seed in UInt64(1)...6 {
            let dir = TemporaryFolder()
            let input = try dir.write("in.csv", Self.messyLog(seed: seed, lines: 3000))
            var outputs: [[UInt8]] = []
            var summaries: [PartSummary] = []
            for fast in [true, false] {
                var ing = Ingestor(format: f)
                ing.unquotedFastPath = fast
                ing.blockBytes = 4096            // many blocks: lines cut at block ends
                ing.parallelThreshold = 1 << 30  // one worker
                let tag = fast ? "fast" : "general"
                summaries.append(try ing.ingest(inputPath: input, partPath: dir.file("p-\(tag)"), rejectsPath: dir.file("r-\(tag)")))
                outputs.append(try FilePath.readAll(dir.file("p-\(tag)")) + FilePath.readAll(dir.file("r-\(tag)")))
            }
            #expect(summaries[0].rowsRejected > 100 && summaries[0].blankLines > 10, "seed \(seed): the log is messy enough")
            #expect(summaries[0] == summaries[1], "seed \(seed)")
            #expect(firstDifference(outputs[0], outputs[1]) == nil, "seed \(seed)")
        }
    }

    @Test("the same log gives the same ledger bytes in every run on both workers, channels numbered in file order")
    func reproducibleParts() throws {
        var f = LayoutTests.base
        f.columns = [.orderID: .name("order_id"), .customerID: .name("customer_id"), .date: .name("date"),
                     .amount: .name("amount"), .channel: .name("channel")]
        // The first piece of the first block opens with 200 rejected lines before its
        // first channel, "ch0", and goes on with "ch1", which the next piece opens with: a
        // worker numbering names as it meets them would make "ch1" 0. File order says "ch0"
        // is 0, "ch1" 1, and so on.
        var text = "order_id,customer_id,date,amount,channel\n"
        var firstSeen: [String] = []
        for i in 0..<20_000 {
            guard i >= 200 else { text += "o\(i),c\(i % 97),2024-13-45,1.25,bad\n"; continue }
            let channel = i < 210 ? "ch0" : "ch\(1 + (i - 210) / 400)"
            if firstSeen.last != channel { firstSeen.append(channel) }
            text += "o\(i),c\(i % 97),2024-01-0\(1 + i % 9),\(i % 50).25,\(channel)\n"
        }
        let dir = TemporaryFolder()
        let input = try dir.write("in.csv", text)
        var parts: [[UInt8]] = []
        for (k, threshold) in [1 << 30, 1 << 10, 1 << 10, 1 << 10].enumerated() {
            var ing = Ingestor(format: f)
            ing.blockBytes = 1 << 16
            ing.parallelThreshold = threshold  // first one worker, then both
            _ = try ing.ingest(inputPath: input, partPath: dir.file("p\(k)"), rejectsPath: dir.file("r\(k)"))
            parts.append(try FilePath.readAll(dir.file("p\(k)")))
        }
        // One worker writes a chunk a block, both a chunk a piece: bytes are compared
        // between runs on both workers, channel numbers with the one-worker part too.
        for k in 2..<parts.count {
            #expect(firstDifference(parts[k], parts[1]) == nil, "run \(k) against run 1, both on both workers")
        }
        for k in 0..<2 { #expect(try LedgerPart(path: dir.file("p\(k)")).channels == firstSeen, "run \(k)") }
        // Batches and customer tables that start tiny (as the fuzz target sets them) grow
        // to the same part.
        var tiny = Ingestor(format: f)
        tiny.blockBytes = 1 << 16
        tiny.parallelThreshold = 1 << 10
        tiny.batchRows = 1
        tiny.initialCustomers = 1
        _ = try tiny.ingest(inputPath: input, partPath: dir.file("tiny"), rejectsPath: dir.file("tiny.r"))
        #expect(firstDifference(try FilePath.readAll(dir.file("tiny")), parts[1]) == nil, "tiny starting sizes against run 1")
    }

    @Test("RFC 4180 quoting: delimiters, doubled quotes and spaces inside ids")
    func quoting() throws {
        let (s, ids, amounts) = try ingest("customer_id,date,amount\n\"a,b\",2024-01-01,1\n\"say \"\"hi\"\"\",2024-01-01,2\n\" x \",2024-01-01,3\n")
        #expect(s.rowsAccepted == 3)
        #expect(ids == ["a,b", "say \"hi\"", " x "])
        #expect(amounts == [1, 2, 3])
    }

    @Test("a header in quotes and a byte-order mark")
    func quotedHeader() throws {
        let (s, _, _) = try ingest("\u{FEFF}\"customer_id\",\"date\",\"amount\"\nc,2024-01-01,1\n")
        #expect(s.rowsAccepted == 1)
    }

    @Test("semicolons with a decimal comma, columns by position without a header")
    func european() throws {
        var f = Self.base
        f.delimiter = .byte(UInt8(ascii: ";"))
        f.decimalMark = UInt8(ascii: ",")
        f.hasHeader = false
        f.columns = [.customerID: .position(2), .date: .position(1), .amount: .position(3)]
        let (s, ids, amounts) = try ingest("2024-01-01;k1;12,50\n2024-01-02;k2;-3,25\n", format: f)
        #expect(s.rowsAccepted == 2)
        #expect(ids == ["k1", "k2"] && amounts == [12.5, -3.25])
    }

    @Test("tab-separated")
    func tabs() throws {
        var f = Self.base
        f.delimiter = .byte(0x09)
        let (s, ids, _) = try ingest("customer_id\tdate\tamount\nc 1\t2024-01-01\t4\n", format: f)
        #expect(s.rowsAccepted == 1 && ids == ["c 1"])
    }

    @Test("lines split across blocks and halves give the same ledger as one block")
    func blockBoundaries() throws {
        var text = "customer_id,date,amount\n"
        for i in 0..<5000 { text += "cust-\(i % 313),2024-03-\(String(format: "%02d", i % 28 + 1)),\(i).25\n" }
        text += "bad,row\n"
        let reference = try ingest(text)
        for (block, threshold) in [(97, 0), (1000, 0), (4096, 100), (1 << 20, 0)] {
            let other = try ingest(text, blockBytes: block, parallelThreshold: threshold)
            #expect(other.0.rowsAccepted == 5000 && other.0.rowsRejected == 1)
            #expect(other.1 == reference.1, "ids differ with block \(block)")
            #expect(other.2 == reference.2)
            #expect(other.0.customers == 313)
        }
    }

    @Test(".gz is read directly, also with several members")
    func gzip() throws {
        let dir = TemporaryFolder()
        let head = "customer_id,date,amount\n"
        var a = head, b = ""
        for i in 0..<3000 { a += "c\(i % 50),2024-01-01,\(i)\n"; b += "d\(i % 50),2024-01-02,\(i)\n" }
        try dir.write("a.csv", a)
        try dir.write("b.csv", b)
        #expect(try shell("cd \(dir.path) && gzip -k a.csv && gzip -k b.csv && cat a.csv.gz b.csv.gz > ab.csv.gz") == 0)
        let plain = try Ingestor(format: Self.base).ingest(inputPath: dir.file("a.csv"), partPath: dir.file("p1"), rejectsPath: dir.file("r1"))
        let gz = try Ingestor(format: Self.base).ingest(inputPath: dir.file("a.csv.gz"), partPath: dir.file("p2"), rejectsPath: dir.file("r2"))
        #expect(gz.rowsAccepted == 3000 && gz.customers == 50)
        #expect(gz.rowsAccepted == plain.rowsAccepted)
        #expect(gz.contentHash == XXH64.hex(try FileHash.xxh64(path: dir.file("a.csv.gz"))), "hash of the bytes on disk")
        let both = try Ingestor(format: Self.base).ingest(inputPath: dir.file("ab.csv.gz"), partPath: dir.file("p3"), rejectsPath: dir.file("r3"))
        #expect(both.rowsAccepted == 6000 && both.customers == 100)
        // A truncated .gz is an error, not a silently short ledger.
        #expect(try shell("cd \(dir.path) && head -c 2000 a.csv.gz > cut.csv.gz") == 0)
        #expect(throws: LedgerError.self) {
            try Ingestor(format: Self.base).ingest(inputPath: dir.file("cut.csv.gz"), partPath: dir.file("p4"), rejectsPath: dir.file("r4"))
        }
    }
}
