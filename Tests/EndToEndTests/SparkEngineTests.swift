import Foundation
import RetainIO
import RetainTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The Spark engine against retain's own, on the bundled sample and the real CDNOW log:
/// the same pipeline with `[engine] kind = "spark"` in local mode. They run where Spark
/// is installed (`scripts/install-deps --spark`; CI does it), else they are skipped.
/// pyspark's spark-sql in the repository's environment, or `$RETAIN_SPARK_SUBMIT`.
let sparkSubmit: String? = {
    if let s = ProcessInfo.processInfo.environment["RETAIN_SPARK_SUBMIT"] { return s }
    let venv = RepoPaths.path(".venv/bin/spark-sql")
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}()

@Suite("Spark engine", .serialized, .enabled(if: sparkSubmit != nil, "Spark is not installed: scripts/install-deps --spark"))
struct SparkEngineTests {
    static var submit: String? { sparkSubmit }

    /// `pipelines/NAME.toml` with its inputs made absolute, writing to `out`, and (`spark`)
    /// the engine section: local[2], scratch in the test's folder.
    static func pipeline(_ name: String, in dir: TemporaryFolder, spark: Bool, out: String, extra: String = "",
                         master: String = "local[2]", input: String? = nil) throws -> String {
        var text = try String(contentsOfFile: RepoPaths.path("pipelines/\(name).toml"), encoding: .utf8)
            .replacingOccurrences(of: "\"../datasets/", with: "\"\(RepoPaths.path("datasets"))/")
        if let input { text = text.replacingOccurrences(of: RepoPaths.path("datasets/sample/transactions.csv"), with: input) }
        text = text.replacingOccurrences(of: "max_reject_share = 0.01", with: "max_reject_share = 0.5")
        text += "\n" + extra + "\n"
        if spark {
            text += """

                [engine]
                kind = "spark"
                submit = "\(submit ?? "spark-sql")"
                master = "\(master)"
                scratch = "\(dir.file("scratch"))"

                [engine.conf]
                "spark.ui.enabled" = "false"
                """
        }
        return try dir.write("\(name)-\(spark ? "spark" : "retain").toml", text.replacingOccurrences(of: "dir = \"../out/\(name)\"", with: "dir = \"\(out)\""))
    }

    /// CSV rows by customer_id (the first column), as text.
    static func rows(_ path: String) throws -> (header: [String], byID: [String: [String]], order: [String]) {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = lines.first else { return ([], [:], []) }
        var byID: [String: [String]] = [:]
        for l in lines.dropFirst() { byID[l[0]] = l }
        return (header, byID, lines.dropFirst().map { $0[0] })
    }

    /// The rows of Spark's result folder (its part files in order), as text.
    static func resultRows(_ dir: String) throws -> (header: [String], rows: [[String]]) {
        let parts = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("part-") }.sorted()
        var header: [String] = [], rows: [[String]] = []
        for p in parts {
            let lines = try String(contentsOfFile: dir + "/" + p, encoding: .utf8).split(separator: "\n")
            guard let h = lines.first else { continue }
            header = h.split(separator: ",").map(String.init)
            rows += lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        return (header, rows)
    }

