import Foundation
import Testing
import Ledger
import RetainIO
import RetainTestSupport

@Suite("Customer numbering")
struct ByteOrderTests {
    /// The reference: a comparison sort on the ids' UTF-8 bytes.
    func reference(_ ids: [String]) -> [Int32] {
        ids.indices.sorted { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }.map { Int32($0) }
    }

    @Test("ids sharing 8-byte prefixes, of every length, with NUL and multi-byte characters, sort by their bytes")
    func tricky() {
        let ids = ["C10", "C2", "C1", "", "abcdefgh", "abcdefgh\u{0}", "abcdefgh1", "abcdefgg~", "abcdefgh0zz", "é", "e",
                   "日本", "z", "\u{0}", "\u{0}\u{0}", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOQ", "ABCDEFGH"]
        #expect(LedgerView.byteOrder(ids) == reference(ids))
    }

    @Test("random ids from a small alphabet (many shared prefixes) sort as a comparison sort does")
    func random() {
        var rng = SplitMix(seed: 7)
        let alphabet = Array("AB0é\u{0}9".unicodeScalars)
        var seen = Set<String>()
        var ids: [String] = []
        while ids.count < 5000 {
            let length = Int(rng.next() % 14)
            var s = String.UnicodeScalarView()
            for _ in 0..<length { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let id = String(s)
            if seen.insert(id).inserted { ids.append(id) }
        }
        #expect(LedgerView.byteOrder(ids) == reference(ids))
    }

    @Test("a constant leading letter and numeric tails (the skipped radix passes)")
    func numeric() {
        let ids = (0..<3000).map { "C\(($0 * 7919) % 3001)" }
        let order = LedgerView.byteOrder(ids)
        #expect(order == reference(ids))
        #expect(ids[Int(order[0])] == "C0" && ids[Int(order[1])] == "C1" && ids[Int(order[2])] == "C10")
    }
}

@Suite("Opening a ledger: customer numbers")
struct LedgerNumberingTests {
    /// 70,000 customers (both cores take part in every step), ids sharing long prefixes,
    /// two rows each: by id, the view's ids are the byte order of the distinct ids and every
    /// row's number names its own id; densely, the numbers are one-to-one with those.
    @Test func byIDAndDense() throws {
        let dir = TemporaryFolder()
        var rng = SplitMix(seed: 11)
        var text = "customer_id,date,amount\n"
        var ids: [String] = []
        for k in 0..<70_000 {
            let id = k % 3 == 0 ? "CUSTOMER-\(rng.next() % 1_000_000_000)-\(k)" : "C\((k &* 7919) % 1_000_003)"
            ids.append(id)
            text += "\(id),2024-01-0\(k % 9 + 1),1.00\n\(id),2024-02-0\(k % 9 + 1),2.50\n"
        }
        let input = try dir.write("in.csv", text)
        var format = InputFormat(dateFormat: DateFormat(pattern: "yyyy-MM-dd")!, earliestDay: 0, latestDay: 30_000)
        format.columns = [.customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount")]
        let s = try Ingestor(format: format).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        #expect(s.rowsAccepted == 140_000)

        let part = try LedgerPart(path: dir.file("p"))
        let byID = try LedgerView(parts: [part])
        let distinct = Array(Set(ids))
        #expect(byID.customerIDs == distinct.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(byID.customerCount == distinct.count)
        let dense = try LedgerView(parts: [try LedgerPart(path: dir.file("p"))], numbering: .dense)
        #expect(dense.customerIDs.isEmpty && dense.customerCount == distinct.count)

        var numberOf: [String: Int32] = [:]
        var wrong = 0
        try byID.forEachChunk { customers, chunk in
            for i in 0..<chunk.count {
                guard let id = part.customerID(slot: Int(chunk.slot[i])) else { wrong += 1; continue }
                if byID.customerIDs[Int(customers[i])] != id { wrong += 1 }
                numberOf[id] = customers[i]
            }
        }
        #expect(wrong == 0)
        var denseToByID: [Int32: Int32] = [:]
        try dense.forEachChunk { customers, chunk in
            for i in 0..<chunk.count {
                guard let id = part.customerID(slot: Int(chunk.slot[i])), let n = numberOf[id] else { wrong += 1; continue }
                if let seen = denseToByID[customers[i]], seen != n { wrong += 1 }
                denseToByID[customers[i]] = n
                if customers[i] < 0 || Int(customers[i]) >= dense.customerCount { wrong += 1 }
            }
        }
        #expect(wrong == 0)
        #expect(Set(denseToByID.values).count == distinct.count)
    }
}

@Suite("Opening a ledger of several parts")
struct SeveralPartsNumberingTests {
    /// Three daily files sharing customers, one id only canonically equal to another ("é"
    /// as one scalar and as e + combining accent: two byte strings, so two customers, as
    /// one file holding both makes them): the view's ids are the byte order of the distinct
    /// ids, and every row's number names the id of its own part's slot.
    @Test func mergedByBytes() throws {
        let dir = TemporaryFolder()
        var format = InputFormat(dateFormat: DateFormat(pattern: "yyyy-MM-dd")!, earliestDay: 0, latestDay: 30_000)
        format.columns = [.customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount")]
        let files: [[String]] = [
            (0..<5000).map { "C\($0 * 3)" } + ["\u{E9}"],
            (0..<5000).map { "C\($0 * 2)" } + ["e\u{301}", "zz"],
            ["C1", "zz", "\u{E9}", "A"],
        ]
        var parts: [LedgerPart] = []
        for (k, ids) in files.enumerated() {
            let text = "customer_id,date,amount\n" + ids.map { "\($0),2024-03-0\(k + 1),1.00\n" }.joined()
            let input = try dir.write("day\(k).csv", text)
            _ = try Ingestor(format: format).ingest(inputPath: input, partPath: dir.file("p\(k)"), rejectsPath: dir.file("r\(k)"))
            parts.append(try LedgerPart(path: dir.file("p\(k)")))
        }
        var distinct: [[UInt8]] = Array(Set(files.flatMap { $0 }.map { Array($0.utf8) }))
        distinct.sort { $0.lexicographicallyPrecedes($1) }
        let view = try LedgerView(parts: parts)
        #expect(view.customerCount == distinct.count && distinct.count == 8338, "\(view.customerCount) customers")
        #expect(firstDifference(view.customerIDs.map { Array($0.utf8) }, distinct) == nil)
        let dense = try LedgerView(parts: parts.map { try LedgerPart(path: $0.path) }, numbering: .dense)
        #expect(dense.customerCount == distinct.count)
        // Every row's customer number names its own id (rows come part by part, in file order).
        var rowIDs: [String] = []
        for (k, part) in parts.enumerated() {
            try part.forEachChunk { c in for s in c.slot { rowIDs.append(part.customerID(slot: Int(s)) ?? "?\(k)") } }
        }
        var named: [String] = []
        try view.forEachChunk { customers, _ in for c in customers { named.append(view.customerIDs[Int(c)]) } }
        #expect(firstDifference(named.map { Array($0.utf8) }, rowIDs.map { Array($0.utf8) }) == nil)
    }
}
