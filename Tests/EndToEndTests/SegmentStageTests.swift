import Foundation
import RetainIO
import RetainTestSupport
import Testing

/// RFC 4180 records of a CSV file, by header name.
func csvRecords(_ text: String) throws -> [[String: String]] {
    let rows = try CSVRecords.parse(Array(text.utf8)).get()
    guard let header = rows.first?.fields else { return [] }
    return rows.dropFirst().map { Dictionary(zip(header, $0.fields).map { ($0, $1) }, uniquingKeysWith: { a, _ in a }) }
}

/// The segment and report stages through the binary: the files marketing receives.
@Suite("retain run: segment and report")
struct SegmentStageTests {
    @Test("the sample: four groups, every customer once, targets that reconcile with customers.csv")
    func sampleReconciles() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out")])
        #expect(r.status == 0, "\(r.stderr)")
        let customers = try csvRecords(try dir.read("out/customers.csv"))
        let header = try dir.read("out/customers.csv").split(separator: "\n")[0]
        #expect(header.hasPrefix("customer_id,segment,churn_probability,recency_days,frequency,monetary,tenure_days,expected_value,reason"))
        let scores = try dir.read("out/scores.csv").split(separator: "\n").count - 1
        #expect(customers.count == scores, "every scored customer")
        let ids = customers.compactMap { $0["customer_id"] }
        #expect(Set(ids).count == ids.count, "each once")
        #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "in customer_id order")

        let targets = try csvRecords(try dir.read("out/retention_targets.csv"))
        #expect(targets.map { $0["segment"] ?? "" } == ["keep-strategic", "high-volume", "costly-switcher", "drop"])
        var total = 0
        for t in targets {
            let seg = t["segment"] ?? ""
            let members = customers.filter { $0["segment"] == seg }
            let count = Int(t["customers"] ?? "") ?? -1
            #expect(count == members.count, "\(seg)")
            #expect(count > 0, "all four groups are used on the sample: \(seg)")
            total += count
            // The segment file holds exactly its target arm, controls/ its control arm.
            let file = try csvRecords(try dir.read("out/segments/\(seg).csv"))
            #expect(file.compactMap { $0["customer_id"] } == members.filter { $0["treatment"] == "target" }.compactMap { $0["customer_id"] })
            let controls = try csvRecords(try dir.read("out/controls/\(seg).csv"))
            #expect(controls.compactMap { $0["customer_id"] } == members.filter { $0["treatment"] == "control" }.compactMap { $0["customer_id"] })
            #expect(file.count + controls.count == members.count && !controls.isEmpty && controls.allSatisfy { $0["treatment"] == "control" })
            // Σ p and Σ revenue at risk, from customers.csv, to the cent.
            let p = members.reduce(0.0) { $0 + (Double($1["churn_probability"] ?? "") ?? .nan) }
            let risk = members.reduce(0.0) { $0 + (Double($1["revenue_at_risk"] ?? "") ?? .nan) }
            #expect(abs(p - (Double(t["expected_churners"] ?? "") ?? .nan)) <= 0.005, "\(seg): \(p)")
            #expect(abs(risk - (Double(t["revenue_at_risk"] ?? "") ?? .nan)) <= 0.005 * Double(max(count, 1)), "\(seg): \(risk)")
            let rho = Double(t["target_churn_reduction"] ?? "") ?? .nan
            #expect(abs(rho * p - (Double(t["target_retained_customers"] ?? "") ?? .nan)) <= 0.01)
        }
        #expect(total == customers.count)
        // Plausible shares: no group is empty or everything.
        for t in targets { #expect((Double(t["customers"] ?? "") ?? 0) / Double(total) < 0.8) }

        let history = try csvRecords(try dir.read("out/retention_history.csv"))
        #expect(history.count == 8, "eight quarters")
        #expect(history.last?["period_end"] == "2025-12-31")
        #expect(r.stderr.contains("report: ") && r.stderr.contains("keep-strategic"))
        #expect(try dir.read("out/report.md").contains("| keep-strategic |"))
    }

