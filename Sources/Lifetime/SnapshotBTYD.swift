import Foundation
import Features
import RetainIO

/// The BG/NBD columns of a snapshot (`Feature.customerBaseModel`), from a BG/NBD fitted on
/// that snapshot's own customer base (every customer with a purchase on or before its
/// date, active or not), so a column never uses data after the snapshot's date.
public enum SnapshotBTYD {
    /// What was added, or why nothing was.
    public struct Outcome: Sendable {
        public var fit: BGNBD.Fit?
        /// Why the columns are absent (the fit failed); nil when they were added.
        public var skipped: String?
        /// Wall time of the fit alone (for the benchmark against lifetimes). Seconds.
        public var fitSeconds: Double = 0
    }

    /// Fits BG/NBD on `base` and adds, per snapshot customer, P(no purchase in the next
    /// `horizonDays`) and the expected purchases in them. The snapshot's customers are a
    /// subset of the base's (active customers have a purchase), both in customer order.
    /// `start`: another snapshot's fit, to start the search from (the same data a horizon
    /// apart: the optimum moves little).
    public static func add(to snapshot: inout Snapshot, base: CustomerBase, horizonDays: Int32, start: BGNBD? = nil) -> Outcome {
        let fit: BGNBD.Fit
        let t0 = Date()
        let purchases = CustomerSummary.purchases(x: base.repeatPurchases, tx: base.repeatSpanDays, T: base.ageDays)
        do { fit = try BGNBD.fit(purchases, start: start) } catch { return Outcome(fit: nil, skipped: error.description) }
        let seconds = Date().timeIntervalSince(t0)
        let m = fit.model, h = Double(horizonDays)
        guard m.parameters.allSatisfy({ $0.isFinite && $0 > 0 }) else { return Outcome(fit: fit, skipped: "BG/NBD: the fit's parameters are not usable") }
        // Row of the base for each snapshot customer (both increasing).
        var rows = [Int](repeating: 0, count: snapshot.customers.count)
        var j = 0
        for (i, c) in snapshot.customers.enumerated() {
            while j < base.count && base.customers[j] < c { j += 1 }
            guard j < base.count, base.customers[j] == c else { return Outcome(fit: fit, skipped: "a snapshot customer has no purchase on or before its date") }
            rows[i] = j
        }
        let n = rows.count
        var none = [Double](repeating: 0, count: n), expected = [Double](repeating: 0, count: n)
        none.withUnsafeMutableBufferPointer { np in
            expected.withUnsafeMutableBufferPointer { ep in
                let nOut = UnsafeSendable(np), eOut = UnsafeSendable(ep)
                // The expectation's part of (x, T) (a hypergeometric series) once per distinct
                // pair a worker meets: customers share them by the thousand.
                Workers.forEachRange(n, grain: 4096) { range in
                    var memo: [PurchasesAndAge: Double] = [:]
                    for i in range {
                        let r = rows[i]
                        let xi = base.repeatPurchases[r], x = Double(xi), tx = base.repeatSpanDays[r], T = base.ageDays[r]
                        let key = PurchasesAndAge(x: xi, T: T)
                        let ifAlive: Double
                        if let known = memo[key] { ifAlive = known } else { ifAlive = m.expectedIfAlive(h, x: x, T: T); memo[key] = ifAlive }
                        let alive = m.pAlive(x: x, tx: tx, T: T)
                        nOut.value[i] = 1 - alive + alive * m.noPurchaseIfAlive(h, x: x, T: T)
                        eOut.value[i] = ifAlive * alive
                    }
                }
            }
        }
        guard none.allSatisfy(\.isFinite), expected.allSatisfy(\.isFinite) else {
            return Outcome(fit: fit, skipped: "BG/NBD: its predictions are not finite for every customer")
        }
        snapshot.add(.btydPNoPurchase, none)
        snapshot.add(.btydExpectedPurchases, expected)
        return Outcome(fit: fit, skipped: nil, fitSeconds: seconds)
    }
}

/// (x, T): what BG/NBD's expectation given alive depends on.
struct PurchasesAndAge: Hashable {
    var x: Int32
    var T: Double
}
