import Testing
import Foundation
import RetainTestSupport

/// Input and settings that once passed silently or made a poor message: each is a clear
/// error with the right exit status, or a row set aside with its reason.
@Suite("Hostile input and settings")
struct HostileInputTests {
    @Test("an output folder that a glob of input.paths reaches: exit 78 before anything is read")
    func outputInsideTheInputs() throws {
        let dir = TemporaryFolder()
        try dir.write("data/in.csv", smallLog(rows: 40))
        let p = try TestPipeline.csv(in: dir, inputs: ["data/*.csv"], out: "data")
        let r = try RetainBinary.run(["run", p])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("reaches into the output folder"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/customers.csv")))
        // In the test's own folder: were the check gone, the run would write where it stands.
        let empty = try RetainBinary.run(["run", p, "--out", ""], in: dir.path)
        #expect(empty.status == 78 && empty.stderr.contains("--out is empty"))
    }

    @Test("a mapped header name that appears twice: exit 78 naming both columns")
    func headerNameTwice() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", "order_id,customer_id,date,amount,amount\no1,c1,2024-03-01,1.00,2.00\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        let r = try RetainBinary.run(["run", p])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("names columns 4 and 5"))
    }

    @Test("a file of carriage returns alone: one short error line that says so")
    func carriageReturnsOnly() throws {
        let dir = TemporaryFolder()
        var text = "order_id,customer_id,date,amount\r"
        for i in 0..<30_000 { text += "o\(i),c\(i % 50),2024-01-\(String(format: "%02d", i % 28 + 1)),\(i).00\r" }
        try dir.write("in.csv", text)
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        let r = try RetainBinary.run(["run", p])
        #expect(r.status == 65)
        #expect(r.lines.count == 1 && r.stderr.utf8.count < 700, "\(r.stderr.utf8.count) bytes")
        #expect(r.stderr.contains("carriage return alone"))
    }

    @Test("customer ids of blanks only, or holding a NUL byte: rejected with their reason codes")
    func blankAndNULIDs() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 300) + "x1,   ,2024-03-01,1.00\nx2,c\u{0}d,2024-03-02,2.00\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        let counts = ingestCounts(try json(dir.file("out/run.json")))
        #expect(counts["rejected_empty_customer_id"] == 1 && counts["rejected_invalid_utf8"] == 1)
        let rejects = try dir.read("out/rejects.csv")
        #expect(rejects.contains("only blanks") && rejects.contains("holds a NUL byte"))
    }
}