    @Test("ids that look like formulas, hold commas, quotes or a line break come back intact and harmless")
    func hostileIDs() throws {
        let dir = TemporaryFolder()
        let hostile = ["=HYPERLINK(\"http://x.example\",\"y\")", "a,b", "\"q\"", "line\nbreak", "+1", "@cmd", "plain"]
        var log = "order_id,customer_id,date,amount\n"
        var order = 0
        for (k, id) in hostile.enumerated() {
            let field = "\"" + id.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            // Buyers with different habits, so the model has something to fit.
            let purchases = k % 2 == 0 ? [5, 40, 80, 120, 150, 200, 250, 300, 350] : [10, 60, 200, 290]
            for day in purchases {
                order += 1
                let date = CivilDate.iso(Int32(19_723 + day))  // from 2024-01-01
                log += "o\(order),\(field),\(date),\(10 + k).50\n"
            }
        }
        // Ordinary customers around them.
        for c in 0..<40 {
            for day in stride(from: c % 9, to: 360, by: 20 + c) {
                order += 1
                log += "o\(order),c\(c),\(CivilDate.iso(Int32(19_723 + day))),\(5 + c % 7).25\n"
            }
        }
        try dir.write("in.csv", log)
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], extra: "", maxRejectShare: 0.01)
        try dir.write("p.toml", try dir.read("p.toml").replacingOccurrences(of: "[output]",
            with: "[features]\nhorizon_days = 60\nactive_window_days = 200\n\n[model]\nl2 = 1\n\n[output]"))
        let r = try RetainBinary.run(["run", p])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try csvRecords(try dir.read("out/customers.csv"))
        let ids = Set(rows.compactMap { $0["customer_id"] })
        // Formula starts get the OWASP apostrophe; the rest are exact.
        for id in ["'=HYPERLINK(\"http://x.example\",\"y\")", "a,b", "\"q\"", "line\nbreak", "'+1", "'@cmd", "plain"] {
            #expect(ids.contains(id), "\(id.debugDescription) in \(ids.sorted())")
        }
        // Every field that starts a cell is safe: no cell begins with =, +, -, @ (or tab, CR).
        let raw = try dir.read("out/customers.csv")
        for record in try CSVRecords.parse(Array(raw.utf8)).get() {
            if let id = record.fields.first { #expect(!["=", "+", "-", "@", "\t", "\r"].contains(where: { id.hasPrefix($0) }), "\(id)") }
        }
    }

    @Test("a strategic account is kept whatever its value, with its role; a bad accounts file is one clear line")
    func strategicAccounts() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        let sample = RepoPaths.path("pipelines/sample.toml")
        #expect(try RetainBinary.run(["run", sample, "--out", out, "--to", "segment"]).status == 0)
        // A customer the rules drop becomes a door-opener.
        let lowest = try #require(try csvRecords(try dir.read("out/segments/drop.csv")).first?["customer_id"])
        try dir.write("accounts.csv", "customer_id,role\n\(lowest),door-opener\nnobody,benchmark\n")
        let text = try String(contentsOfFile: sample, encoding: .utf8)
            .replacingOccurrences(of: "../datasets/", with: RepoPaths.path("datasets") + "/")
            .replacingOccurrences(of: "[output]", with: "[segment]\nstrategic_accounts = \"accounts.csv\"\n\n[output]")
        let p = try dir.write("p.toml", text)
        let r = try RetainBinary.run(["run", p, "--out", out, "--from", "segment"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("1 of 2 strategic accounts are not among the scored"))
        let row = try #require(try csvRecords(try dir.read("out/customers.csv")).first { $0["customer_id"] == lowest })
        #expect(row["segment"] == "keep-strategic" && row["strategic_role"] == "door-opener")
        #expect(row["reason"]?.hasPrefix("strategic account (door-opener)") == true)

        try dir.write("accounts.csv", "customer_id,role\n\(lowest),friend\n")
        let bad = try RetainBinary.run(["run", p, "--out", out, "--only", "segment"])
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("accounts.csv:2: role 'friend'") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        // validate finds it before any run does.
        let checked = try RetainBinary.run(["validate", p])
        #expect(checked.status == 65 && checked.stderr.contains("accounts.csv:2: role 'friend'"), "\(checked.stderr)")
    }
}
