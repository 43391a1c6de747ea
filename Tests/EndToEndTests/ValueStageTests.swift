import Foundation
import Testing
import RetainTestSupport

@Suite("retain run: value stage", .serialized)
struct ValueStageTests {
    /// CDNOW's 1/10 sample cut at 1997-09-30: snapshots/summary.csv against the published
    /// calibration summary (datasets/cdnow/cdnow_sample_summary.csv, weeks to 2 decimals).
    /// The published summary also counts 8 customers whose only transaction in the period
    /// is worth $0.00; retain's purchases are amounts > 0 (docs/CONTRACT.md), so they are
    /// not in its base. Every other customer matches: x exactly, tₓ and T within rounding.
    @Test("CDNOW sample: the customer-base summary equals the published one (x exact, t_x and T within 0.005 weeks)")
    func publishedSummary() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/cdnow-sample.toml"), "--out", dir.file("out"),
                                      "--as-of", "1997-09-30", "--to", "value", "--quiet"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try Self.rows(dir.file("out/snapshots/summary.csv"))
        let published = try Self.rows(RepoPaths.path("datasets/cdnow/cdnow_sample_summary.csv"))
        #expect(published.count == 2357 && ours.count == 2349)
        var matched = 0, absent: [Int] = []
        for (id, p) in published {
            guard let o = ours[id] else { absent.append(id); continue }
            #expect(o[0] == p[0], "customer \(id): x \(o[0]) against \(p[0])")
            #expect(isClose(o[1] / 7, p[1], rel: 0, abs: 0.0051) && isClose(o[2] / 7, p[2], rel: 0, abs: 0.0051), "customer \(id)")
            #expect(isClose(o[3], p[3], rel: 0, abs: 0.0051), "customer \(id): zbar \(o[3]) against \(p[3])")
            matched += 1
        }
        #expect(matched == 2349 && absent.sorted() == [87, 155, 227, 286, 1080, 1195, 1293, 2086])
        let raw = try String(contentsOfFile: RepoPaths.path("datasets/cdnow/CDNOW_sample.txt"), encoding: .utf8)
        for line in raw.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: " ")
            guard f.count == 5, let id = Int(f[1]), absent.contains(id), f[2] <= "19970930" else { continue }
            #expect(f[4] == "0.00", "customer \(id) has a purchase: \(line)")
        }
    }

    /// id -> [x, t_x, T, zbar] of a summary file (ids as numbers: the sample's are zero-padded).
    static func rows(_ path: String) throws -> [Int: [Double]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [Int: [Double]] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",")
            guard f.count == 5, let id = Int(f[0]) else { continue }
            out[id] = f.dropFirst().compactMap { Double($0) }
        }
        return out
    }

    /// Mostly one-off buyers (CDNOW-like cohorts): 400 customers buy once in the first 200
    /// days of 2024; 20 of them buy again in (E − 2H, E − H] and 20 in (E − H, E], with
    /// E = 2024-12-30 and H = 60. The validation snapshot's base has no repeat purchase at
    /// all (BG/NBD cannot be fitted: no hybrid or BG/NBD model), and the scoring base has 41
    /// repeat customers (c399's last purchase makes the 41st): fewer than Gamma-Gamma's 50,
    /// so the observed spend stands in. The run succeeds, says so in one warning each, and
    /// every value cell is a number.
    @Test("no repeat purchase in a snapshot, fewer than 50 repeat customers: warnings and fallbacks, exit 0, no empty or NaN value cell")
    func fewRepeatCustomers() throws {
        let dir = TemporaryFolder()
        var log = "order_id,customer_id,date,amount\n"
        func day(_ k: Int) -> String { ISO8601DateFormatter.day(Date(timeIntervalSince1970: 1_704_067_200 + Double(k) * 86_400)) }
        for i in 0..<400 { log += "o\(i),c\(i),\(day(i % 200)),\(10 + i % 50).50\n" }
        for i in 0..<20 { log += "r\(i),c\(i),\(day(250 + i)),\(20 + i).00\n" }
        for i in 20..<40 { log += "r\(i),c\(i),\(day(310 + i)),\(20 + i).00\n" }
        log += "last,c399,\(day(364)),5.00\n"
        _ = try dir.write("in.csv", log)
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], extra: "header = true\n\n[features]\nhorizon_days = 60")
        let r = try RetainBinary.run(["run", p], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("snapshots/validation.csv has no BG/NBD columns"), "\(r.stderr)")
        #expect(r.stderr.contains("value: Gamma-Gamma: 41 repeat customers with a positive spend, fewer than the 50 the fit needs"), "\(r.stderr)")
        // The scoring base's BG/NBD is degenerate (41 repeat customers of 400): said once, still used.
        #expect(r.stderr.contains("value: BG/NBD: alpha ran to its bound") && !r.stderr.contains("did not converge"), "\(r.stderr)")
        #expect(!r.stderr.contains("nan") && !r.stderr.contains("error"), "\(r.stderr)")
        try Self.expectNumbers(dir.file("out/customers.csv"), columns: ["p_alive", "expected_purchases", "clv"])
        try Self.expectNumbers(dir.file("out/value.csv"), columns: ["p_alive", "expected_purchases", "expected_spend", "clv"])
        let model = try json(dir.file("out/model.json"))
        let comparison = model["comparison"] as? [String: Any]
        #expect(comparison?["chosen"] as? String == "logistic", "\(comparison ?? [:])")
        let skipped = (comparison?["candidates"] as? [[String: Any]])?.filter { $0["skipped"] != nil }.compactMap { $0["model"] as? String }
        #expect(skipped?.sorted() == ["btyd", "hybrid"])
    }

    /// Every cell of `columns` in the CSV at `path` is a finite number.
    static func expectNumbers(_ path: String, columns: [String]) throws {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let idx = columns.compactMap { header.firstIndex(of: $0) }
        #expect(idx.count == columns.count, "\(header)")
        for line in lines.dropFirst() {
            let f = CSVFields.split(String(line))
            for j in idx { #expect(Double(f[j])?.isFinite == true, "\(header[j]) = '\(f[j])' in \(line)") }
        }
    }
}

