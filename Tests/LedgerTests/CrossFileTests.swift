import Testing
import Foundation
import Ledger
import RetainIO
import RetainTestSupport

@Suite("Duplicates across input files")
struct CrossFileTests {
    /// Ingests `text` with a key file; returns the part's and key file's paths.
    func ingest(_ dir: TemporaryFolder, _ name: String, _ text: String) throws -> (part: String, keys: String) {
        let input = try dir.write(name + ".csv", "order_id,customer_id,date,amount\n" + text)
        _ = try Ingestor(format: RejectTests.format()).ingest(inputPath: input, partPath: dir.file(name + ".part"),
                                                              rejectsPath: dir.file(name + ".rej"), keysPath: dir.file(name + ".keys"))
        return (dir.file(name + ".part"), dir.file(name + ".keys"))
    }

    @Test("the earliest input keeps a line; later copies are found, with their rows and lines; the view leaves them out")
    func threeFiles() throws {
        let dir = TemporaryFolder()
        let a = try ingest(dir, "a", "o1,c1,2024-01-01,10\no2,c2,2024-01-02,20\n")
        let b = try ingest(dir, "b", "o9,c9,2024-01-03,90\no1,c1,2024-01-01,10\no7,c7,2024-01-04,70\n")
        let c = try ingest(dir, "c", "o7,c7,2024-01-04,70\no1,c1,2024-01-01,10\n")
        let found = try CrossFileDuplicates.find(keyFiles: [a.keys, b.keys, c.keys])
        // o1 is in all three (a keeps it); o7 is in b and c (b keeps it).
        #expect(found[0].isEmpty)
        #expect(found[1] == [CrossFileDuplicates.Copy(row: 1, line: 3, original: 0)])
        #expect(found[2] == [CrossFileDuplicates.Copy(row: 0, line: 2, original: 1), CrossFileDuplicates.Copy(row: 1, line: 3, original: 0)])

        let parts = try [a.part, b.part, c.part].map { try LedgerPart(path: $0) }
        let view = try LedgerView(parts: parts, deletions: found.map { $0.map(\.row) })
        var amounts: [Double] = []
        try view.forEachChunk { _, chunk in amounts += Array(chunk.amount) }
        #expect(amounts.sorted() == [10, 20, 70, 90], "each line once")
        #expect(view.rows == 4)
    }

    @Test("a damaged key file is an error, not a wrong answer")
    func damaged() throws {
        let dir = TemporaryFolder()
        let a = try ingest(dir, "a", "o1,c1,2024-01-01,10\n")
        let b = try ingest(dir, "b", "o1,c1,2024-01-01,10\no2,c2,2024-01-02,20\n")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: b.keys)))
        bytes[20] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: b.keys))
        #expect(throws: LedgerError.self) { try CrossFileDuplicates.find(keyFiles: [a.keys, b.keys]) }
        try Data(bytes.prefix(30)).write(to: URL(fileURLWithPath: b.keys))
        #expect(throws: LedgerError.self) { try CrossFileDuplicates.find(keyFiles: [a.keys, b.keys]) }
    }
}
