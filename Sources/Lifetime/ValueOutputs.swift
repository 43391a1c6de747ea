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
    /// P(alive) by frequency and recency under the fitted BG/NBD (nil without one).
    public var aliveMatrix: AliveMatrix?

    public struct Fitted: Codable, Sendable {
        public var parameters: [String: Double]
        public var standardErrors: [String: Double]?
        public var logLikelihood: Double
        public var iterations: Int
        public var converged: Bool
        public var customers: Double
        /// Gamma-Gamma only: the Pearson correlation of x and z̄ (the model assumes 0).
        public var frequencySpendCorrelation: Double?

        public init(_ f: BGNBD.Fit) {
            parameters = Dictionary(uniqueKeysWithValues: zip(BGNBD.names, f.model.parameters))
            standardErrors = f.standardErrors.map { Dictionary(uniqueKeysWithValues: zip(BGNBD.names, $0)) }
            logLikelihood = f.logLikelihood; iterations = f.iterations; converged = f.converged; customers = f.customers
        }

        init(parameters: [String: Double], standardErrors: [String: Double]?, logLikelihood: Double, iterations: Int,
             converged: Bool, customers: Double, frequencySpendCorrelation: Double?) {
            self.parameters = parameters; self.standardErrors = standardErrors; self.logLikelihood = logLikelihood
            self.iterations = iterations; self.converged = converged; self.customers = customers
            self.frequencySpendCorrelation = frequencySpendCorrelation
        }
    }

    public init(asOf: String, settings: ValueSettings, targetDays: Int, bgnbd: Fitted?, gammaGamma: GammaGamma.Fit?,
                fallbacks: [String], warnings: [String], aliveMatrix: AliveMatrix? = nil) {
        self.asOf = asOf
        self.aliveMatrix = aliveMatrix
        horizonMonths = settings.horizonMonths
        annualDiscountRate = settings.annualDiscountRate
        self.targetDays = targetDays
        self.bgnbd = bgnbd
        self.gammaGamma = gammaGamma.map { f in
            Fitted(parameters: Dictionary(uniqueKeysWithValues: zip(GammaGamma.names, f.model.parameters)),
                   standardErrors: f.standardErrors.map { Dictionary(uniqueKeysWithValues: zip(GammaGamma.names, $0)) },
                   logLikelihood: f.logLikelihood, iterations: f.iterations, converged: f.converged, customers: Double(f.customers),
                   frequencySpendCorrelation: f.frequencySpendCorrelation)
        }
        self.fallbacks = fallbacks
        self.warnings = warnings
    }

    public func encoded() throws -> Data { try ResultJSON.encoder().encode(self) }
}

/// `snapshots/bgnbd.json`: the BG/NBD fitted on each snapshot's customer base (the one its
/// columns come from), or why there is none. The value stage uses the scoring snapshot's.
public struct BGNBDFile: Codable, Sendable {
    public static let fileName = "snapshots/bgnbd.json"
    public static let formatName = "retain-bgnbd/1"
    public var format = BGNBDFile.formatName
    public var timeUnit = "days"
    /// By snapshot name (training, validation, scoring).
    public var snapshots: [String: Entry]

    public struct Entry: Codable, Sendable {
        public var asOf: String
        public var fit: ValueFile.Fitted?
        public var repeatCustomers: Double?
        public var warnings: [String]
        /// Why the snapshot has no BG/NBD columns; nil when it has them.
        public var skipped: String?

        public init(asOf: String, fit: BGNBD.Fit?, warnings: [String], skipped: String?) {
            self.asOf = asOf
            self.fit = fit.map(ValueFile.Fitted.init)
            self.repeatCustomers = fit?.repeatCustomers
            self.warnings = warnings
            self.skipped = skipped
        }

        /// The fitted model, when there is a usable one.
        public var model: BGNBD? {
            guard let p = fit?.parameters, let r = p["r"], let alpha = p["alpha"], let a = p["a"], let b = p["b"] else { return nil }
            return BGNBD(r: r, alpha: alpha, a: a, b: b)
        }
    }

    public init(snapshots: [String: Entry]) { self.snapshots = snapshots }

    public func encoded() throws -> Data { try ResultJSON.encoder().encode(self) }

    public static func load(_ path: String) throws(LifetimeError) -> BGNBDFile {
        let d = ResultJSON.decoder()
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)), let file = try? d.decode(BGNBDFile.self, from: data),
              file.format == formatName else {
            throw .badSummary(file: path, detail: "not a \(formatName) file")
        }
        return file
    }
}

/// The files the value stage publishes, written by the module that makes them.
public enum ValueOutputs {
    /// customer_id, p_alive, expected_purchases, expected_spend, clv: one row per scored
    /// customer, in `scores.csv`'s order.
    public static let valuesFile = "value.csv"
    public static let modelFile = "value.json"
    public static let columns = ["p_alive", "expected_purchases", "expected_spend", "clv"]

    /// Writes both files, `value.csv` a block of customers at a time: `values(range)` gives
    /// the figures of scored customers `range` (asked in order, each once), `keys` the
    /// customers' ids; `file()` is asked once every block is written, so it can say what
    /// the blocks found. The stage then holds one block of customers, never all of them.
    public static func write(customers n: Int, keys: MappedColumns, values: (Range<Int>) throws -> [CustomerLifetimeValue],
                             file: () -> ValueFile, staging: (String) throws -> String, block: Int = 1 << 18) throws {
        let path = try staging(valuesFile)
        try AtomicFile.write(path) { out in
            try CSVText.appendHeader(["customer_id"] + columns, to: out)
            var lo = 0
            while lo < n {
                let range = lo..<min(n, lo + max(block, 1))
                let figures = try values(range)
                try ParallelRows.write(rows: figures.count, bytesPerRow: 48, to: out) { a, b, buffer in
                    for k in a..<b {
                        try keys.appendRawKey(range.lowerBound + k, to: buffer)
                        let v = figures[k]
                        for x in [v.pAlive, v.expectedPurchases, v.expectedSpend, v.clv] { try buffer.append(byte: UInt8(ascii: ",")); try buffer.appendDecimal(x) }
                        try buffer.append(byte: 0x0A)
                    }
                }
                lo = range.upperBound
            }
        }
        try AtomicFile.write(try staging(modelFile), contents: String(decoding: try file().encoded(), as: UTF8.self) + "\n")
    }
}
