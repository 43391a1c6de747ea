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
        fit.probabilities(try DesignMatrix.build(table, terms: terms))
    }
}

/// Fits the churn model on a labelled snapshot, coping with what real data does:
/// constant and collinear features are named and left out, separation (a feature that
/// splits churners from stayers perfectly, so coefficients run off to infinity) is fitted
/// with a ridge instead, and data with nothing to learn is an error that says so.
public enum Trainer {
    public static func train(_ table: CSVTable, settings: ModelSettings) throws(ChurnModelError) -> TrainedModel {
        let (recipes, leftOut) = try DesignMatrix.recipes(for: table, settings: settings)
        var dropped = leftOut
        var design = try DesignMatrix.build(table, terms: recipes)
        guard let y = design.labels else { throw .noLabels(file: table.path) }
        let n = design.rows
        let churned = Int(y.reduce(0, +))
        guard churned > 0 && churned < n else { throw .oneClass(churned: churned, customers: n, file: table.path) }
        var warnings: [String] = []

        // Constant columns carry no information and make X'WX singular.
        var keep: [Int] = []
        for j in 0..<design.width {
            let col = design.column(j)
            let lo = col.min() ?? 0, hi = col.max() ?? 0
            if hi - lo <= 1e-12 * max(1, abs(lo)) {
                let value = String(format: "%g", lo)
                dropped.append((term: design.terms[j].name, reason: "constant (\(value) for every customer)"))
                warnings.append("model: \(design.terms[j].name) is the same (\(value)) for every customer: left out")
            } else {
                keep.append(j)
            }
        }
        design = design.selecting(keep)
        // Columns that are linear combinations of earlier ones: found from the Gram matrix
        // of the standardised columns (X'WX at θ = 0), in column order.
        if design.width > 0 {
            let fitProbe = try gram(design, labels: y)
            let dependent = fitProbe.dependentColumns()
            if !dependent.isEmpty {
                let names = design.terms.map(\.name)
                for d in dependent where d.column > 0 {
                    let partner = d.dependsOn.flatMap { $0 > 0 ? names[$0 - 1] : nil }
                    let reason = "a linear combination of other terms" + (partner.map { " (closest: \($0))" } ?? "")
                    dropped.append((term: names[d.column - 1], reason: reason))
                    warnings.append("model: \(names[d.column - 1]) is \(reason): left out")
                }
                let gone = Set(dependent.map { $0.column - 1 })
                design = design.selecting((0..<design.width).filter { !gone.contains($0) })
            }
        }
        guard design.width > 0 else { throw .noTerms(file: table.path) }
        guard n > design.width + 1 else { throw .tooFewRows(customers: n, terms: design.width + 1, file: table.path) }

        var weights: [Double]? = nil
        if settings.classWeight == .balanced {
            let w1 = Double(n) / (2 * Double(churned)), w0 = Double(n) / (2 * Double(n - churned))
            weights = y.map { $0 == 1 ? w1 : w0 }
        }
        let fit: LogisticFit
        do {
            fit = try Logistic.fit(design, labels: y, weights: weights, l2: settings.l2,
                                   tolerance: settings.tolerance, maxIterations: settings.maxIterations)
        } catch {
            let ridge = max(settings.l2, settings.separationRidge)
            switch error {
            case .separation(let j, let iterations) where settings.l2 == 0:
                warnings.append("model: churners and stayers are (almost) perfectly separated by \(design.terms[j].name) "
                    + "(its coefficient ran off after \(iterations) iterations): fitted with an L2 penalty of \(ridge) instead")
            case .singular where settings.l2 == 0:
                warnings.append("model: X'WX became singular during the fit (fitted probabilities of 0 or 1): "
                    + "fitted with an L2 penalty of \(ridge) instead")
            case .separation(_, let iterations), .notConverged(let iterations):
                throw .fitFailed("no convergence in \(iterations) iterations (model.max_iterations) with model.l2 = \(settings.l2)")
            case .singular(let e):
                throw .fitFailed(e.description)
            }
            do {
                fit = try Logistic.fit(design, labels: y, weights: weights, l2: ridge,
                                       tolerance: settings.tolerance, maxIterations: settings.maxIterations)
            } catch {
                throw .fitFailed("even with an L2 penalty of \(ridge): \(error)")
            }
        }
        return TrainedModel(terms: design.terms, fit: fit, dropped: dropped, warnings: warnings,
                            classWeight: settings.classWeight, design: design)
    }

    /// X'X of the standardised design with an intercept column (scaled by 1/4: X'WX at θ = 0).
    static func gram(_ design: DesignMatrix, labels: [Double]) throws(ChurnModelError) -> Matrix {
        let n = design.rows, q = design.width
        var means = [Double](repeating: 0, count: q), scales = [Double](repeating: 1, count: q)
        for j in 0..<q {
            let col = design.column(j)
            let m = col.reduce(0, +) / Double(n)
            let sd = (col.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)).squareRoot()
            means[j] = m
            scales[j] = sd > 0 ? sd : 1
        }
        do {
            return try Pass(x: design, y: labels, c: nil, means: means, scales: scales)
                .run([Double](repeating: 0, count: q + 1)).hessian
        } catch {
            throw .fitFailed("\(error)")
        }
    }
}

extension DesignMatrix {
    /// The design with only columns `keep`, in that order.
    func selecting(_ keep: [Int]) -> DesignMatrix {
        if keep.count == width { return self }
        let q = width, k = keep.count
        var values = [Double](repeating: 0, count: rows * k)
        for i in 0..<rows { for (jj, j) in keep.enumerated() { values[i * k + jj] = self.values[i * q + j] } }
        return DesignMatrix(terms: keep.map { terms[$0] }, rows: rows, values: values, labels: labels)
    }
}
