import Testing
import Foundation
import RetainTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Daily files arriving in a folder: a rerun reads only what it has not seen.
@Suite("Nightly inputs")
struct NightlyTests {
    func inputs(_ run: [String: Any]) -> [[String: Any]] { run["inputs"] as? [[String: Any]] ?? [] }

    @Test("add a daily file, change another, remove a third")
    func daily() throws {
        let dir = TemporaryFolder()
        for d in 1...3 { try dir.write("daily/day\(d).csv", smallLog(rows: 100, customers: 30, month: d, prefix: "d\(d)-")) }
        let p = try TestPipeline.csv(in: dir, inputs: ["daily/*.csv"])
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        var c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["files_parsed"] == 3 && c["files_reused"] == 0 && c["rows_read"] == 300)

        // A new day: only it is parsed.
        try dir.write("daily/day4.csv", smallLog(rows: 100, customers: 30, month: 4, prefix: "d4-"))
        var r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0)
        c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["files_parsed"] == 1 && c["files_reused"] == 3 && c["rows_read"] == 400 && c["customers"] == 30)

        // Nothing new: nothing parsed.
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["files_parsed"] == 0 && c["files_reused"] == 4)

        // Day 2 is re-exported with a correction: noticed, re-read, recorded.
        try dir.write("daily/day2.csv", smallLog(rows: 120, customers: 30, month: 2, prefix: "d2-"))
        r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0)
        #expect(r.lines.contains { $0.contains("warning") && $0.contains("day2.csv changed since the last run") })
        let run = try json(dir.file("out/run.json"))
        c = ingestCounts(run)
        #expect(c["files_parsed"] == 1 && c["files_reused"] == 3 && c["rows_read"] == 420)
        let day2 = inputs(run).first { ($0["path"] as? String)?.hasSuffix("day2.csv") == true }
        #expect(day2?["changed_since_last_run"] as? Bool == true && day2?["reused"] as? Bool == false)

        // A file disappears: said so, and its rows leave the ledger.
        try FileManager.default.removeItem(atPath: dir.file("daily/day1.csv"))
        r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0)
        #expect(r.lines.contains { $0.contains("day1.csv is no longer among the inputs") })
        c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["rows_read"] == 320 && c["files"] == 3)
        let parts = try FileManager.default.contentsOfDirectory(atPath: dir.file("out/ledger/parts"))
        #expect(parts.count == 9, "3 parts with their rejects and key files; stale ones removed: \(parts)")
    }

    @Test("a line repeated in a later daily file is rejected there, once, with its file and line")
    func repeatedAcrossFiles() throws {
        let dir = TemporaryFolder()
        let day1 = smallLog(rows: 50, customers: 10, month: 1)
        let lines1 = day1.split(separator: "\n").map(String.init)
        // Day 2 re-exports three of day 1's lines (data rows 5, 6 and 40) among new ones.
        var day2 = ["order_id,customer_id,date,amount"]
        for i in 1...20 { day2.append("n\(i),c\(i % 10),2024-02-\(String(format: "%02d", i % 28 + 1)),\(i).50") }
        day2.insert(lines1[5], at: 3)      // physical line 4 of day 2
        day2.insert(lines1[6], at: 10)     // line 11
        day2.append(lines1[40])            // line 24
        try dir.write("daily/d1.csv", day1)
        try dir.write("daily/d2.csv", day2.joined(separator: "\n") + "\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["daily/*.csv"], maxRejectShare: 0.1)

        for attempt in 1...2 {  // the second run reuses both parts and must agree
            let r = try RetainBinary.run(["run", p, "--only", "ingest"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.lines.contains { $0.contains("d2.csv: 3 lines repeat lines of an earlier input") })
            let run = try json(dir.file("out/run.json"))
            let c = ingestCounts(run)
            #expect(c["rows_read"] == 73 && c["rows_rejected"] == 3 && c["rows_accepted"] == 70, "attempt \(attempt): \(c)")
            #expect(c["rejected_duplicate_line"] == 3)
            let d2 = (run["inputs"] as? [[String: Any]])?.first { ($0["path"] as? String)?.hasSuffix("d2.csv") == true }
            #expect(d2?["rows_accepted"] as? Int == 20 && d2?["rows_rejected"] as? Int == 3)
            let rejects = try dir.read("out/rejects.csv").split(separator: "\n").dropFirst()
            #expect(rejects.count == 3)
            #expect(Set(rejects.map { $0.split(separator: ",")[1] }) == ["4", "11", "24"])
            #expect(rejects.allSatisfy { $0.hasPrefix(dir.file("daily/d2.csv") + ",") && $0.contains("duplicate_line") && $0.contains("d1.csv") })
            let index = try json(dir.file("out/ledger/index.json"))
            let entries = index["entries"] as? [[String: Any]] ?? []
            #expect(entries.map { ($0["crossFileDuplicates"] as? [Int])?.count ?? 0 } == [0, 3])
        }
        let c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["files_reused"] == 2)
    }

    @Test("the same file under two names: flagged, and its lines rejected as repeats (counted twice without order ids)")
    func sameContentTwice() throws {
        let dir = TemporaryFolder()
        try dir.write("daily/a.csv", smallLog(rows: 20))
        try dir.write("daily/copy-of-a.csv", smallLog(rows: 20))
        let p = try TestPipeline.csv(in: dir, inputs: ["daily/*.csv"], maxRejectShare: 1)
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0)
        #expect(r.lines.contains { $0.contains("warning") && $0.contains("copy-of-a.csv has the same content as") })
        #expect(ingestCounts(try json(dir.file("out/run.json")))["rows_rejected"] == 20)

        // Without order ids there is no duplicate check: the warning says the rows count twice.
        let noOrders = try TestPipeline.csv(in: dir, name: "q.toml", inputs: ["daily/*.csv"], out: "out-q", columns: """
            customer_id = "customer_id"
            date = "date"
            amount = "amount"
            """)
        let q = try RetainBinary.run(["run", noOrders, "--only", "ingest"])
        #expect(q.status == 0)
        #expect(q.lines.contains { $0.contains("counted twice") })
        let notes = ((try json(dir.file("out-q/run.json"))["stages"] as? [String: Any])?["ingest"] as? [String: Any])?["notes"] as? [String]
        #expect(notes?.contains { $0.contains("counted twice") } == true)
    }

    /// A nightly run must not read the year's file again to learn it is unchanged: size,
    /// modification time (to the nanosecond) and inode matching the earlier run's say so,
    /// as they do for a stage run alone. Shown by an edit the identity cannot see (the same
    /// size, written in place, the time put back): the rerun reuses the part unread.
    @Test("an input whose size, modification time and inode are unchanged is not read again")
    func unchangedIdentityNotRead() throws {
        let dir = TemporaryFolder()
        try dir.write("daily/day1.csv", smallLog(rows: 100, customers: 30, month: 1, prefix: "d1-"))
        let p = try TestPipeline.csv(in: dir, inputs: ["daily/*.csv"])
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        let path = dir.file("daily/day1.csv")
        var before = stat()
        #expect(stat(path, &before) == 0)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let edited = text.replacingOccurrences(of: ".00\n", with: ".01\n")
        #expect(edited != text && edited.utf8.count == text.utf8.count)
        let handle = try #require(FileHandle(forWritingAtPath: path))  // in place: the same inode
        handle.write(Data(edited.utf8))
        try handle.close()
        var times = [before.st_atim, before.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        try dir.write("daily/day2.csv", smallLog(rows: 100, customers: 30, month: 2, prefix: "d2-"))
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0)
        let c = ingestCounts(try json(dir.file("out/run.json")))
        #expect(c["files_parsed"] == 1 && c["files_reused"] == 1, "\(c)")
        #expect(!r.lines.contains { $0.contains("changed since the last run") })
    }

    @Test("a .gz input gives the same ledger as the plain file")
    func gzipInput() throws {
        let dir = TemporaryFolder()
        try dir.write("plain/log.csv", smallLog(rows: 500, customers: 40))
        #expect(try shell("mkdir -p \(dir.path)/gz && gzip -c \(dir.path)/plain/log.csv > \(dir.path)/gz/log.csv.gz") == 0)
        let a = try TestPipeline.csv(in: dir, name: "a.toml", inputs: ["plain/*.csv"], out: "out-a")
        let b = try TestPipeline.csv(in: dir, name: "b.toml", inputs: ["gz/*.csv.gz"], out: "out-b")
        #expect(try RetainBinary.run(["run", a, "--only", "ingest"]).status == 0)
        #expect(try RetainBinary.run(["run", b, "--only", "ingest"]).status == 0)
        let ca = ingestCounts(try json(dir.file("out-a/run.json"))), cb = ingestCounts(try json(dir.file("out-b/run.json")))
        #expect(ca["rows_accepted"] == 500 && cb["rows_accepted"] == 500 && ca["customers"] == cb["customers"])
    }
}

@Suite("retain generate")
struct GenerateTests {
    @Test("deterministic per seed, every column filled, ingests without a reject")
    func generate() throws {
        let dir = TemporaryFolder()
        for (name, seed) in [("a.csv", "5"), ("b.csv", "5"), ("c.csv", "6")] {
            #expect(try RetainBinary.run(["generate", "--customers", "300", "--seed", seed, dir.file(name)]).status == 0)
        }
        let a = try dir.read("a.csv"), b = try dir.read("b.csv"), c = try dir.read("c.csv")
        #expect(firstDifference(Array(a.utf8), Array(b.utf8)) == nil)
        #expect(a != c)
        let lines = a.split(separator: "\n")
        #expect(lines[0] == "order_id,customer_id,date,product_id,quantity,amount,cost,discount,service_cost,channel")
        #expect(lines.count > 1000)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty } })
        #expect(lines.contains { $0.hasPrefix("R") && $0.contains(",-") }, "refunds appear")

        // pipelines/sample.toml maps every column the generator writes; point it at a.csv.
        let sample = try String(contentsOfFile: RepoPaths.path("pipelines/sample.toml"), encoding: .utf8)
        let p = try dir.write("p.toml", sample.replacingOccurrences(of: "../datasets/sample/transactions.csv", with: "a.csv")
            .replacingOccurrences(of: "../out/sample", with: "out")
            .replacingOccurrences(of: "max_reject_share = 0.01", with: "max_reject_share = 0"))
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        let counts = ingestCounts(try json(dir.file("out/run.json")))
        #expect(counts["rows_rejected"] == 0 && counts["rows_read"] == lines.count - 1)
        #expect((counts["customers"] ?? 0) > 250)
    }
}
