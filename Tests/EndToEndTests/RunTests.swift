import Testing
import Foundation
import RetainTestSupport

/// `retain run` as cron runs it: the built binary on real files, exit codes and outputs.
@Suite("retain run, end to end")
struct RunTests {
    @Test("CDNOW: 69,659 rows accepted, 0 rejected, 23,570 customers")
    func cdnow() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/cdnow.toml"), "--out", dir.file("out")])
        #expect(r.status == 0, "\(r.stderr)")
        let run = try json(dir.file("out/run.json"))
        let c = ingestCounts(run)
        #expect(c["rows_read"] == 69_659 && c["rows_accepted"] == 69_659 && c["rows_rejected"] == 0)
        #expect(c["customers"] == 23_570)
        #expect(run["status"] as? String == "succeeded")
        let inputs = run["inputs"] as? [[String: Any]] ?? []
        #expect(inputs.count == 1 && inputs.first?["bytes"] as? Int == 1_950_500)
        #expect(inputs.first?["hash"] as? String == "176740fd90a51f1f", "XXH64 of the file, as xxhsum -H64 prints it")
        #expect(try dir.read("out/rejects.csv") == "file,line,reason,raw,detail\n")
        #expect(r.lines.contains { $0.contains("69,659 rows") && $0.contains("23,570 customers") })
        // Nothing left behind but the outputs (links into the current generation) and the lock file.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).sorted()
        #expect(names == [".retain.lock", ".runs", "coefficients.csv", "controls", "current", "customers.csv", "evaluation.csv",
                          "evaluation_calibration.csv", "features.csv", "ledger", "model.json", "plans", "rejects.csv",
                          "report.html", "report.md", "retention_cohorts.csv", "retention_history.csv", "retention_targets.csv", "run.json", "scores.csv",
                          "segment_distributions.csv", "segments", "snapshots", "top_at_risk.csv", "training_matrix.csv", "value.csv", "value.json"])
        // The whole pipeline ran, and said which segment rules the log cannot support.
        #expect(r.stderr.contains("unavailable: costly-switcher by cost to serve: the log has no service_cost column"))
        #expect(r.stderr.contains("report: 8,332 active customers scored as of 1998-06-30"))
    }

    @Test("rejects over the limit: exit 65, one line, previous outputs untouched, last-failure/ explains")
    func tooManyRejects() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 100))
        let pipeline = try TestPipeline.csv(in: dir, inputs: ["in.csv"], maxRejectShare: 0.02)
        #expect(try RetainBinary.run(["run", pipeline, "--only", "ingest"]).status == 0)
        let before = try snapshot(dir.file("out"))

        var bad = smallLog(rows: 100)
        bad += "x1,c1,2024-13-01,1\nx2,,2024-01-01,1\nx3,c1,2024-01-01,abc\n"  // 3 of 103 rows: 2.9 %
        try dir.write("in.csv", bad)
        let r = try RetainBinary.run(["run", pipeline, "--only", "ingest"])
        #expect(r.status == 65)
        let errors = r.lines.filter { $0.contains("error") }
        #expect(errors.count == 1 && errors[0].contains("rejected 3 of 103 rows") && errors[0].contains("last-failure/rejects.csv"))
        #expect(try snapshot(dir.file("out")).filter { !$0.key.hasPrefix("last-failure") } == before)
        let rejects = try dir.read("out/last-failure/rejects.csv").split(separator: "\n")
        #expect(rejects.count == 4)
        #expect(rejects[1].contains(",102,unparsable_date,") && rejects[2].contains(",103,empty_customer_id,")
                && rejects[3].contains(",104,unparsable_amount,"))
        // What was known when it failed: rows per input, the ingest record, no stage finished.
        let failed = try json(dir.file("out/last-failure/run.json"))
        #expect(failed["status"] as? String == "failed")
        let input = (failed["inputs"] as? [[String: Any]])?.first
        #expect(input?["rows_read"] as? Int == 103 && input?["rows_accepted"] as? Int == 100 && input?["rows_rejected"] as? Int == 3)
        #expect(ingestCounts(failed)["rows_rejected"] == 3 && (failed["stages"] as? [String: [String: Any]])?["ingest"]?["status"] as? String == "failed")
        #expect((failed["stages_completed"] as? [String]) == [])

        // Under a looser limit the same data passes with a warning, and last-failure/ goes.
        let loose = try TestPipeline.csv(in: dir, name: "loose.toml", inputs: ["in.csv"], maxRejectShare: 0.05)
        let ok = try RetainBinary.run(["run", loose, "--only", "ingest"])
        #expect(ok.status == 0)
        #expect(ok.lines.contains { $0.contains("warning") && $0.contains("3 rows rejected") })
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/last-failure")))
        #expect(ingestCounts(try json(dir.file("out/run.json"))) ["rows_read"] == 103)
    }

    @Test("a rejected row over several lines, from a file whose path has a quote: rejects.csv stays RFC 4180, the path once per record")
    func multiLineReject() throws {
        let dir = TemporaryFolder()
        let name = "we\"ird.csv"
        try dir.write(name, smallLog(rows: 200) + "o9,\"two\nline id\",2024-03-01,not-a-number\n" + "o10,c1,2024-03-02,also bad\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["NAME"], maxRejectShare: 1)
        try dir.write("p.toml", try dir.read("p.toml").replacingOccurrences(of: "\"NAME\"", with: "'\(name)'"))  // a TOML literal string
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        // Python's csv module in strict mode: every record has the five fields, the file first.
        let check = """
            python3 -c 'import csv,sys; rows=list(csv.reader(open(sys.argv[1], newline=""), strict=True)); \
            assert [len(r) for r in rows] == [5, 5, 5], rows; assert all(r[0] == sys.argv[2] for r in rows[1:]), rows; \
            assert rows[1][3] == "o9,\\"two\\nline id\\",2024-03-01,not-a-number", rows[1]' '\(dir.file("out/rejects.csv"))' '\(dir.file(name))'
            """
        #expect(try shell(check) == 0)
    }

    @Test("many rejects: rejects.csv streams them all, each row prefixed with its file")
    func manyRejects() throws {
        let dir = TemporaryFolder()
        var text = smallLog(rows: 10)
        for i in 0..<30_000 { text += "bad\(i),c\(i % 9),2024-13-\(String(format: "%02d", i % 28 + 1)),\(i).00,some padding to make it long\n" }
        try dir.write("in.csv", text)
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], maxRejectShare: 1)
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try dir.read("out/rejects.csv").split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 30_001)
        let path = dir.file("in.csv")
        // Over 3 MB of rejects: records cross the 1 MiB blocks the file is streamed in.
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(path + ",") }, "every row starts with its file")
        #expect(lines.last?.contains(",30011,") == true)
    }

    @Test("exit statuses of docs/CONTRACT.md, each with one line naming what is wrong")
    func exitStatuses() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 10))
        let good = try TestPipeline.csv(in: dir, inputs: ["in.csv"])

        func one(_ args: [String], _ status: Int32, _ words: [String]) throws {
            let r = try RetainBinary.run(args)
            #expect(r.status == status, "\(args): \(r.stderr)")
            let errors = r.lines.filter { $0.hasPrefix("retain: error:") }
            #expect(errors.count == 1, "one error line: \(r.stderr)")
            #expect(words.allSatisfy { r.stderr.contains($0) }, "\(r.stderr)")
        }
        try one(["run", dir.file("missing.toml")], 66, ["missing.toml"])
        let noInput = try TestPipeline.csv(in: dir, name: "noinput.toml", inputs: ["nothing-*.csv"])
        try one(["run", noInput], 66, ["nothing-*.csv", "input.paths"])
        try dir.write("typo.toml", try dir.read("p.toml").replacingOccurrences(of: "date_format", with: "date_fromat"))
        try one(["run", dir.file("typo.toml")], 78, ["typo.toml:3", "input.date_fromat", "input.date_format"])
        try one(["run", good, "--as-of", "2024-02-30"], 78, ["--as-of"])
        try one(["run", good, "--only", "ingest", "--from", "ingest"], 78, ["--only", "--from"])
        try one(["run", good, "--only", "bogus"], 78, ["bogus"])
        try one(["run", good, "--out", "/dev/null/out"], 73, ["/dev/null/out"])
        try dir.write("header-only.csv", "order_id,customer_id,date,amount\n")
        let empty = try TestPipeline.csv(in: dir, name: "empty.toml", inputs: ["header-only.csv"], out: "out-empty")
        try one(["run", empty], 65, ["no usable customers"])
        try dir.write("wrong-header.csv", "a,b,c\n1,2,3\n")
        let wrong = try TestPipeline.csv(in: dir, name: "wrong.toml", inputs: ["wrong-header.csv"], out: "out-wrong")
        try one(["run", wrong], 65, ["wrong-header.csv:1", "input.columns"])
        #expect(try RetainBinary.run(["run", good, "--only", "ingest"]).status == 0)
    }

    @Test("--help on every command")
    func help() throws {
        for args in [["--help"], ["run", "--help"], ["validate", "--help"], ["generate", "--help"]] {
            let r = try RetainBinary.run(args)
            #expect(r.status == 0)
            #expect((r.stdout + r.stderr).contains("USAGE"))
        }
    }

    @Test("validate checks header and first rows and writes nothing")
    func validate() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 20) + "bad,c,2024-01-99,1\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], maxRejectShare: 0.1)
        let r = try RetainBinary.run(["validate", p])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("customer_id='customer_id'") && r.stderr.contains("20 accepted, 1 rejected"))
        #expect(r.stderr.contains("in.csv:22: unparsable_date"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
        let cdnow = try RetainBinary.run(["validate", RepoPaths.path("pipelines/cdnow.toml")])
        #expect(cdnow.status == 0 && cdnow.stderr.contains("1000 accepted, 0 rejected"))
        try dir.write("wrong.csv", "a,b,c\n1,2,3\n")
        let w = try TestPipeline.csv(in: dir, name: "w.toml", inputs: ["wrong.csv"])
        #expect(try RetainBinary.run(["validate", w]).status == 65)
    }
}
