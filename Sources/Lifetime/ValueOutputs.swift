import Foundation
import RetainIO

/// `value.json`: the value stage's fits, settings and fallbacks, for analysts and the report.
public struct ValueFile: Codable, Sendable {
    public static let formatName = "retain-value/1"
    public var format = ValueFile.formatName
    public var asOf: String
    /// Time unit of every parameter and figure: days (BG/NBD's α is in days).
    public var timeUnit = "days"
    public var horizonMonths: Int
    public var annualDiscountRate: Double
    public var targetDays: Int
    public var bgnbd: Fitted?
    public var gammaGamma: Fitted?
    /// Why a model was not used, and what stood in for it.
    public var fallbacks: [String]
    public var warnings: [String]

    public struct Fitted: Codable, Sendable {
        public var parameters: [String: Double]
        public var standardErrors: [String: Double]?
        public var logLikelihood: Double
        public var iterations: Int
        public var converged: Bool
        public var customers: Double
        /// Gamma-Gamma only: the Pearson correlation of x and z̄ (the model assumes 0).
        public var frequencySpendCorrelation: Double?
    }

    public init(asOf: String, settings: ValueSettings, targetDays: Int, bgnbd: BGNBD.Fit?, gammaGamma: GammaGamma.Fit?,
                fallbacks: [String], warnings: [String]) {
        self.asOf = asOf
        horizonMonths = settings.horizonMonths
        annualDiscountRate = settings.annualDiscountRate
        self.targetDays = targetDays
        self.bgnbd = bgnbd.map { f in
            Fitted(parameters: Dictionary(uniqueKeysWithValues: zip(BGNBD.names, f.model.parameters)),
                   standardErrors: f.standardErrors.map { Dictionary(uniqueKeysWithValues: zip(BGNBD.names, $0)) },
                   logLikelihood: f.logLikelihood, iterations: f.iterations, converged: f.converged, customers: f.customers,
                   frequencySpendCorrelation: nil)
        }
        self.gammaGamma = gammaGamma.map { f in
            Fitted(parameters: Dictionary(uniqueKeysWithValues: zip(GammaGamma.names, f.model.parameters)),
                   standardErrors: f.standardErrors.map { Dictionary(uniqueKeysWithValues: zip(GammaGamma.names, $0)) },
                   logLikelihood: f.logLikelihood, iterations: f.iterations, converged: f.converged, customers: Double(f.customers),
                   frequencySpendCorrelation: f.frequencySpendCorrelation)
        }
        self.fallbacks = fallbacks
        self.warnings = warnings
    }

    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try e.encode(self)
    }
}

/// The files the value stage publishes, written by the module that makes them.
public enum ValueOutputs {
    /// customer_id, p_alive, expected_purchases, expected_spend, clv: one row per scored
    /// customer, in `scores.csv`'s order.
    public static let valuesFile = "value.csv"
    public static let modelFile = "value.json"
    public static let columns = ["p_alive", "expected_purchases", "expected_spend", "clv"]

    public static func write(_ values: [CustomerLifetimeValue], keys: CSVTable, file: ValueFile, staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(valuesFile)) { out in
            try CSVText.appendHeader(["customer_id"] + columns, to: out)
            try ParallelRows.write(rows: values.count, bytesPerRow: 48, to: out) { lo, hi, b in
                for i in lo..<hi {
                    try keys.appendRawKey(i, to: b)
                    let v = values[i]
                    for x in [v.pAlive, v.expectedPurchases, v.expectedSpend, v.clv] { try b.append(byte: UInt8(ascii: ",")); try b.appendDecimal(x) }
                    try b.append(byte: 0x0A)
                }
            }
        }
        try AtomicFile.write(try staging(modelFile), contents: String(decoding: try file.encoded(), as: UTF8.self) + "\n")
    }
}
