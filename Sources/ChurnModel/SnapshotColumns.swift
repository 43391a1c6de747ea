import RetainIO

/// A snapshot as the model reads it: its columns (in memory, a `CSVTable`'s, or mapped
/// from scratch files, `MappedColumns`', for a snapshot too large to hold), its keys for
/// messages and `training_matrix.csv`, and the log step of the term transforms
/// (`TermRecipe.logged`) applied at most once per column.
///
/// The train stage fits one snapshot and judges that model on another, then fits again:
/// the recipes' checks and quantiles, each design and each scoring read the same logged
/// column. Recomputed each time, the logs (and their rounding) were a third of the stage.
/// Not thread-safe: one stage uses it from one thread (its loops fan out inside).
public final class SnapshotColumns {
    enum Source: Sendable {
        case table(CSVTable)
        case mapped(MappedColumns)
    }
    let source: Source
    private var logged: [String: DoubleColumn] = [:]

    public init(_ table: CSVTable) { source = .table(table) }
    public init(_ mapped: MappedColumns) { source = .mapped(mapped) }

    /// Reads the snapshot at `path` a block at a time into mapped columns (scratch files in
    /// the folder `scratch`), the logged form of every column `settings` logs made as it reads.
    public static func mapping(_ path: String, scratch: String, settings: ModelSettings) throws -> SnapshotColumns {
        let names = try CSVTable.header(path).dropFirst()
        var deriving: [String: @Sendable (Double) -> Double] = [:]
        for name in names where (settings.transforms[name] ?? TermTransform()).log1p { deriving[name] = TermRecipe.logged }
        return SnapshotColumns(try MappedColumns.read(path, scratch: scratch, deriving: deriving))
    }

    /// The file it was read from (for messages).
    public var path: String {
        switch source {
        case .table(let t): t.path
        case .mapped(let m): m.path
        }
    }

    /// The numeric columns' names (the key's left out).
    public var names: [String] {
        switch source {
        case .table(let t): t.names
        case .mapped(let m): m.names
        }
    }

    public var count: Int {
        switch source {
        case .table(let t): t.count
        case .mapped(let m): m.count
        }
    }

    /// The column called `name`, if the snapshot has it.
    public func column(_ name: String) -> DoubleColumn? {
        switch source {
        case .table(let t): t.column(name).map(DoubleColumn.init)
        case .mapped(let m): m.column(name)
        }
    }

    /// The key of row `i` as the input had it.
    public func key(_ i: Int) -> String {
        switch source {
        case .table(let t): t.key(i)
        case .mapped(let m): m.key(i)
        }
    }

    /// The raw key fields, for writers on several workers.
    public var keys: Keys { Keys(source: source) }

    public struct Keys: Sendable {
        let source: Source

        /// Appends the raw key field of row `i` to `out`.
        @inline(__always) public func appendRawKey(_ i: Int, to out: OutputBuffer) throws {
            switch source {
            case .table(let t): try t.appendRawKey(i, to: out)
            case .mapped(let m): try m.appendRawKey(i, to: out)
            }
        }
    }

    /// Column `feature` as a term's remaining steps take it: the raw values, or with `log1p`
    /// their `TermRecipe.logged` values (NaN, an empty value, stays NaN). Nil when the
    /// snapshot has no such column.
    public func base(_ feature: String, log1p: Bool) -> DoubleColumn? {
        guard let raw = column(feature) else { return nil }
        guard log1p else { return raw }
        if let done = logged[feature] { return done }
        if case .mapped(let m) = source, let stored = m.derived(feature) { logged[feature] = stored; return stored }
        let column = raw.withUnsafeBufferPointer { Workers.map($0, TermRecipe.logged) }
        logged[feature] = DoubleColumn(column)
        return logged[feature]
    }
}
