import Foundation
import Linalg
import RetainIO

/// A fitted churn model: its terms (how each column is made) and the fit.
public struct TrainedModel: Sendable {
    public let terms: [TermRecipe]
    public let fit: LogisticFit
    /// Terms left out and why (constant, collinear, empty), for `model.json` and the log.
    public let dropped: [(term: String, reason: String)]
    /// One line each: what went wrong in the data and what the fit did about it.
    public let warnings: [String]
    public let classWeight: ClassWeight
    /// The design actually fitted (after dropping), for `training_matrix.csv`.
    public let design: DesignMatrix

    /// Churn probabilities for `table`, built with the model's terms.
    public func probabilities(_ table: CSVTable) throws(ChurnModelError) -> [Double] {
        try probabilities(SnapshotColumns(table))
    }

    /// As `probabilities(_:)`, reading logged columns from `columns`.
    public func probabilities(_ columns: SnapshotColumns) throws(ChurnModelError) -> [Double] {
        fit.probabilities(try DesignMatrix.build(columns, terms: terms))
    }
}

/// Fits the churn model on a labelled snapshot, coping with what real data does:
/// constant and collinear features are named and left out, separation (a feature that
/// splits churners from stayers perfectly, so coefficients run off to infinity) is fitted
/// with a ridge instead, and data with nothing to learn is an error that says so.
public enum Trainer {
    public static func train(_ table: CSVTable, settings: ModelSettings) throws(ChurnModelError) -> TrainedModel {
        try train(SnapshotColumns(table), settings: settings)
    }

    /// As `train(_:settings:)`, reading logged columns from `columns` (kept there for
    /// judging or refitting on the same snapshot).
    public static func train(_ columns: SnapshotColumns, settings: ModelSettings) throws(ChurnModelError) -> TrainedModel {
        let table = columns
        let (recipes, leftOut) = try DesignMatrix.recipes(for: columns, settings: settings)
        var dropped = leftOut
        var design = try DesignMatrix.build(columns, terms: recipes)
        guard let y = design.labels else { throw .noLabels(file: table.path) }
        let n = design.rows
        let churned = Int(y.reduce(0, +))
        guard churned > 0 && churned < n else { throw .oneClass(churned: churned, customers: n, file: table.path) }
        var warnings: [String] = []

        // Constant columns carry no information and make X'WX singular.
        var keep: [Int] = []
        let range = design.moments()
        for j in 0..<design.width {
            let lo = range.min[j], hi = range.max[j]
            if hi - lo <= 1e-12 * max(1, abs(lo)) {
                let value = String(format: "%g", lo)
                dropped.append((term: design.terms[j].name, reason: "constant (\(value) for every customer)"))
                warnings.append("model: \(design.terms[j].name) is the same (\(value)) for every customer: left out")
            } else {
                keep.append(j)
            }
        }
        design = design.selecting(keep)
        var means = keep.map { range.mean[$0] }, scales = keep.map { range.sd[$0] }
        var origin = keep  // design column -> column of `range`
        guard design.width > 0 else { throw .noTerms(file: table.path) }

        var weights: Logistic.ClassWeights? = nil
        if settings.classWeight == .balanced {
            weights = .init(stayed: Double(n) / (2 * Double(n - churned)), churned: Double(n) / (2 * Double(churned)))
        }
        // Fit; collinear columns are dropped and the fit restarted; separation or a singular
        // X'WX of an unpenalised fit switch to the ridge once.
        var l2 = settings.l2
        let ridge = max(settings.l2, settings.separationRidge)
        var fitted: LogisticFit? = nil
        /// For design column j with a value over 50 standard deviations from its mean (a
        /// ratio whose denominator nears zero, typically), the sentence naming it and the fix.
        func spread(_ j: Int) -> Double {
            max(abs(range.max[origin[j]] - means[j]), abs(range.min[origin[j]] - means[j])) / max(scales[j], .leastNormalMagnitude)
        }
        func outlier(_ j: Int) -> String? {
            let z = spread(j)
            guard z > 50 else { return nil }
            return "\(design.terms[j].name) has a value \(String(format: "%.0f", z)) standard deviations from its mean: "
                + "clip it (model.transforms.\(design.terms[j].features[0]) = \"clip\")"
        }
        while fitted == nil {
            guard n > design.width + 1 else { throw .tooFewRows(customers: n, terms: design.width + 1, file: table.path) }
            let attempt = Result { () throws(Logistic.Failure) -> LogisticFit in
                try Logistic.fit(design, labels: y, classWeights: weights, l2: l2, tolerance: settings.tolerance,
                                 maxIterations: settings.maxIterations, standardisation: (means, scales))
            }
            switch attempt {
            case .success(let f):
                fitted = f
            case .failure(.collinear(let dependent)):
                let names = design.terms.map(\.name)
                for d in dependent {
                    let reason = "a linear combination of other terms" + (d.dependsOn.map { " (closest: \(names[$0]))" } ?? "")
                    dropped.append((term: names[d.column], reason: reason))
                    warnings.append("model: \(names[d.column]) is \(reason): left out")
                }
                let gone = Set(dependent.map(\.column))
                let kept = (0..<design.width).filter { !gone.contains($0) }
                design = design.selecting(kept)
                means = kept.map { means[$0] }; scales = kept.map { scales[$0] }; origin = kept.map { origin[$0] }
            case .failure(.separation(let j, let iterations)) where l2 == 0:
                let hint = outlier(j).map { "; \($0)" } ?? ""
                warnings.append("model: churners and stayers are (almost) perfectly separated by \(design.terms[j].name) "
                    + "(its coefficient ran off after \(iterations) iterations\(hint)): fitted with an L2 penalty of \(ridge) instead")
                l2 = ridge
            case .failure(.singular) where l2 == 0:
                // The usual cause in real logs: a ratio whose denominator nears zero puts a
                // customer thousands of standard deviations out. Name the worst column.
                let worst = (0..<design.width).max { spread($0) < spread($1) }.flatMap(outlier)
                warnings.append("model: X'WX became singular during the fit (\(worst ?? "fitted probabilities of 0 or 1")): "
                    + "fitted with an L2 penalty of \(ridge) instead")
                l2 = ridge
            case .failure(.separation(_, let iterations)), .failure(.notConverged(let iterations)):
                throw .fitFailed("no convergence in \(iterations) iterations (model.max_iterations) with an L2 penalty of \(l2)")
            case .failure(.singular(let e)):
                throw .fitFailed(e.description)
            }
        }
        guard let fit = fitted else { throw .fitFailed("no fit") }
        return TrainedModel(terms: design.terms, fit: fit, dropped: dropped, warnings: warnings,
                            classWeight: settings.classWeight, design: design)
    }
}

extension DesignMatrix {
    /// The design with only columns `keep`, in that order (no cell is copied).
    func selecting(_ keep: [Int]) -> DesignMatrix {
        if keep.count == width { return self }
        return DesignMatrix(terms: keep.map { terms[$0] }, rows: rows, sources: keep.map { sources[$0] },
                            steps: keep.map { steps[$0] }, labels: labels)
    }
}
