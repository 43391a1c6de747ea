import Foundation
import RetainIO

/// How well predicted churn probabilities match what happened. (Keys are written in
/// snake_case by `ModelFile`'s encoder.)
public struct Metrics: Codable, Sendable, Equatable {
    public var customers: Int
    /// Observed churn share of these customers.
    public var baseRate: Double
    /// ROC AUC: the chance a random churner is ranked above a random stayer, ties
    /// counting half (the Mann–Whitney form with average ranks, as scikit-learn's
    /// `roc_auc_score`).
    public var auc: Double
    /// Mean of -[y·log p + (1-y)·log(1-p)], p clipped to [1e-15, 1 - 1e-15] as
    /// scikit-learn's `log_loss`. Nats per customer.
    public var logLoss: Double
    /// Mean of (p - y)². A share²; 0 is perfect, base·(1-base) is a constant forecast.
    public var brier: Double
    /// Observed churn share in the top 10% by predicted probability over `baseRate`.
    public var topDecileLift: Double
    /// Ten bins of equal size by predicted probability (lowest first).
    public var calibration: [CalibrationBin]

    public struct CalibrationBin: Codable, Sendable, Equatable {
        public var decile: Int
        public var customers: Int
        public var meanPredicted: Double
        public var observedRate: Double
    }

    /// Metrics of `predicted` against `observed` (1 = churned); both the same length, not empty.
    public init(predicted: [Double], observed: [Double]) {
        self = predicted.withUnsafeBufferPointer { p in observed.withUnsafeBufferPointer { y in Metrics(p, y) } }
    }

    /// As `init(predicted:observed:)`, the labels a snapshot's column (in memory or mapped).
    public init(predicted: [Double], observed: DoubleColumn) {
        self = predicted.withUnsafeBufferPointer { p in observed.withUnsafeBufferPointer { y in Metrics(p, y) } }
    }

    /// As `init(predicted:observed:)`, both columns of a snapshot.
    public init(predicted: DoubleColumn, observed: DoubleColumn) {
        self = predicted.withUnsafeBufferPointer { p in observed.withUnsafeBufferPointer { y in Metrics(p, y) } }
    }

    /// Beyond the two inputs, memory is the sorted order (`RadixSort.order`: 8 bytes a
    /// customer while it is sorted, 4 after): no copy of the predictions or labels in that order.
    private init(_ predicted: UnsafeBufferPointer<Double>, _ observed: UnsafeBufferPointer<Double>) {
        let n = predicted.count
        customers = n
        var positives = 0.0
        for i in 0..<n { positives += observed[i] }
        baseRate = n > 0 ? positives / Double(n) : .nan
        var ll = 0.0, brierSum = 0.0
        for i in 0..<n {
            let p = min(max(predicted[i], 1e-15), 1 - 1e-15), y = observed[i]
            ll -= y * log(p) + (1 - y) * log(1 - p)
            brierSum += (predicted[i] - y) * (predicted[i] - y)
        }
        logLoss = ll / Double(n)
        brier = brierSum / Double(n)
        // Ascending by prediction, ties in their given order (a stable radix sort, as the
        // stable comparison sort before it: the same order, in a tenth of the time); ties
        // get the average of their ranks.
        let order = RadixSort.order(count: n) { RadixSort.key(predicted[$0]) }
        @inline(__always) func p(_ k: Int) -> Double { predicted[Int(order[k])] }
        @inline(__always) func y(_ k: Int) -> Double { observed[Int(order[k])] }
        var rankSum = 0.0
        var i = 0
        while i < n {
            var j = i
            while j + 1 < n && p(j + 1) == p(i) { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where y(k) == 1 { rankSum += averageRank }
            i = j + 1
        }
        let negatives = Double(n) - positives
        auc = positives > 0 && negatives > 0 ? (rankSum - positives * (positives + 1) / 2) / (positives * negatives) : .nan
        let top = max(1, Int((Double(n) / 10).rounded(.up)))
        var topChurn = 0.0
        for k in (n - top)..<n { topChurn += y(k) }
        topDecileLift = baseRate > 0 ? (topChurn / Double(top)) / baseRate : .nan
        calibration = (0..<10).compactMap { d in
            let lo = n * d / 10, hi = n * (d + 1) / 10
            guard hi > lo else { return nil }
            var sp = 0.0, sy = 0.0
            for k in lo..<hi { sp += p(k); sy += y(k) }
            return CalibrationBin(decile: d + 1, customers: hi - lo, meanPredicted: sp / Double(hi - lo), observedRate: sy / Double(hi - lo))
        }
    }
}
