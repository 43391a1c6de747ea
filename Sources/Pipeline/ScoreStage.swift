import ChurnModel
import Foundation
import RetainIO

/// The score stage: applies `model.json` to the scoring snapshot and writes `scores.csv`
/// (customer_id, churn_probability, then the snapshot's features), the segment stage's input.
struct ScoreStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter

    static let scoresFile = "scores.csv"

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
        let p = model.probabilities(try DesignMatrix.build(snapshot, terms: model.terms))
        let scoresPath = try folder.stagedPath(Self.scoresFile)
        try AtomicFile.write(scoresPath) { out in
            try CSVText.appendHeader(["customer_id", "churn_probability"] + snapshot.names, to: out)
            try ParallelRows.write(rows: snapshot.count, bytesPerRow: 8 * (snapshot.names.count + 3), to: out) { lo, hi, b in
                for i in lo..<hi {
                    try snapshot.appendRawKey(i, to: b)
                    try b.append(byte: UInt8(ascii: ","))
                    try b.appendDecimal(p[i], maxDecimals: 9)
                    // The snapshot's own text: its numbers are already as `appendExact` writes them.
                    try snapshot.appendNumericFields(i, to: b)
                    try b.append(byte: 0x0A)
                }
            }
        }
        // The segment stage of this run takes the table as it reads back from scores.csv:
        // the probabilities rounded as written, the snapshot's numbers from the same text
        // (a parse of the file saved; RunFolder.table(at:)).
        folder.remember(CSVTable(path: scoresPath, keyName: "customer_id", names: ["churn_probability"] + snapshot.names,
                                 columns: [p.map { FixedPoint.rounded($0, decimals: 9) }] + snapshot.columns,
                                 keyBytes: snapshot.keyBytes, keyEnds: snapshot.keyEnds), writtenAt: scoresPath)
        let expected = p.reduce(0, +)
        let n = snapshot.count
        reporter.info("score: \(MessageText.grouped(n)) customers; expected churners \(MessageText.grouped(Int(expected.rounded()))) "
            + "(\(n > 0 ? MessageText.percent(100 * expected / Double(n)) : "n/a")) in the \(model.horizonDays) days ahead")
        return clock.record(counts: ["customers": n], measures: ["expected_churners": expected, "mean_churn_probability": n > 0 ? expected / Double(n) : .nan])
    }
}
