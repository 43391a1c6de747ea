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
        let training = try CSVTable.read(trainingPath)
        let trainingColumns = SnapshotColumns(training)  // logged once, for both models
        steps.done("read \(FeaturesStage.trainingFile)")
        guard let labels = training.column("churned") else { throw ChurnModelError.noLabels(file: trainingPath) }
        let trainingInfo = ModelFile.SnapshotInfo(file: FeaturesStage.trainingFile, asOf: CivilDate.iso(dates.training),
                                                  customers: training.count, churned: Int(labels.reduce(0, +)))

        // Out of time first: its failure is a warning, the final fit's an error.
        var validation: ModelFile.Validation? = nil
        var skipped: String? = nil
        if FilePath.exists(validationPath) {
            let earlier = try CSVTable.read(validationPath)
            switch Result(catching: { () throws(ChurnModelError) -> ModelFile.Validation in
                try Trainer.outOfTime(fittedOn: earlier, file: FeaturesStage.validationFile, asOf: CivilDate.iso(dates.validation),
                                     judgedOn: trainingColumns, labels: labels, info: trainingInfo, settings: spec.model)
            }) {
            case .success(let v):
                validation = v
                for w in v.warnings { reporter.warning("(out-of-time model) " + w) }
            case .failure(let e):
                skipped = e.description
                reporter.warning("train: no out-of-time validation: \(e)")
            }
        } else {
            skipped = "no \(FeaturesStage.validationFile) (rerun the features stage)"
        }
        steps.done("out-of-time model (read, fit, judge)")

        let fitStart = ResourceUse.now()
        let model = try Trainer.train(trainingColumns, settings: spec.model)
        let fitSeconds = ResourceUse.now() - fitStart
        for w in model.warnings { reporter.warning(w) }
        steps.done("final fit")
        let inSample = Metrics(predicted: model.fit.probabilities(model.design), observed: labels)
        let file = ModelFile(model: model, retainVersion: Runner.version, horizonDays: Int(spec.features.horizonDays),
                             trainingSnapshot: trainingInfo, tolerance: spec.model.tolerance, trainingMetrics: inSample,
                             validation: validation, validationSkipped: skipped)

        try ModelOutputs.write(file, design: model.design, keys: training, staging: folder.stagedPath)
        steps.done("metrics, coefficients.csv, training_matrix.csv, model.json")

        let f = model.fit
        var line = "train: \(MessageText.grouped(training.count)) customers, \(model.terms.count) terms, \(f.iterations) Newton iterations"
            + (f.l2 > 0 ? " (L2 \(f.l2))" : "") + "; in-sample AUC \(MessageText.fixed(inSample.auc, 3))"
        if let v = validation {
            line += "; out of time (fitted as of \(v.fittedOn.asOf), judged on \(v.evaluatedOn.asOf)): AUC \(MessageText.fixed(v.metrics.auc, 3)), "
                + "log loss \(MessageText.fixed(v.metrics.logLoss, 3)), Brier \(MessageText.fixed(v.metrics.brier, 3)), top-decile lift \(MessageText.fixed(v.metrics.topDecileLift, 2))"
        }
        reporter.info(line)
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
        return clock.record(
            counts: ["training_customers": training.count, "training_churned": trainingInfo.churned, "terms": model.terms.count,
                     "iterations": f.iterations, "step_halvings": f.stepHalvings, "terms_dropped": model.dropped.count],
            dates: ["training_as_of": trainingInfo.asOf] .merging(validation.map { ["validation_as_of": $0.fittedOn.asOf] } ?? [:]) { a, _ in a },
            notes: model.warnings + model.dropped.map { "left out \($0.term): \($0.reason)" } + (skipped.map { ["no out-of-time validation: \($0)"] } ?? []),
            measures: measures)
    }
}
