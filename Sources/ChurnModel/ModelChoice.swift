import Foundation
import RetainIO

/// The three churn models judged out of time on the same customers, and the one that scores.
/// - `logistic`: the logistic model on the snapshot features, without the BG/NBD columns;
/// - `btyd`: BG/NBD alone: P(no purchase in the horizon) is the churn probability, since
///   `churned` is exactly "no purchase in (A, A + H]";
/// - `hybrid`: the logistic model with the BG/NBD columns as two more features.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    case logistic, btyd, hybrid
}

/// `model.choice`: `best` takes the kind of lowest out-of-time log loss (the model's own
/// judgement of probabilities, which the segment stage's money figures rest on); the others
/// force one.
public enum ModelChoice: String, Codable, Sendable, CaseIterable {
    case best, logistic, hybrid, btyd
}

extension ModelSettings {
    /// The BG/NBD columns a snapshot may carry (`Feature.customerBaseModel`).
    public static let btydColumns = ["btyd_p_no_purchase", "btyd_expected_purchases"]

    /// The settings of one kind's logistic fit on `table`: without the BG/NBD columns
    /// (`logistic`), or with both of them added (`hybrid`).
    public func variant(_ kind: ModelKind, table: CSVTable) -> ModelSettings {
        variant(kind, columns: table.names)
    }

    /// As `variant(_:table:)`, for a snapshot of these column names (the key's left out).
    public func variant(_ kind: ModelKind, columns names: [String]) -> ModelSettings {
        var s = self
        let base = (features ?? names.filter { $0 != "churned" }).filter { !Self.btydColumns.contains($0) }
        s.features = kind == .hybrid ? base + Self.btydColumns : base
        return s
    }
}

/// One candidate of the comparison: its out-of-time metrics, or why it was not judged.
public struct Candidate: Codable, Sendable {
    public var model: ModelKind
    public var metrics: Metrics?
    public var skipped: String?
    public var warnings: [String]
}

/// The comparison and the choice it leads to, as `model.json` records them.
public struct ModelComparison: Codable, Sendable {
    public var candidates: [Candidate]
    /// The kind that scores.
    public var chosen: ModelKind
    /// Why, in one sentence.
    public var reason: String

    public func candidate(_ kind: ModelKind) -> Candidate? { candidates.first { $0.model == kind } }

    /// The three kinds fitted on the earlier snapshot (`earlier`, BG/NBD on its own history),
    /// to be judged on the training snapshot (of columns `trainingColumns`) by `judge`. Only
    /// the models are kept, not `earlier`: the training snapshot is read after it is gone,
    /// so the stage never holds both. A kind without the BG/NBD columns in both snapshots
    /// (the fit failed) is skipped with the reason.
    public static func fit(earlier: SnapshotColumns, file: String, asOf: String, trainingColumns: [String], settings: ModelSettings,
                           scoringHasBTYD: Bool) -> EarlierFits {
        let hasBTYD = ModelSettings.btydColumns.allSatisfy { earlier.column($0) != nil && trainingColumns.contains($0) }
        let missing = !hasBTYD ? "the snapshots have no BG/NBD columns (its fit failed; see the features stage's warnings)"
            : !scoringHasBTYD ? "the scoring snapshot has no BG/NBD columns (its fit failed), so this model could not score" : nil
        var fits = EarlierFits(fittedOn: .init(file: file, asOf: asOf, customers: earlier.count,
                                               churned: Int(earlier.column("churned")?.reduce(0, +) ?? 0)),
                               choice: settings.choice)
        for kind in ModelKind.allCases {
            if kind != .logistic, let missing { fits.outcomes.append((kind, .skipped(missing))); continue }
            switch kind {
            case .btyd: fits.outcomes.append((kind, .fromColumn))
            case .logistic, .hybrid:
                do {
                    let m = try Trainer.train(earlier, settings: settings.variant(kind, columns: trainingColumns))
                    fits.outcomes.append((kind, .fitted(terms: m.terms, fit: m.fit, warnings: m.warnings)))
                } catch {
                    fits.outcomes.append((kind, .failed(error.description)))
                }
            }
        }
        return fits
    }

    /// The kinds fitted on the earlier snapshot (`ModelComparison.fit`), each to be judged.
    public struct EarlierFits: Sendable {
        enum Outcome: Sendable {
            /// A logistic fit: its terms and coefficients (no design: none of the earlier
            /// snapshot's columns is kept).
            case fitted(terms: [TermRecipe], fit: LogisticFit, warnings: [String])
            /// BG/NBD: its probability is a column of the judged snapshot.
            case fromColumn
            case skipped(String)
            case failed(String)
        }
        let fittedOn: ModelFile.SnapshotInfo
        let choice: ModelChoice
        var outcomes: [(ModelKind, Outcome)] = []

