import Testing
import Foundation
import Ledger
import RetainTestSupport

/// A damaged, truncated or foreign ledger is a `LedgerError` with the path, never a crash.
@Suite("Corrupt ledgers")
struct CorruptLedgerTests {
    func makePart(_ dir: TemporaryFolder) throws -> [UInt8] {
        var text = "customer_id,date,amount\n"
        for i in 0..<2000 { text += "c\(i % 97),2024-01-\(String(format: "%02d", i % 28 + 1)),\(i)\n" }
        let input = try dir.write("in.csv", text)
        _ = try Ingestor(format: RejectTests.format(order: false)).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("p"))))
    }

    func read(_ bytes: [UInt8], _ dir: TemporaryFolder) throws -> Int {
        let path = dir.file("bad")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var rows = 0
        try LedgerPart(path: path).forEachChunk { rows += $0.count }
        return rows
    }

    @Test("intact part reads back")
    func intact() throws {
        let dir = TemporaryFolder()
        #expect(try read(try makePart(dir), dir) == 2000)
    }

    @Test("a part read twice gives the same rows; the checksum is checked on the first pass, and a failed pass is not taken as checked")
    func twoPasses() throws {
        let dir = TemporaryFolder()
        var bytes = try makePart(dir)
        let path = dir.file("twice")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let part = try LedgerPart(path: path)
        var first: [Double] = [], second: [Double] = []
        try part.forEachChunk { first += Array($0.amount) }
        try part.forEachChunk { second += Array($0.amount) }
        #expect(first.count == 2000 && first == second)
        // A pass cut short by its reader does not count as checked: a damaged copy opened
        // and read halfway, then read whole, is still caught.
        bytes[bytes.count / 2] ^= 0x5A
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let damaged = try LedgerPart(path: path)
        struct Stop: Error {}
        #expect(throws: Stop.self) { try damaged.forEachChunk { _ in throw Stop() } }
        #expect(throws: LedgerError.self) { try damaged.forEachChunk { _ in } }
    }

    @Test("every truncation is detected")
    func truncated() throws {
        let dir = TemporaryFolder()
        let bytes = try makePart(dir)
        for cut in [0, 1, 63, 64, 100, bytes.count / 2, bytes.count - 73, bytes.count - 1] {
            #expect(throws: LedgerError.self, "cut at \(cut)") { try read(Array(bytes.prefix(cut)), dir) }
        }
    }

    @Test("a flipped byte anywhere is detected")
    func flipped() throws {
        let dir = TemporaryFolder()
        let bytes = try makePart(dir)
        for at in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            var b = bytes
            b[at] ^= 0x5A
            #expect(throws: LedgerError.self, "flip at \(at)") { try read(b, dir) }
        }
    }

    @Test("another version or another file type says so")
    func foreign() throws {
        let dir = TemporaryFolder()
        var bytes = try makePart(dir)
        bytes[8] = 99  // version field
        #expect { try read(bytes, dir) } throws: { e in
            guard case LedgerError.foreignVersion(_, let found, _) = e else { return false }
            return found == 99
        }
        let csv = Array("customer_id,date,amount\n".utf8) + [UInt8](repeating: 0x41, count: 500)
        #expect { try read(csv, dir) } throws: { e in String(describing: e).contains("signature") }
    }
}