    /// Every feature of every snapshot, and the scoring snapshot's customer-base summary,
    /// as Spark computed them (12 decimals) against retain's own files (correctly rounded to
    /// 9): within 1e-9 x max(1, |value|), which holds when the engines agree to 5e-10 (the
    /// rounding of the files takes the rest). Customers and labels exactly.
    static func compareSnapshots(spark sparkOut: String, retain retainOut: String) throws -> (values: Int, worst: Double) {
        let run = try json(sparkOut + "/run.json")
        let engine = try #require(run["engine"] as? [String: Any])
        let results = try #require(engine["results"] as? String)
        var compared = 0, worst = 0.0
        for (snapshot, file) in [("training", "features.csv"), ("validation", "snapshots/validation.csv"), ("scoring", "snapshots/scoring.csv")] {
            let mine = try rows(retainOut + "/" + file)
            let theirs = try resultRows(results + "/snapshot_" + snapshot)
            let active = theirs.rows.filter { $0[theirs.header.firstIndex(of: "active") ?? 0] == "1" }
            #expect(active.map { $0[0] } == mine.order, "\(file): other customers, or in another order")
            let summary = snapshot == "scoring" ? try rows(retainOut + "/snapshots/summary.csv") : nil
            if let summary { #expect(theirs.rows.map { $0[0] } == summary.order, "summary.csv: other customers") }
            for row in theirs.rows {
                var pairs: [(String, String, String)] = []  // column, Spark, retain
                if let summary, let s = summary.byID[row[0]] {
                    for (i, name) in summary.header.enumerated().dropFirst() { pairs.append((name, row[theirs.header.firstIndex(of: name) ?? 0], s[i])) }
                }
                if let m = mine.byID[row[0]] {
                    for (i, name) in mine.header.enumerated().dropFirst() where !name.hasPrefix("btyd_") {
                        guard let j = theirs.header.firstIndex(of: name) else { Issue.record("\(file): Spark has no \(name)"); continue }
                        pairs.append((name, row[j], m[i]))
                    }
                }
                for (name, s, r) in pairs {
                    compared += 1
                    if s.isEmpty || r.isEmpty { #expect(s.isEmpty == r.isEmpty, "\(file) \(row[0]) \(name): Spark '\(s)', retain '\(r)'"); continue }
                    let a = Double(s) ?? .nan, b = Double(r) ?? .nan
                    let d = abs(a - b) / max(1, abs(b))
                    worst = max(worst, d)
                    #expect(d <= 1e-9, "\(file) \(row[0]) \(name): Spark \(s), retain \(r)")
                }
            }
        }
        return (compared, worst)
    }

    static func runBoth(_ name: String, in dir: TemporaryFolder) throws -> (retain: String, spark: String) {
        let retainOut = dir.file("retain"), sparkOut = dir.file("spark")
        let r = try RetainBinary.run(["run", try pipeline(name, in: dir, spark: false, out: retainOut), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try RetainBinary.run(["run", try pipeline(name, in: dir, spark: true, out: sparkOut), "--quiet"])
        #expect(s.status == 0, "\(s.stderr)")
        return (retainOut, sparkOut)
    }

    @Test("the sample and CDNOW: every snapshot feature within 1e-9 of retain's, the history and cohorts equal, the later stages follow",
          arguments: ["sample", "cdnow"])
    func sameAnswers(name: String) throws {
        let dir = TemporaryFolder("spark-\(name)")
        let (retainOut, sparkOut) = try Self.runBoth(name, in: dir)
        let (values, worst) = try Self.compareSnapshots(spark: sparkOut, retain: retainOut)
        #expect(values > 10_000, "only \(values) values compared")
        print("spark \(name): \(values) values, worst relative difference \(worst)")
        for file in ["retention_history.csv", "retention_cohorts.csv"] {
            #expect(try String(contentsOfFile: sparkOut + "/" + file, encoding: .utf8) == String(contentsOfFile: retainOut + "/" + file, encoding: .utf8), "\(file) differs")
        }
        // The later stages ran on Spark's snapshots: the same customers scored and grouped.
        #expect(try Self.rows(sparkOut + "/customers.csv").order == Self.rows(retainOut + "/customers.csv").order)
        let run = try json(sparkOut + "/run.json")
        let engine = try #require(run["engine"] as? [String: Any])
        #expect(engine["kind"] as? String == "spark")
        #expect((engine["sql_hash"] as? String)?.count == 16)
        #expect((engine["application_id"] as? String)?.hasPrefix("local-") == true)
        #expect(FileManager.default.fileExists(atPath: sparkOut + "/spark/query.sql"))
        let counts = ingestCounts(run), mine = ingestCounts(try json(retainOut + "/run.json"))
        #expect(counts["rows_read"] == mine["rows_read"] && counts["rows_accepted"] == mine["rows_accepted"] && counts["customers"] == mine["customers"])
    }

    @Test("a hostile log: the same rows rejected for the same reasons, read = accepted + rejected")
    func sameRejects() throws {
        let dir = TemporaryFolder("spark-rejects")
        var log = try String(contentsOfFile: RepoPaths.path("datasets/sample/transactions.csv"), encoding: .utf8)
            .split(separator: "\n").prefix(600).joined(separator: "\n") + "\n"
        log += """
            O1-0,,2023-01-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-1,C1,2023-13-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-2,C1,2023-02-30,P1,1,10.00,5.00,0.00,0.00,store
            O1-3,C1,1890-01-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-4,C1,2023-01-02,P1,1,ten,5.00,0.00,0.00,store
            O1-5,C1,2023-01-02,P1,1,99999999999,5.00,0.00,0.00,store
            O1-6,C1,2023-01-02,P1,1,10.00,abc,0.00,0.00,store
            ,C1,2023-01-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-8,C1,2023-01-02,P1,1,10.00,5.00,0.00,0.00,store,extra
            O1-9,C1,2023-01-02,P1,1
            O1-11,"C""q",2023-01-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-12,  ,2023-01-02,P1,1,10.00,5.00,0.00,0.00,store
            O1-13,C1,2023-1-2,P1,1,10.00,5.00,0.00,0.00,store
            O1-14,C1,2023-01-02,P1,1,1e3,5.00,0.00,0.00,store
            O1-15,C1,2023-01-02,P1,1,.5,5.00,0.00,0.00,store
            O1-16,C1,2023-01-02,P1,1,-5.,,0.00,0.00,store
            O1-17,"C2",2023-01-02,P1,1,+5,5.00,,0.00,store
            O1-18,C1,"2023-01-02",P1,1,10.00,5.00,"0,5",0.00,store

            """
        let lines = log.split(separator: "\n")
        log += lines[3] + "\n" + lines[7] + "\n"  // two exact repeats of order lines
        log += "O1-10,\"C1,2023-01-02,P1,1,10.00,5.00,0.00,0.00,store\n"  // a quote never closed
        let input = try dir.write("hostile.csv", log)
        var status: [Int32] = []
        var counts: [[String: Int]] = []
        for spark in [false, true] {
            let out = dir.file(spark ? "spark" : "retain")
            let r = try RetainBinary.run(["run", try Self.pipeline("sample", in: dir, spark: spark, out: out, input: input), "--to", "ingest", "--quiet"])
            status.append(r.status)
            counts.append(ingestCounts(try json(out + "/run.json")))
        }
        #expect(status == [0, 0])
        let reasons = counts[0].filter { $0.key.hasPrefix("rejected_") }
        #expect(reasons.count >= 11, "the log should hit most reasons: \(reasons)")
        #expect(counts[1].filter { $0.key.hasPrefix("rejected_") } == reasons)
        for c in counts { #expect(c["rows_read"] == (c["rows_accepted"] ?? 0) + (c["rows_rejected"] ?? 0)) }
        #expect(counts[0]["rows_read"] == counts[1]["rows_read"])
        let rejects = try String(contentsOfFile: dir.file("spark/rejects.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rejects.count == 1 + (counts[1]["rows_rejected"] ?? 0))
    }

    @Test("a missing input is exit 66 with Spark's own message on one line, the full log in last-failure/, nothing left in the working folder")
    func missingInput() throws {
        let dir = TemporaryFolder("spark-missing")
        let out = dir.file("out")
        let cwd = dir.file("cwd")
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let r = try RetainBinary.run(["run", try Self.pipeline("sample", in: dir, spark: true, out: out, input: dir.file("no-such.csv"))], in: cwd)
        #expect(r.status == 66)
        // Spark's metastore stays in the run's results folder, not where retain was started.
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd).isEmpty)
        let errors = r.lines.filter { $0.hasPrefix("retain: error:") }
        #expect(errors.count == 1 && errors.first?.contains("PATH_NOT_FOUND") == true, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/last-failure/spark/spark.log"))
        #expect(errors.first?.contains(out + "/last-failure/spark/spark.log") == true)
    }

    @Test("any other Spark failure is exit 1 naming the job and Spark's error")
    func otherFailure() throws {
        let dir = TemporaryFolder("spark-fails")
        let r = try RetainBinary.run(["run", try Self.pipeline("sample", in: dir, spark: true, out: dir.file("out"), master: "bogus://nowhere")])
        #expect(r.status == 1)
        let errors = r.lines.filter { $0.hasPrefix("retain: error: spark: the job failed") }
        #expect(errors.count == 1 && errors.first?.contains("SparkException: Master must") == true, "\(r.stderr)")
    }

    @Test("SIGTERM while Spark runs: exit 143, and none of Spark's processes is left")
    func stopped() throws {
        let dir = TemporaryFolder("spark-stop")
        let out = dir.file("out")
        let run = try RetainBinary.start(["run", try Self.pipeline("sample", in: dir, spark: true, out: out)])
        // Spark's JVM names the script, which is in the output folder's staging area.
        func sparkProcesses() -> Int32 { (try? shell("pgrep -f '[s]park.*\(out)/' > /dev/null")) == 0 ? 1 : 0 }
        var started = false
        for _ in 0..<300 where !started { usleep(100_000); started = sparkProcesses() == 1 }
        #expect(started, "Spark did not start")
        usleep(2_000_000)
        run.signal(SIGTERM)
        let r = run.wait()
        #expect(r.status == 143, "\(r.stderr)")
        var gone = false
        for _ in 0..<100 where !gone { usleep(100_000); gone = sparkProcesses() == 0 }
        #expect(gone, "Spark's processes outlived the run")
    }

    @Test("SIGKILL while Spark runs: the kernel ends Spark's process with retain's")
    func killed() throws {
        let dir = TemporaryFolder("spark-kill")
        let out = dir.file("out")
        let run = try RetainBinary.start(["run", try Self.pipeline("sample", in: dir, spark: true, out: out)])
        func sparkRunning() -> Bool { (try? shell("pgrep -f '[s]park.*\(out)/' > /dev/null")) == 0 }
        var started = false
        for _ in 0..<300 where !started { usleep(100_000); started = sparkRunning() }
        #expect(started, "Spark did not start")
        usleep(2_000_000)
        // Spark holds none of retain's descriptors (a pipe of retain's held by Spark would
        // keep the pipe of a cron job that started retain open after retain).
        func pipes(_ pid: String) -> Set<String> {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return Set(fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
                .filter { $0.hasPrefix("pipe:") || $0.hasSuffix(".retain.lock") })
        }
        let jvm = (try? String(contentsOfFile: "/proc/\(run.process.processIdentifier)/task/\(run.process.processIdentifier)/children", encoding: .utf8))?
            .split(separator: " ").first.map(String.init)
        #expect(jvm != nil, "no child of retain's")
        if let jvm { #expect(pipes(jvm).isDisjoint(with: pipes(String(run.process.processIdentifier))), "\(pipes(jvm))") }
        run.signal(SIGKILL)
        // Within 10 s of the kill (the sample's Spark job alone runs longer), before the
        // killed process is waited for.
        var gone = false
        for _ in 0..<100 where !gone { usleep(100_000); gone = !sparkRunning() }
        #expect(gone, "Spark's JVM outlived a retain killed with SIGKILL")
        if !gone { _ = try? shell("pkill -KILL -f '[s]park.*\(out)/'") }
        _ = run.wait()
    }
}