        /// Judges each kind on the training snapshot's labels: the comparison, the logistic
        /// model's validation, and why that one failed.
        public func judge(on training: SnapshotColumns, labels: DoubleColumn,
                          info: ModelFile.SnapshotInfo) -> (comparison: ModelComparison, logistic: ModelFile.Validation?, logisticFailure: String?) {
            var candidates: [Candidate] = []
            var logistic: ModelFile.Validation? = nil, failure: String? = nil
            for (kind, outcome) in outcomes {
                /// A kind that could not be judged: skipped with the reason (the logistic one's is the stage's warning).
                func unjudged(_ why: String) {
                    if kind == .logistic { failure = why }
                    candidates.append(Candidate(model: kind, metrics: nil, skipped: why, warnings: []))
                }
                switch outcome {
                case .skipped(let why):
                    candidates.append(Candidate(model: kind, metrics: nil, skipped: why, warnings: []))
                case .fromColumn:
                    let p = training.column(ModelSettings.btydColumns[0]).map(\.array) ?? []
                    candidates.append(Candidate(model: kind, metrics: Metrics(predicted: p, observed: labels), skipped: nil, warnings: []))
                case .failed(let why):
                    unjudged(why)
                case .fitted(let terms, let fit, let warnings):
                    do {
                        let p = fit.probabilities(try DesignMatrix.build(training, terms: terms))
                        let v = ModelFile.Validation(fittedOn: fittedOn, evaluatedOn: info, metrics: Metrics(predicted: p, observed: labels),
                                                     warnings: warnings)
                        if kind == .logistic { logistic = v }
                        candidates.append(Candidate(model: kind, metrics: v.metrics, skipped: nil, warnings: v.warnings))
                    } catch {
                        unjudged(error.description)
                    }
                }
            }
            return (ModelComparison.choose(candidates, choice), logistic, failure)
        }
    }

    /// Without any out-of-time judgement (no earlier snapshot): logistic, unless forced.
    public static func unjudged(_ choice: ModelChoice, why: String, scoringHasBTYD: Bool, trainingHasBTYD: Bool) -> ModelComparison {
        let candidates = ModelKind.allCases.map { Candidate(model: $0, metrics: nil, skipped: why, warnings: []) }
        var c = choose(candidates, choice)
        if choice == .btyd && scoringHasBTYD { c.chosen = .btyd; c.reason = "model.choice = \"btyd\"" }
        if choice == .hybrid && trainingHasBTYD && scoringHasBTYD { c.chosen = .hybrid; c.reason = "model.choice = \"hybrid\"" }
        return c
    }

    static func choose(_ candidates: [Candidate], _ choice: ModelChoice) -> ModelComparison {
        let judged = candidates.filter { $0.metrics?.logLoss.isFinite == true }
        func loss(_ k: ModelKind) -> String {
            candidates.first { $0.model == k }?.metrics.map { MessageText.fixed($0.logLoss, 4) } ?? "n/a"
        }
        switch choice {
        case .best:
            guard let best = judged.min(by: { ($0.metrics?.logLoss ?? .infinity) < ($1.metrics?.logLoss ?? .infinity) }) else {
                return ModelComparison(candidates: candidates, chosen: .logistic, reason: "no model could be judged out of time: the logistic model scores")
            }
            let others = judged.filter { $0.model != best.model }.map { "\($0.model.rawValue) \(loss($0.model))" }
            return ModelComparison(candidates: candidates, chosen: best.model,
                                   reason: "lowest out-of-time log loss: \(best.model.rawValue) \(loss(best.model))"
                                       + (others.isEmpty ? "" : " against " + others.joined(separator: ", ")))
        case .logistic, .hybrid, .btyd:
            let kind = ModelKind(rawValue: choice.rawValue) ?? .logistic
            if let c = candidates.first(where: { $0.model == kind }), c.skipped == nil || kind == .logistic {
                return ModelComparison(candidates: candidates, chosen: kind, reason: "model.choice = \"\(choice.rawValue)\"")
            }
            let why = candidates.first { $0.model == kind }?.skipped ?? "not available"
            return ModelComparison(candidates: candidates, chosen: .logistic,
                                   reason: "model.choice = \"\(choice.rawValue)\", but \(why): the logistic model scores instead")
        }
    }
}
