import Foundation
import Linalg
import RetainIO

/// `model.json`: everything needed to score with the model and to judge it, in one file.
/// Coefficients are on the scale of `training_matrix.csv` (docs/CONTRACT.md); the term recipes
/// say how each of its columns is made from a snapshot, so scoring repeats them exactly.
public struct ModelFile: Codable, Sendable {
    public static let formatName = "retain-model/1"

    public var format = ModelFile.formatName
    public var retainVersion: String
    /// The label the model predicts: 1 = no purchase in the horizon after the snapshot.
    public var target = "churned"
    public var horizonDays: Int
    public var trainingSnapshot: SnapshotInfo
    public var terms: [TermRecipe]
    /// Intercept first, then one per term, in `terms` order.
    public var coefficients: [Coefficient]
    public var standardisation: [Standardisation]
    public var dropped: [Dropped]
    public var fit: FitInfo
    public var warnings: [String]
    /// In-sample, on the training snapshot.
    public var trainingMetrics: Metrics
    /// Out of time: a model fitted on the snapshot one horizon earlier, judged on the
    /// training snapshot (the following period). Nil, with `validationSkipped` saying
    /// why, when the earlier snapshot could not be fitted.
    public var validation: Validation?
    public var validationSkipped: String?
    /// The three models judged out of time, and which scores (`ModelComparison`). Nil in a
    /// model file of an earlier retain: the logistic model scores.
    public var comparison: ModelComparison?

    /// The kind that scores.
    public var scoring: ModelKind { comparison?.chosen ?? .logistic }

    public struct SnapshotInfo: Codable, Sendable {
        public var file: String
        public var asOf: String
        public var customers: Int
        public var churned: Int
        public init(file: String, asOf: String, customers: Int, churned: Int) {
            self.file = file; self.asOf = asOf; self.customers = customers; self.churned = churned
        }
    }

    public struct Coefficient: Codable, Sendable {
        public var term: String
        public var coefficient: Double
        public var stdError: Double
        public var z: Double
        public var pValue: Double
    }

    public struct Standardisation: Codable, Sendable {
        public var term: String
        public var mean: Double
        public var scale: Double
    }

    public struct Dropped: Codable, Sendable {
        public var term: String
        public var reason: String
    }

    public struct FitInfo: Codable, Sendable {
        public var method = "newton"
        public var iterations: Int
        public var stepHalvings: Int
        public var converged: Bool
        public var tolerance: Double
        public var l2: Double
        public var classWeight: ClassWeight
        public var logLikelihood: Double
        public var nullLogLikelihood: Double
        /// -2ℓ.
        public var deviance: Double
        /// McFadden's pseudo-R² = 1 - ℓ / ℓ₀.
        public var pseudoRSquared: Double
    }

    public struct Validation: Codable, Sendable {
        public var fittedOn: SnapshotInfo
        public var evaluatedOn: SnapshotInfo
        public var metrics: Metrics
        /// What the out-of-time fit had to do about its data (see `TrainedModel.warnings`).
        public var warnings: [String]
        public init(fittedOn: SnapshotInfo, evaluatedOn: SnapshotInfo, metrics: Metrics, warnings: [String]) {
            self.fittedOn = fittedOn; self.evaluatedOn = evaluatedOn; self.metrics = metrics; self.warnings = warnings
        }
    }

    public init(model: TrainedModel, retainVersion: String, horizonDays: Int, trainingSnapshot: SnapshotInfo,
                tolerance: Double, trainingMetrics: Metrics, validation: Validation?, validationSkipped: String?,
                comparison: ModelComparison? = nil) {
        let f = model.fit
        let names = ["intercept"] + model.terms.map(\.name)
        let z = f.z, p = f.pValues
        self.retainVersion = retainVersion
        self.horizonDays = horizonDays
        self.trainingSnapshot = trainingSnapshot
        self.terms = model.terms
        self.coefficients = names.indices.map {
            Coefficient(term: names[$0], coefficient: f.coefficients[$0], stdError: f.standardErrors[$0], z: z[$0], pValue: p[$0])
        }
        self.standardisation = model.terms.indices.map { Standardisation(term: model.terms[$0].name, mean: f.means[$0], scale: f.scales[$0]) }
        self.dropped = model.dropped.map { Dropped(term: $0.term, reason: $0.reason) }
        self.fit = FitInfo(iterations: f.iterations, stepHalvings: f.stepHalvings, converged: f.converged, tolerance: tolerance,
                           l2: f.l2, classWeight: model.classWeight, logLikelihood: f.logLikelihood,
                           nullLogLikelihood: f.nullLogLikelihood, deviance: -2 * f.logLikelihood,
                           pseudoRSquared: 1 - f.logLikelihood / f.nullLogLikelihood)
        self.warnings = model.warnings
        self.trainingMetrics = trainingMetrics
        self.validation = validation
        self.validationSkipped = validationSkipped
        self.comparison = comparison
    }

    /// Churn probabilities for the rows of `design` (built with `terms`):
    /// 1 / (1 + e^-η), η = β₀ + Σ βⱼ·xⱼ with the stored coefficients.
    public func probabilities(_ design: DesignMatrix) -> [Double] {
        Logistic.probabilities(coefficients.map(\.coefficient), design)
    }

    public func encoded() throws -> Data { try ResultJSON.encoder().encode(self) }

    /// Reads and checks a model file: its format, and one coefficient per term.
    public static func load(_ path: String) throws(ChurnModelError) -> ModelFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .modelUnreadable(path: path, reason: "no such file or not readable")
        }
        let d = ResultJSON.decoder()
        let m: ModelFile
        do { m = try d.decode(ModelFile.self, from: data) } catch {
            throw .modelUnreadable(path: path, reason: "not a Retain model file (\(error))")
        }
        guard m.format == formatName else { throw .modelUnreadable(path: path, reason: "format \(m.format), this build reads \(formatName)") }
        guard m.coefficients.count == m.terms.count + 1, m.coefficients.allSatisfy({ $0.coefficient.isFinite }) else {
            throw .modelUnreadable(path: path, reason: "its coefficients do not match its terms")
        }
        return m
    }
}
