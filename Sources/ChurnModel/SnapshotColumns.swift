import RetainIO

/// A snapshot table with the log step of the term transforms (`TermRecipe.logged`)
/// applied at most once per column, by every worker.
///
/// The train stage fits one snapshot and judges that model on another, then fits again:
/// the recipes' checks and quantiles, each design and each scoring read the same logged
/// column. Recomputed each time, the logs (and their rounding) were a third of the stage.
/// Not thread-safe: one stage uses it from one thread (its loops fan out inside).
public final class SnapshotColumns {
    public let table: CSVTable
    private var logged: [String: [Double]] = [:]

    public init(_ table: CSVTable) { self.table = table }

    /// Column `feature` as a term's remaining steps take it: the raw values, or with `log1p`
    /// their `TermRecipe.logged` values (NaN, an empty value, stays NaN). Nil when the
    /// table has no such column.
    public func base(_ feature: String, log1p: Bool) -> [Double]? {
        guard let raw = table.column(feature) else { return nil }
        guard log1p else { return raw }
        if let done = logged[feature] { return done }
        let n = raw.count
        let column = [Double](unsafeUninitializedCapacity: n) { out, initialized in
            raw.withUnsafeBufferPointer { src in
                guard let o = out.baseAddress, let s = src.baseAddress else { return }
                let op = UnsafeSendable(o), sp = UnsafeSendable(s)
                Workers.forEachRange(n, grain: 32_768) { rows in
                    let o = op.value, s = sp.value
                    for i in rows { o[i] = TermRecipe.logged(s[i]) }
                }
            }
            initialized = n
        }
        logged[feature] = column
        return column
    }
}