extension ISO8601DateFormatter {
    static func day(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        return f.string(from: d)
    }
}

/// Fields of one CSV line as Retain writes it (quoted fields hold no newline).
enum CSVFields {
    static func split(_ line: String) -> [String] {
        var out: [String] = [], field = "", quoted = false
        for c in line {
            if c == "\"" { quoted.toggle() } else if c == "," && !quoted { out.append(field); field = "" } else { field.append(c) }
        }
        out.append(field)
        return out
    }
}

@Suite("retain run: BG/NBD columns and the model choice", .serialized)
struct HybridModelTests {
    /// The bundled sample's pipeline, its paths made absolute, written into `dir`, with
    /// `modelLines` added to its `[model]` table.
    static func samplePipeline(_ dir: TemporaryFolder, input: String? = nil, modelLines: String = "") throws -> String {
        var text = try String(contentsOfFile: RepoPaths.path("pipelines/sample.toml"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"../datasets/sample/transactions.csv\"", with: "\"\(input ?? RepoPaths.path("datasets/sample/transactions.csv"))\"")
        text = text.replacingOccurrences(of: "dir = \"../out/sample\"", with: "dir = \"\(dir.file("out"))\"")
        text = text.replacingOccurrences(of: "[model]\n", with: "[model]\n\(modelLines)\n")
        return try dir.write("p.toml", text)
    }

    static func column(_ path: String, _ name: String) throws -> [String: String] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let header = CSVFields.split(String(lines[0]))
        guard let j = header.firstIndex(of: name) else { return [:] }
        var out: [String: String] = [:]
        for l in lines.dropFirst() { let f = CSVFields.split(String(l)); out[f[0]] = f[j] }
        return out
    }

