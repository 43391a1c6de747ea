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
    }

    /// The summary of `base` as BG/NBD takes it.
    public static func summary(_ base: CustomerBase) -> CustomerSummary {
        CustomerSummary(x: base.repeatPurchases, tx: base.repeatSpanDays, T: base.ageDays, meanSpend: base.repeatMeanSpend)
    }

    /// Fits BG/NBD on `base` and adds, per snapshot customer, P(no purchase in the next
    /// `horizonDays`) and the expected purchases in them. The snapshot's customers are a
    /// subset of the base's (active customers have a purchase), both in customer order.
    public static func add(to snapshot: inout Snapshot, base: CustomerBase, horizonDays: Int32) -> Outcome {
        let fit: BGNBD.Fit
        do { fit = try BGNBD.fit(summary(base)) } catch { return Outcome(fit: nil, skipped: error.description) }
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
                Workers.forEachRange(n, grain: 4096) { range in
                    for i in range {
                        let r = rows[i]
                        let x = Double(base.repeatPurchases[r]), tx = base.repeatSpanDays[r], T = base.ageDays[r]
                        nOut.value[i] = m.pNoPurchase(h, x: x, tx: tx, T: T)
                        eOut.value[i] = m.expectedPurchases(h, x: x, tx: tx, T: T)
                    }
                }
            }
        }
        guard none.allSatisfy(\.isFinite), expected.allSatisfy(\.isFinite) else {
            return Outcome(fit: fit, skipped: "BG/NBD: its predictions are not finite for every customer")
        }
        snapshot.add(.btydPNoPurchase, none)
        snapshot.add(.btydExpectedPurchases, expected)
        return Outcome(fit: fit, skipped: nil)
    }
}
