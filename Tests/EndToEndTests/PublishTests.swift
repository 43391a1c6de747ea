import Testing
import Foundation
import RetainIO
import RetainTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// What a reader of the output folder sees while runs are stopped at any moment: the
/// published files are all from one run, whatever is killed when.
@Suite("Publish: one run at every instant", .serialized)
struct PublishTests {
    /// Kills over whole runs (`RETAIN_KILLS`, default 30; `.ci/run` runs 120 against the
    /// release binary).
    static let kills = Int(ProcessInfo.processInfo.environment["RETAIN_KILLS"] ?? "") ?? 30

    /// The published files that tell runs apart: every CSV and model.json (run.json and
    /// report.md carry times and the folder's path).
    static func outputs(_ dir: String) throws -> [String: Data] {
        try snapshot(dir).filter { $0.key.hasSuffix(".csv") || $0.key == "model.json" }
    }

    /// Two logs whose runs differ in the files of every stage: the same customers and
    /// dates, other amounts.
    static func writeLogs(_ dir: TemporaryFolder) throws -> (a: String, b: String) {
        var a = "order_id,customer_id,date,amount\n", b = a
        for i in 1...6_000 {
            let m = i % 12 + 1, d = i % 28 + 1
            a += "o\(i),c\(i % 700),2024-\(String(format: "%02d-%02d", m, d)),\(i % 97 + 3).50\n"
            b += "o\(i),c\(i % 700),2024-\(String(format: "%02d-%02d", m, d)),\(i % 89 + 5).25\n"
        }
        return (a, b)
    }

    @Test("kill -9 at random moments of whole runs, many near the end: every published file from the same run")
    func killsOverWholeRuns() throws {
        let dir = TemporaryFolder()
        let (logA, logB) = try Self.writeLogs(dir)
        let extra = "[features]\nhorizon_days = 60\nactive_window_days = 365\n"
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], maxRejectShare: 0.5)
        try dir.write("p.toml", try dir.read("p.toml") + "\n" + extra)
        // The two possible published states, from runs into folders of their own.
        var reference: [[String: Data]] = []
        var duration = 0.0
        for log in [logA, logB] {
            try dir.write("in.csv", log)
            let start = Date()
            let r = try RetainBinary.run(["run", p, "--quiet"])
            duration = duration == 0 ? Date().timeIntervalSince(start) : min(duration, Date().timeIntervalSince(start))
            #expect(r.status == 0, "\(r.stderr.suffix(400))")
            reference.append(try Self.outputs(dir.file("out")))
            try FileManager.default.removeItem(atPath: dir.file("out"))
        }
        #expect(reference[0].count >= 10 && reference[1].count == reference[0].count)
        let telling = reference[0].filter { reference[1][$0.key] != $0.value }.keys
        #expect(telling.count >= 8 && ["customers.csv", "scores.csv", "features.csv", "model.json", "plans/2024-12-28/customers.csv"].allSatisfy(telling.contains),
                "the files of each stage tell the runs apart: \(telling.sorted())")

        try dir.write("in.csv", logA)
        #expect(try RetainBinary.run(["run", p, "--quiet"]).status == 0)
        var rng = SplitMix(seed: 15)
        var mixed: [String] = [], landed = 0
        for k in 0..<Self.kills {
            try dir.write("in.csv", k % 2 == 0 ? logB : logA)
            // Half the kills in the last fifth of a run (the publish), the rest anywhere.
            let u = Double(rng.next() % 10_000) / 10_000
            let at = k % 2 == 0 ? duration * (0.8 + 0.3 * u) : duration * 1.1 * u
            let run = try RetainBinary.start(["run", p, "--quiet"])
            usleep(useconds_t(at * 1_000_000))
            run.kill()
            let result = run.wait()
            let now = try Self.outputs(dir.file("out"))
            // The plan archive: each plan.json names the checksums of the files beside it.
            for plan in (try? FileManager.default.contentsOfDirectory(atPath: dir.file("out/plans"))) ?? [] {
                let files = (try json(dir.file("out/plans/\(plan)/plan.json")))["files"] as? [String: String] ?? [:]
                for (name, hash) in files where XXH64.hex(try FileHash.xxh64(path: dir.file("out/plans/\(plan)/\(name)"))) != hash {
                    mixed.append("kill \(k): plans/\(plan)/\(name) is not the file its plan.json records")
                }
            }
            guard let which = reference.firstIndex(where: { $0 == now }) else {
                let a = now.filter { reference[0][$0.key] == $0.value }.keys.sorted()
                mixed.append("kill \(k) at \(at) s (exit \(result.status)): from A \(a), others not")
                continue
            }
            if which == (k % 2 == 0 ? 1 : 0) { landed += 1 }
        }
        #expect(mixed.isEmpty, "\(mixed)")
        // Kills both before and after the publish (a check of the timing, meaningful with many kills).
        if Self.kills >= 50 { #expect(landed > 0 && landed < Self.kills, "kills after the publish: \(landed) of \(Self.kills)") }
        let r = try RetainBinary.run(["run", p, "--quiet"])
        #expect(r.status == 0, "the next run needs no cleanup: \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("out/.runs")).count == 1)
    }

    @Test("SIGTERM and SIGINT: one error line, exit 143 / 130, previous outputs kept, staging removed, last-failure/ written",
          arguments: [(SIGTERM, Int32(143), "SIGTERM"), (SIGINT, Int32(130), "SIGINT")])
    func stopSignals(signal: Int32, status: Int32, name: String) throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 50))
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        let before = try snapshot(dir.file("out"))
        try writeLargeLog(dir.file("in.csv"), rows: 3_000_000)  // long enough to stop mid-run
        let run = try RetainBinary.start(["run", p, "--only", "ingest"])
        #expect(waitForLock(run, out: dir.file("out")))
        usleep(100_000)
        run.signal(signal)
        let r = run.wait()
        #expect(r.status == status, "\(r.stderr)")
        #expect(r.lines.filter { $0.hasPrefix("retain: error:") } == ["retain: error: stopped by \(name); the previous outputs are unchanged, and last-failure/ records this run"])
        #expect(try snapshot(dir.file("out")).filter { !$0.key.hasPrefix("last-failure/") } == before)
        let record = try json(dir.file("out/last-failure/run.json"))
        #expect(record["status"] as? String == "failed")
        #expect(((record["failure"] as? [String: Any])?["exit_status"] as? Int) == Int(status))
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).filter { $0.hasPrefix(".staging-") || $0.hasPrefix(".failing-") }
        #expect(hidden.isEmpty)
    }

    /// (A FIFO, not a device: a regression must not be able to replace a node of /dev.)
    @Test("retain generate into a FIFO writes into it and leaves it a FIFO")
    func generateIntoSpecialFiles() throws {
        let dir = TemporaryFolder()
        let fifo = dir.file("pipe")
        #expect(mkfifo(fifo, 0o644) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "timeout 30 sh -c \"wc -l < '\(fifo)'\" > '\(dir.file("count"))'"]
        try reader.run()
        let r = try RetainBinary.run(["generate", "--customers", "50", fifo])
        reader.waitUntilExit()
        #expect(r.status == 0, "\(r.stderr)")
        let lines = Int(try dir.read("count").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(lines > 50)
        var st = stat()
        #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "still a FIFO")
    }
}