    /// A snapshot's BG/NBD columns come from a fit on its own history: the training
    /// snapshot's (as of 2025-10-02) equal those of a run on the log cut at that date and
    /// scored as of it, which never saw a later row. Within 1e-8: the two fits start from
    /// different points (the cut run's from its own earlier snapshot) and each stops at
    /// the common optimum to about the square of its last step (below 1e-8).
    @Test("the training snapshot's BG/NBD columns equal those of a run on the log cut at its date")
    func ownHistory() throws {
        let dir = TemporaryFolder()
        let full = try Self.samplePipeline(dir)
        #expect(try RetainBinary.run(["run", full, "--to", "features", "--quiet"], in: dir.path).status == 0)
        let lines = try String(contentsOfFile: RepoPaths.path("datasets/sample/transactions.csv"), encoding: .utf8).split(separator: "\n")
        let cut = ([lines[0]] + lines.dropFirst().filter { $0.split(separator: ",")[2] <= "2025-10-02" }).joined(separator: "\n") + "\n"
        let cutDir = TemporaryFolder()
        let cutLog = try cutDir.write("cut.csv", cut)
        let cutPipeline = try Self.samplePipeline(cutDir, input: cutLog)
        let r = try RetainBinary.run(["run", cutPipeline, "--to", "features", "--as-of", "2025-10-02", "--quiet"], in: cutDir.path)
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["btyd_p_no_purchase", "btyd_expected_purchases"] {
            let training = try Self.column(dir.file("out/features.csv"), name)
            let scored = try Self.column(cutDir.file("out/snapshots/scoring.csv"), name)
            #expect(training.count > 4000 && training.keys.sorted() == scored.keys.sorted(), "\(name): \(training.count) against \(scored.count) customers")
            let worst = training.map { abs((Double($0.value) ?? .nan) - (Double(scored[$0.key] ?? "") ?? .nan)) }.max() ?? .nan
            #expect(worst <= 1e-8, "\(name): largest difference \(worst)")
        }
    }

    /// Rows of every customer in reverse date order take the recount path; the summary is
    /// the same as from the log in date order.
    @Test("a log in reverse date order gives the same customer-base summary as in date order")
    func unorderedRows() throws {
        let dir = TemporaryFolder()
        let lines = try String(contentsOfFile: RepoPaths.path("datasets/sample/transactions.csv"), encoding: .utf8).split(separator: "\n")
        let reversed = try dir.write("reversed.csv", ([lines[0]] + lines.dropFirst().reversed()).joined(separator: "\n") + "\n")
        let p = try Self.samplePipeline(dir, input: reversed)
        #expect(try RetainBinary.run(["run", p, "--to", "features", "--quiet"], in: dir.path).status == 0)
        let sortedDir = TemporaryFolder()
        #expect(try RetainBinary.run(["run", try Self.samplePipeline(sortedDir), "--to", "features", "--quiet"], in: sortedDir.path).status == 0)
        let a = try ValueStageTests.rowsByID(dir.file("out/snapshots/summary.csv"))
        let b = try ValueStageTests.rowsByID(sortedDir.file("out/snapshots/summary.csv"))
        #expect(a.count == 9000 && a.count == b.count)
        for (id, x) in b {
            guard let y = a[id] else { Issue.record("\(id) missing"); continue }
            #expect(x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && isClose(x[3], y[3], rel: 1e-9, abs: 1e-9), "\(id): \(x) against \(y)")
        }
    }

    @Test("model.choice = \"btyd\" scores with BG/NBD's P(no purchase); model.json compares the three models")
    func forcedBTYD() throws {
        let dir = TemporaryFolder()
        let p = try Self.samplePipeline(dir, modelLines: "choice = \"btyd\"")
        let r = try RetainBinary.run(["run", p, "--to", "score"], in: dir.path)
        #expect(r.status == 0 && r.stderr.contains("scores with the btyd model (model.choice = \"btyd\")"), "\(r.stderr)")
        let scores = try Self.column(dir.file("out/scores.csv"), "churn_probability")
        let btyd = try Self.column(dir.file("out/snapshots/scoring.csv"), "btyd_p_no_purchase")
        #expect(scores.count == 5008 && scores.keys.allSatisfy { isClose(Double(scores[$0] ?? "") ?? .nan, Double(btyd[$0] ?? "") ?? .nan, rel: 1e-9) })
        let comparison = try json(dir.file("out/model.json"))["comparison"] as? [String: Any]
        let judged = (comparison?["candidates"] as? [[String: Any]])?.filter { $0["metrics"] != nil }.compactMap { $0["model"] as? String }
        #expect(judged == ["logistic", "btyd", "hybrid"] && comparison?["chosen"] as? String == "btyd")
        let bad = try RetainBinary.run(["run", try Self.samplePipeline(dir, modelLines: "choice = \"bestest\""), "--to", "score"], in: dir.path)
        #expect(bad.status == 78 && bad.stderr.contains("model.choice") && bad.stderr.contains("\"best\""), "\(bad.stderr)")
    }
}

extension ValueStageTests {
    /// As `rows`, keyed by the id as written.
    static func rowsByID(_ path: String) throws -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",")
            out[String(f[0])] = f.dropFirst().compactMap { Double($0) }
        }
        return out
    }
}
