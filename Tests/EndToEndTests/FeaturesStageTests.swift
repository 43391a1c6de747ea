import Testing
import Foundation
import RetainTestSupport

/// The features stage through the binary: files, dates, reruns of one stage, staleness.
@Suite("retain run: features stage")
struct FeaturesStageTests {
    @Test("the sample: features.csv in customer order, three snapshots, dates in run.json")
    func sample() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out")])
        #expect(r.status == 0, "\(r.stderr)")
        let csv = try dir.read("out/features.csv").split(separator: "\n").map(String.init)
        #expect(csv[0] == "customer_id,recency_days,frequency,monetary,tenure_days,mean_gap_days,recency_over_gap,"
            + "spend_last_window,spend_previous_window,orders_last_window,orders_previous_window,refund_rate,"
            + "discount_share,service_cost_per_order,margin_rate,btyd_p_no_purchase,btyd_expected_purchases,churned")
        let ids = csv.dropFirst().map { String($0.prefix { $0 != "," }) }
        #expect(ids == ids.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "rows in customer_id order")
        #expect(csv.count > 1000)
        #expect(try dir.read("out/snapshots/validation.csv").hasPrefix("customer_id,"))
        #expect(!(try dir.read("out/snapshots/scoring.csv").split(separator: "\n")[0].hasSuffix("churned")), "no label at the data's end")
        let features = (try json(dir.file("out/run.json"))["stages"] as? [String: Any])?["features"] as? [String: Any]
        let dates = features?["dates"] as? [String: String]
        #expect(dates?["data_end"] == "2025-12-31" && dates?["training_as_of"] == "2025-10-02"
                && dates?["validation_as_of"] == "2025-07-04" && dates?["scoring_as_of"] == "2025-12-31")
        let counts = features?["counts"] as? [String: Int]
        #expect(counts?["training_customers"] == csv.count - 1)
    }

    @Test("--only features reruns from the ledger, honours --as-of, and refuses a missing or stale ledger")
    func rerunOneStage() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 400, customers: 40, month: 1) + smallLog(rows: 400, customers: 40, month: 6, prefix: "p").split(separator: "\n").dropFirst().joined(separator: "\n") + "\n")
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], extra: "", maxRejectShare: 0.01)
        try dir.write("p.toml", try dir.read("p.toml").replacingOccurrences(of: "[output]", with: "[features]\nhorizon_days = 30\n\n[output]"))

        let missing = try RetainBinary.run(["run", p, "--only", "features"])
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("needs the output of ingest") && missing.stderr.contains("--from ingest"))

        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        let r = try RetainBinary.run(["run", p, "--only", "features", "--as-of", "2024-06-15"])
        #expect(r.status == 0, "\(r.stderr)")
        let stages = try json(dir.file("out/run.json"))["stages"] as? [String: Any]
        #expect(stages?["ingest"] != nil, "the ingest record of the earlier run is kept")
        #expect(((stages?["features"] as? [String: Any])?["dates"] as? [String: String])?["scoring_as_of"] == "2024-06-15")

        // The input changes: features alone would compute from a ledger that is not the input any more.
        try dir.write("in.csv", try dir.read("in.csv") + "late1,c1,2024-06-28,1.00\n")
        let stale = try RetainBinary.run(["run", p, "--only", "features"])
        #expect(stale.status == 78)
        #expect(stale.stderr.contains("stale") && stale.stderr.contains("in.csv"))
        let fresh = try RetainBinary.run(["run", p, "--from", "ingest", "--to", "features"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
    }

    @Test("--to stops after a stage; --to before --from and --only with --to are refused")
    func stopAfter() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out"), "--to", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.file("out/ledger/index.json")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/features.csv")))
        let stages = try json(dir.file("out/run.json"))["stages"] as? [String: Any]
        #expect(stages?.keys.sorted() == ["ingest"])
        let backwards = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out"),
                                              "--from", "features", "--to", "ingest"])
        #expect(backwards.status == 78 && backwards.stderr.contains("comes before"))
        let both = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--only", "ingest", "--to", "features"])
        #expect(both.status == 78)
    }
}
