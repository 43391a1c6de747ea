import Foundation
import RetainIO

/// P(alive) by frequency and recency for a customer of the base's longest age: the matrix
/// lifetimes draws with `plot_probability_alive_matrix` (its `T` is the largest recency
/// shown), read off the fitted BG/NBD (`BGNBD.pAlive`). Rows: repeat purchases x = 0 ... max;
/// columns: recency tₓ in days, from 0 to T in equal steps.
public struct AliveMatrix: Codable, Sendable, Equatable {
    /// The age of the customer every cell assumes, days: the base's largest T.
    public var ageDays: Double
    /// Repeat purchases x of each row.
    public var frequencies: [Int]
    /// Recency tₓ of each column, days since the first purchase.
    public var recencyDays: [Double]
    /// P(alive) per row and column.
    public var pAlive: [[Double]]

    /// The grid over the customers' own x and T: x up to its 99th percentile (at least 5,
    /// at most 40, so one heavy buyer does not stretch the rows), `columns` recencies
    /// from 0 to the largest T. Nil when there are no customers.
    public static func make(_ model: BGNBD, x: [Double], T: [Double], columns: Int = 24) -> AliveMatrix? {
        make(model, x: DoubleColumn(x), T: DoubleColumn(T), columns: columns)
    }

    /// As `make` on columns in memory; here the columns can be a mapped snapshot: the 99th
    /// percentile is read off a count per distinct x, not a sorted copy.
    public static func make(_ model: BGNBD, x: DoubleColumn, T: DoubleColumn, columns: Int = 24) -> AliveMatrix? {
        var age = -Double.infinity
        for t in T where t.isFinite { age = max(age, t) }
        var perValue: [Double: Int] = [:], counted = 0
        for v in x where v.isFinite { perValue[v, default: 0] += 1; counted += 1 }
        guard age > 0, counted > 0 else { return nil }
        // The value at rank ⌈0.99 (n − 1)⌉ of the sorted x.
        let rank = min(counted - 1, Int((Double(counted - 1) * 0.99).rounded(.up)))
        var p99 = 0.0, below = 0
        for v in perValue.keys.sorted() {
            below += perValue[v] ?? 0
            if below > rank { p99 = v; break }
        }
        let top = min(40, max(5, Int(p99.rounded(.up))))
        let recency = (0...columns).map { age * Double($0) / Double(columns) }
        let rows = Array(0...top)
        return AliveMatrix(ageDays: age, frequencies: rows, recencyDays: recency,
                           pAlive: rows.map { f in recency.map { model.pAlive(x: Double(f), tx: $0, T: age) } })
    }
}
