import Foundation
import RetainTestSupport
import Testing

/// The train and score stages through the binary.
@Suite("retain run: train and score")
struct ModelStageTests {
    @Test("the sample: model files, out-of-time metrics, scores for every customer of the scoring snapshot")
    func sample() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out"), "--to", "score"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("out of time (fitted as of 2025-07-04, judged on 2025-10-02): AUC"))

        let coefficients = try dir.read("out/coefficients.csv").split(separator: "\n").map(String.init)
        #expect(coefficients[0] == "term,coefficient,std_error,z,p_value")
        #expect(coefficients[1].hasPrefix("intercept,"))
        let matrix = try dir.read("out/training_matrix.csv").split(separator: "\n").map(String.init)
        let header = matrix[0].split(separator: ",").map(String.init)
        #expect(header.first == "customer_id" && header.last == "churned")
        // One coefficient per matrix column (intercept instead of customer_id and churned).
        #expect(coefficients.count - 1 == header.count - 1)
        let features = try dir.read("out/features.csv").split(separator: "\n")
        #expect(matrix.count == features.count, "one matrix row per training customer")

        let model = try json(dir.file("out/model.json"))
        #expect(model["format"] as? String == "retain-model/1")
        let validation = model["validation"] as? [String: Any]
        let metrics = validation?["metrics"] as? [String: Any]
        let auc = metrics?["auc"] as? Double ?? 0
        #expect(auc > 0.6 && auc < 0.95, "the generated log has real signal: AUC \(auc)")
        #expect((metrics?["calibration"] as? [Any])?.count == 10)
        #expect((model["fit"] as? [String: Any])?["converged"] as? Bool == true)

        let scores = try dir.read("out/scores.csv").split(separator: "\n").map(String.init)
        let scoring = try dir.read("out/snapshots/scoring.csv").split(separator: "\n")
        #expect(scores.count == scoring.count)
        #expect(scores[0].hasPrefix("customer_id,churn_probability,recency_days,"))
        let probabilities = scores.dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
        #expect(probabilities.count == scores.count - 1 && probabilities.allSatisfy { $0 > 0 && $0 < 1 })

        let stages = try json(dir.file("out/run.json"))["stages"] as? [String: Any]
        let train = stages?["train"] as? [String: Any]
        #expect((train?["measures"] as? [String: Double])?["auc_out_of_time"] != nil)
        #expect((train?["counts"] as? [String: Int])?["iterations"] ?? 0 > 0)
    }

    @Test("score refuses a model whose terms the snapshot lacks; train and score need their inputs")
    func refusals() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        let sample = RepoPaths.path("pipelines/sample.toml")
        #expect(try RetainBinary.run(["run", sample, "--out", out, "--to", "ingest"]).status == 0)
        let early = try RetainBinary.run(["run", sample, "--out", out, "--only", "train"])
        #expect(early.status == 78 && early.stderr.contains("needs the output of features"), "\(early.stderr)")
        #expect(try RetainBinary.run(["run", sample, "--out", out, "--to", "train"]).status == 0)

        // A model that needs a column the scoring snapshot does not have.
        var model = try dir.read("out/model.json")
        model = model.replacingOccurrences(of: "\"recency_days\"", with: "\"recency_weeks\"")
        try dir.write("out/model.json", model)
        let r = try RetainBinary.run(["run", sample, "--out", out, "--only", "score"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("scoring.csv has no column recency_weeks") && r.stderr.contains("--from train"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.stderr)")

        try dir.write("out/model.json", "{ not json")
        let broken = try RetainBinary.run(["run", sample, "--out", out, "--only", "score"])
        #expect(broken.status == 78 && broken.stderr.contains("not a Retain model file"))
    }

    @Test("scoring as of a date nobody is active: exit 65 naming --as-of")
    func nobodyToScore() throws {
        let dir = TemporaryFolder()
        let sample = RepoPaths.path("pipelines/sample.toml")
        let r = try RetainBinary.run(["run", sample, "--out", dir.file("out"), "--as-of", "2027-06-01"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("is after the data's last day 2025-12-31"))
        #expect(r.stderr.contains("no usable customers") && r.stderr.contains("--as-of"))
    }

    @Test("nobody churned: exit 65 with a sentence saying so")
    func noChurners() throws {
        let dir = TemporaryFolder()
        // Every customer buys every week for a year: nobody is ever 30 days without a purchase.
        var log = "order_id,customer_id,date,amount\n"
        var order = 0
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        for week in 0..<52 {
            let day = f.string(from: Date(timeIntervalSince1970: 1_704_067_200 + Double(week * 7 * 86_400)))
            for c in 0..<20 {
                order += 1
                log += "o\(order),c\(c),\(day),\(10 + c).00\n"
            }
        }
        try dir.write("in.csv", log)
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], extra: "", maxRejectShare: 0.01)
        try dir.write("p.toml", try dir.read("p.toml").replacingOccurrences(of: "[output]", with: "[features]\nhorizon_days = 30\n\n[output]"))
        let r = try RetainBinary.run(["run", p])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("none of the 20 customers churned"), "\(r.stderr)")
    }

    @Test("pipeline [model] keys are checked")
    func modelKeys() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 20))
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"], extra: "", maxRejectShare: 0.01)
        let base = try dir.read("p.toml")
        for (section, needle) in [
            ("[model]\nfeatures = [\"recency_dayz\"]\n", "did you mean recency_days"),
            ("[model]\nclass_weight = \"heavy\"\n", "model.class_weight"),
            ("[model.transforms]\nmonetary = \"sqrt\"\n", "model.transforms.monetary"),
            ("[model]\nclip_quantiles = [0.9, 0.1]\n", "model.clip_quantiles"),
        ] {
            try dir.write("p.toml", base.replacingOccurrences(of: "[output]", with: section + "\n[output]"))
            let r = try RetainBinary.run(["validate", p])
            #expect(r.status == 78, "\(section)")
            #expect(r.stderr.contains(needle), "\(r.stderr)")
        }
    }
}
