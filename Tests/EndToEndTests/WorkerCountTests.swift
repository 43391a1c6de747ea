import Foundation
import Testing
import RetainTestSupport

/// The worker count and the speed-ups change how fast a run is, never what it writes.
@Suite("Worker count and speed-ups")
struct WorkerCountTests {
    static let counts = [1, 2, 3, 5, 8]

    /// Every published file, with run.json's per-invocation fields (times, memory, the
    /// command, the folder, the worker count) taken out.
    func outputs(_ out: String) throws -> [String: Data] {
        var files = try snapshot(out)
        var run = try json(out + "/run.json")
        for key in ["started_at", "finished_at", "command", "output_dir", "workers"] { run[key] = nil }
        if var stages = run["stages"] as? [String: [String: Any]] {
            for (name, var stage) in stages {
                for key in ["seconds", "cpu_seconds", "peak_memory_megabytes"] { stage[key] = nil }
                if var measures = stage["measures"] as? [String: Any] {
                    for key in measures.keys where key.hasSuffix("_seconds") { measures[key] = nil }
                    stage["measures"] = measures
                }
                stages[name] = stage
            }
            run["stages"] = stages
        }
        files["run.json"] = try JSONSerialization.data(withJSONObject: run, options: [.sortedKeys])
        // A plan's record says when it was made; everything else in it must be the same.
        for name in files.keys where name.hasPrefix("plans/") && name.hasSuffix("/plan.json") {
            var plan = try json(out + "/" + name)
            plan["created_at"] = nil
            files[name] = try JSONSerialization.data(withJSONObject: plan, options: [.sortedKeys])
        }
        return files
    }

    /// Runs `pipeline` with each worker count into its own folder; expects each run to
    /// succeed, record its count, and write the same files as the first.
    func expectSameOutputs(_ pipeline: String, in dir: TemporaryFolder) throws {
        var reference: [String: Data]? = nil
        for n in Self.counts {
            let out = dir.file("w\(n)")
            let r = try RetainBinary.run(["run", pipeline, "--out", out, "--workers", "\(n)", "--quiet"], in: dir.path)
            #expect(r.status == 0, "\(n) workers: \(r.stderr)")
            #expect(try json(out + "/run.json")["workers"] as? Int == n)
            let files = try outputs(out)
            guard let first = reference else { reference = files; continue }
            #expect(files.keys.sorted() == first.keys.sorted(), "\(n) workers wrote other files")
            for (name, data) in first where files[name] != data {
                Issue.record("\(name) differs between 1 and \(n) workers")
            }
        }
    }

    @Test("the bundled sample: byte-identical outputs for 1, 2, 3, 5 and 8 workers")
    func sample() throws {
        let dir = TemporaryFolder()
        try expectSameOutputs(RepoPaths.path("pipelines/sample.toml"), in: dir)
    }

    /// Two inputs that share 2,000 lines (duplicates across files), with rejected rows
    /// and exact duplicates within a file: large enough that every block is
    /// parsed in pieces.
    /// (`retain generate --customers 12000` writes about 67,000 rows, 4 MB.)
    @Test("a log with rejects and cross-file duplicates: byte-identical outputs")
    func rejectsAndDuplicates() throws {
        let dir = TemporaryFolder()
        #expect(try RetainBinary.run(["generate", "--customers", "12000", dir.file("all.csv"), "--quiet"]).status == 0)
        let lines = try dir.read("all.csv").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = lines[0], body = lines.dropFirst().filter { !$0.isEmpty }
        let cut = body.count / 2
        var a = Array(body[..<(cut + 2_000)]), b = Array(body[cut...])
        a.insert("x1,C1,2024-13-01,p1,1,9.99,,,,web", at: 500)        // no such month
        a.insert("x2,C2,2024-01-01,p1,1,ten,,,,web", at: a.count / 2)  // not a number
        a.insert(a[a.count - 10], at: a.count - 9)                    // exact duplicate line
        b.append("x3,,2025-01-01,p1,1,1.00,,,,web")                  // no customer id
        try dir.write("a.csv", ([header] + a).joined(separator: "\n") + "\n")
        try dir.write("b.csv", ([header] + b).joined(separator: "\n") + "\n")
        let sample = try String(contentsOfFile: RepoPaths.path("pipelines/sample.toml"), encoding: .utf8)
        let pipeline = sample
            .replacingOccurrences(of: #"paths = ["../datasets/sample/transactions.csv"]"#, with: #"paths = ["a.csv", "b.csv"]"#)
            .replacingOccurrences(of: #"dir = "../out/sample""#, with: #"dir = "out""#)
            .replacingOccurrences(of: "max_reject_share = 0.01", with: "max_reject_share = 0.05")
        #expect(pipeline.contains("a.csv") && pipeline.contains(#"dir = "out""#) && pipeline.contains("0.05"))
        let p = try dir.write("p.toml", pipeline)
        try expectSameOutputs(p, in: dir)
        let counts = ingestCounts(try json(dir.file("w1/run.json")))
        #expect((counts["rows_rejected"] ?? 0) >= 2_004, "rejects and duplicates were counted: \(counts)")
    }

    @Test("without the speed-ups (RETAIN_PLAIN=1): the same files")
    func plainPath() throws {
        let dir = TemporaryFolder()
        let sample = RepoPaths.path("pipelines/sample.toml")
        var r = try RetainBinary.run(["run", sample, "--out", dir.file("fast"), "--quiet"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        r = try RetainBinary.run(["run", sample, "--out", dir.file("plain"), "--quiet"], in: dir.path, environment: ["RETAIN_PLAIN": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let fast = try outputs(dir.file("fast")), plain = try outputs(dir.file("plain"))
        #expect(fast.keys.sorted() == plain.keys.sorted())
        for (name, data) in fast where plain[name] != data { Issue.record("\(name) differs without the speed-ups") }
    }

    @Test("RETAIN_WORKERS sets the count; a bad value or --workers 0 is refused with exit 78")
    func environment() throws {
        let dir = TemporaryFolder()
        let sample = RepoPaths.path("pipelines/sample.toml")
        var r = try RetainBinary.run(["run", sample, "--out", dir.file("e"), "--only", "ingest", "--quiet"], in: dir.path,
                                     environment: ["RETAIN_WORKERS": "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try json(dir.file("e/run.json"))["workers"] as? Int == 3)
        r = try RetainBinary.run(["run", sample, "--out", dir.file("f")], in: dir.path, environment: ["RETAIN_WORKERS": "two"])
        #expect(r.status == 78 && r.lines.count == 1 && r.stderr.contains("RETAIN_WORKERS='two'"), "\(r.stderr)")
        r = try RetainBinary.run(["run", sample, "--out", dir.file("f"), "--workers", "0"], in: dir.path)
        #expect(r.status == 78 && r.stderr.contains("--workers 0"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("f")))
    }
}
