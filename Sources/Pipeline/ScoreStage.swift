import ChurnModel
import Foundation
import RetainIO

/// The score stage: applies `model.json` to the scoring snapshot and writes `scores.csv`
/// (customer_id, churn_probability, then the snapshot's features), the segment stage's input.
struct ScoreStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter

    static let scoresFile = ModelOutputs.scoresFile

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let modelPath = try folder.upstream(TrainStage.modelFile, for: .score, from: .train)
        let snapshotPath = try folder.upstream(FeaturesStage.scoringFile, for: .score, from: .features)
        let model = try ModelFile.load(modelPath)
        let snapshot = try CSVTable.read(snapshotPath, keepingRows: true)  // its fields are copied into scores.csv
        guard snapshot.count > 0 else {
            throw PipelineError.noCustomers(detail: "nobody in \(FeaturesStage.scoringFile) is active (bought in the features.active_window_days "
                + "before the scoring date); check --as-of against the data's dates")
        }
        let p: [Double]
        if model.scoring == .btyd {
            // BG/NBD alone: its probability of no purchase in the horizon, fitted on the
            // scoring date's own customer base by the features stage.
            guard let column = snapshot.column(ModelSettings.btydColumns[0]) else {
                throw PipelineError.upstreamMissing(stage: Stage.score.rawValue, needs: Stage.features.rawValue,
                                                    detail: "\(FeaturesStage.scoringFile) has no \(ModelSettings.btydColumns[0]) column, which the chosen BG/NBD model scores with")
            }
            p = column
        } else {
            p = model.probabilities(try DesignMatrix.build(snapshot, terms: model.terms))
        }
        let scoresPath = try folder.stagedPath(Self.scoresFile)
        let written = try ModelOutputs.writeScores(p, snapshot: snapshot, to: scoresPath)
        // The segment stage of this run takes the table as it reads back (RunFolder.table(at:)).
        folder.remember(written, writtenAt: scoresPath)
        let expected = p.reduce(0, +)
        let n = snapshot.count
        reporter.info("score: \(MessageText.grouped(n)) customers; expected churners \(MessageText.grouped(Int(expected.rounded()))) "
            + "(\(n > 0 ? MessageText.percent(100 * expected / Double(n)) : "n/a")) in the \(model.horizonDays) days ahead, by the \(model.scoring.rawValue) model")
        return clock.record(counts: ["customers": n], measures: ["expected_churners": expected, "mean_churn_probability": n > 0 ? expected / Double(n) : .nan])
    }
}
