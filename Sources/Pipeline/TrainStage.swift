import ChurnModel
import Features
import Foundation
import RetainIO

/// The train stage: judges the model out of time, then fits the model that scores.
/// - validation: fitted on the snapshot one horizon earlier (`snapshots/validation.csv`),
///   scored on the training snapshot (`features.csv`), whose labels lie in the following
///   period: the way the production model is used;
/// - final: fitted on `features.csv`; `coefficients.csv`, `training_matrix.csv` and
///   `model.json` describe it.
struct TrainStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    /// The features stage's record (its dates name the snapshots).
    let features: RunManifest.StageRecord?

    static let modelFile = ModelOutputs.modelFile
    static let coefficientsFile = ModelOutputs.coefficientsFile
    static let matrixFile = ModelOutputs.matrixFile

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let trainingPath = try folder.upstream(FeaturesStage.trainingFile, for: .train, from: .features)
        let validationPath = folder.latest(FeaturesStage.validationFile)
        let dates = try FeaturesStage.dates(in: features, for: .train)
        let steps = StepTimer(.train, reporter: reporter)
        let trainingNames = Array(try CSVTable.header(trainingPath).dropFirst())
        // Out of time first: the three models fitted on the earlier snapshot, which is then
        // let go before the training snapshot is read (the stage holds one snapshot at a
        // time), and judged on the training snapshot's customers (a failure is a warning;
        // the final fit's an error). The BG/NBD model can score only if the scoring snapshot
        // has its columns.
        let scoringHasBTYD = Self.hasBTYD(folder.latest(FeaturesStage.scoringFile))
        var earlierFits: ModelComparison.EarlierFits? = nil
        if FilePath.exists(validationPath) {
            let earlier = try SnapshotColumns.mapping(validationPath, scratch: folder.staging, settings: spec.model)
            earlierFits = ModelComparison.fit(earlier: earlier, file: FeaturesStage.validationFile, asOf: CivilDate.iso(dates.validation),
                                              trainingColumns: trainingNames, settings: spec.model, scoringHasBTYD: scoringHasBTYD)
            steps.done("read \(FeaturesStage.validationFile), out-of-time fits")
        }
        // Read a block at a time into mapped scratch columns, logged once for judging and the
        // final fit: what the fit's passes read is the kernel's to keep or drop, not the stage's.
        let training = try SnapshotColumns.mapping(trainingPath, scratch: folder.staging, settings: spec.model)
        steps.done("read \(FeaturesStage.trainingFile)")
        guard let labels = training.column("churned") else { throw ChurnModelError.noLabels(file: trainingPath) }
        let trainingInfo = ModelFile.SnapshotInfo(file: FeaturesStage.trainingFile, asOf: CivilDate.iso(dates.training),
                                                  customers: training.count, churned: Int(labels.reduce(0, +)))

        var validation: ModelFile.Validation? = nil
        var skipped: String? = nil
        let comparison: ModelComparison
        if let earlierFits {
            let judged = earlierFits.judge(on: training, labels: labels, info: trainingInfo)
            comparison = judged.comparison
            validation = judged.logistic
            for c in comparison.candidates { for w in c.warnings { reporter.warning("(out-of-time \(c.model.rawValue) model) " + w) } }
            if let why = judged.logisticFailure {
                skipped = why
                reporter.warning("train: no out-of-time validation: \(why)")
            }
        } else {
            skipped = "no \(FeaturesStage.validationFile) (rerun the features stage)"
            comparison = ModelComparison.unjudged(spec.model.choice, why: skipped ?? "", scoringHasBTYD: scoringHasBTYD,
                                                  trainingHasBTYD: ModelSettings.btydColumns.allSatisfy { training.column($0) != nil })
        }
        reporter.info("train: scores with the \(comparison.chosen.rawValue) model (\(comparison.reason))")
        steps.done("out-of-time judgement")

        let fitStart = ResourceUse.now()
        // The logistic fit that coefficients.csv describes: the hybrid when it scores, else
        // the plain one (BG/NBD alone has no coefficients; it scores from its column).
        let finalKind: ModelKind = comparison.chosen == .hybrid ? .hybrid : .logistic
        let model = try Trainer.train(training, settings: spec.model.variant(finalKind, columns: training.names))
        let fitSeconds = ResourceUse.now() - fitStart
        for w in model.warnings { reporter.warning(w) }
        steps.done("final fit")
        let inSample = Metrics(predicted: model.fit.probabilities(model.design), observed: labels)
        let file = ModelFile(model: model, retainVersion: Runner.version, horizonDays: Int(spec.features.horizonDays),
                             trainingSnapshot: trainingInfo, tolerance: spec.model.tolerance, trainingMetrics: inSample,
                             validation: validation, validationSkipped: skipped, comparison: comparison)

        try ModelOutputs.write(file, design: model.design, keys: training.keys, staging: folder.stagedPath)
        steps.done("metrics, coefficients.csv, training_matrix.csv, model.json")

        let f = model.fit
        var line = "train: \(MessageText.grouped(training.count)) customers, \(model.terms.count) terms, \(f.iterations) Newton iterations"
            + (f.l2 > 0 ? " (L2 \(f.l2))" : "") + "; in-sample AUC \(MessageText.fixed(inSample.auc, 3))"
        if let v = validation {
            line += "; out of time (fitted as of \(v.fittedOn.asOf), judged on \(v.evaluatedOn.asOf)): AUC \(MessageText.fixed(v.metrics.auc, 3)), "
                + "log loss \(MessageText.fixed(v.metrics.logLoss, 3)), Brier \(MessageText.fixed(v.metrics.brier, 3)), top-decile lift \(MessageText.fixed(v.metrics.topDecileLift, 2))"
        }
        reporter.info(line)
        for c in comparison.candidates where c.model != .logistic {
            guard let m = c.metrics else { continue }
            reporter.info("train: out of time, \(c.model.rawValue): AUC \(MessageText.fixed(m.auc, 3)), log loss \(MessageText.fixed(m.logLoss, 3)), "
                + "Brier \(MessageText.fixed(m.brier, 3)), top-decile lift \(MessageText.fixed(m.topDecileLift, 2))")
        }
        var measures: [String: Double] = [
            "fit_seconds": fitSeconds, "log_likelihood": f.logLikelihood, "auc_in_sample": inSample.auc,
            "l2": f.l2, "pseudo_r_squared": file.fit.pseudoRSquared,
        ]
        if let v = validation?.metrics {
            measures["auc_out_of_time"] = v.auc
            measures["log_loss_out_of_time"] = v.logLoss
            measures["brier_out_of_time"] = v.brier
            measures["top_decile_lift_out_of_time"] = v.topDecileLift
        }
        for c in comparison.candidates {
            guard let m = c.metrics else { continue }
            measures["log_loss_out_of_time_\(c.model.rawValue)"] = m.logLoss
            measures["auc_out_of_time_\(c.model.rawValue)"] = m.auc
        }
        return clock.record(
            counts: ["training_customers": training.count, "training_churned": trainingInfo.churned, "terms": model.terms.count,
                     "iterations": f.iterations, "step_halvings": f.stepHalvings, "terms_dropped": model.dropped.count],
            dates: ["training_as_of": trainingInfo.asOf] .merging(validation.map { ["validation_as_of": $0.fittedOn.asOf] } ?? [:]) { a, _ in a },
            notes: ["scores with the \(comparison.chosen.rawValue) model: \(comparison.reason)"] + model.warnings + model.dropped.map { "left out \($0.term): \($0.reason)" } + (skipped.map { ["no out-of-time validation: \($0)"] } ?? []),
            measures: measures)
    }

    /// Whether the snapshot at `path` carries the BG/NBD columns (its header says).
    static func hasBTYD(_ path: String) -> Bool {
        guard let header = try? CSVTable.header(path) else { return false }
        return ModelSettings.btydColumns.allSatisfy(header.contains)
    }
}
