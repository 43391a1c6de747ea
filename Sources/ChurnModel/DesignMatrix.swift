import Foundation
import Linalg
import RetainIO

/// The design matrix: one row per customer, one column per term (no intercept), the
/// values after transforms; the label when the snapshot has one.
///
/// Held as the snapshot's columns and each term's steps, not as a matrix of values: cell
/// (i, j) is `steps[j].apply(sources[j][i])`, made when a pass reads it. The columns are the
/// snapshot's own arrays (shared, not copied), so a design adds nothing per customer to the
/// table it is built on, and a fit's passes make each block of rows' cells as they go.
public struct DesignMatrix: Sendable {
    public let terms: [TermRecipe]
    public let rows: Int
    /// Per term, the column its cells come from: the snapshot's, after the log step when the
    /// term logs (`SnapshotColumns.base`).
    let sources: [DoubleColumn]
    /// Per term, the steps after the log (indicator, fill, clip).
    let steps: [TermRecipe.Steps]
    /// 1 = churned; nil for an unlabelled snapshot.
    public let labels: DoubleColumn?

    public var width: Int { terms.count }

    /// The design of `values` (row-major, `rows x terms.count`), taken as they are (the
    /// terms only name the columns).
    public init(terms: [TermRecipe], rows: Int, values: [Double], labels: [Double]?) {
        let q = terms.count
        self.init(terms: terms, rows: rows, sources: (0..<q).map { j in DoubleColumn((0..<rows).map { values[$0 * q + j] }) },
                  steps: Array(repeating: .identity, count: q), labels: labels.map(DoubleColumn.init))
    }

    init(terms: [TermRecipe], rows: Int, sources: [DoubleColumn], steps: [TermRecipe.Steps], labels: DoubleColumn?) {
        self.terms = terms; self.rows = rows; self.sources = sources; self.steps = steps; self.labels = labels
    }

    /// Cell (i, j).
    public subscript(row i: Int, term j: Int) -> Double { steps[j].apply(sources[j][i]) }

    /// The cells row-major, `rows x terms.count` (a copy, made here: for tests and small designs).
    public var values: [Double] {
        let q = width
        var out = [Double](repeating: 0, count: rows * q)
        withCells { cells in out.withUnsafeMutableBufferPointer { o in if let b = o.baseAddress { cells.fill(rows: 0, count: rows, into: b, stride: q, offset: 0) } } }
        return out
    }

    /// Rows per block a pass makes at a time (`Cells.fill`): a block of a wide design stays
    /// in the level-2 cache.
    static let cellBlock = 2048

    /// Pointers to every term's source column and steps, valid inside `body` only: loops on
    /// the workers read cells through them without copying columns or touching reference
    /// counts. The design owns the storage; nothing here frees it.
    func withCells<R>(_ body: (Cells) throws -> R) rethrows -> R {
        try ColumnBuffers.reading(sources) { columns in
            try columns.withUnsafeBufferPointer { c in
                try steps.withUnsafeBufferPointer { s in try body(Cells(sources: c, steps: s)) }
            }
        }
    }

    /// The cell makers `withCells` hands out (pointers, so `Sendable` by fiat: valid only
    /// inside that call).
    struct Cells: @unchecked Sendable {
        let sources: UnsafeBufferPointer<UnsafePointer<Double>>
        let steps: UnsafeBufferPointer<TermRecipe.Steps>

        /// Writes the cells of rows `lo..<lo + m` into `out`, row-major with `stride` doubles
        /// a row and term j at `offset + j`.
        @inline(__always)
        func fill(rows lo: Int, count m: Int, into out: UnsafeMutablePointer<Double>, stride: Int, offset: Int) {
            fill(rows: lo, count: m, into: out, stride: stride, offset: offset) { v, _ in v }
        }

        /// As `fill`, each cell of term j written as `(cell - centre[j]) * scale[j]`: the fit's
        /// standardised rows in the same pass.
        @inline(__always)
        func fill(rows lo: Int, count m: Int, into out: UnsafeMutablePointer<Double>, stride: Int, offset: Int,
                  centre: UnsafePointer<Double>, scale: UnsafePointer<Double>) {
            fill(rows: lo, count: m, into: out, stride: stride, offset: offset) { v, j in (v - centre[j]) * scale[j] }
        }

        @inline(__always)
        private func fill(rows lo: Int, count m: Int, into out: UnsafeMutablePointer<Double>, stride: Int, offset: Int,
                          _ map: (Double, Int) -> Double) {
            // Tiles of 8 rows, column by column within a tile: each column's cache line is
            // read whole and the tile's rows stay in the level-1 cache while they are written.
            guard let src = sources.baseAddress, let st = steps.baseAddress else { return }
            let q = steps.count
            var t = 0
            while t < m {
                let h = Swift.min(8, m - t), base = out + t * stride + offset
                for j in 0..<q {
                    let s = st[j], column = src[j] + lo + t, o = base + j
                    // `Steps.apply` with its indicator test taken out of the row loop: every
                    // Newton pass runs this loop over every cell (bench/ fit-memory shows it).
                    if s.indicator {
                        for i in 0..<h { o[i * stride] = map(column[i].isNaN ? 1 : 0, j) }
                    } else {
                        for i in 0..<h { o[i * stride] = map(s.apply(column[i]), j) }
                    }
                }
                t += h
            }
        }
    }

    /// Per column: mean, population standard deviation, minimum and maximum, in two
    /// passes over the cells, made a block of rows at a time.
    /// Sums are taken per chunk (`Workers.chunks`) and added in chunk order, so the result
    /// is the same for any worker count.
    public func moments() -> (mean: [Double], sd: [Double], min: [Double], max: [Double]) {
        let q = width, n = rows
        let chunks = Workers.chunks(n, grain: DesignMatrix.reductionRows)
        struct Part: Sendable { var sum, ss, lo, hi: [Double] }
        let parts = Slots<Part>(count: chunks.count)
        // Pass 1: sums, minima and maxima of each chunk.
        withCells { cells in
            Workers.run(chunks.count) { k in
                var part = Part(sum: [Double](repeating: 0, count: q), ss: [Double](repeating: 0, count: q),
                                lo: [Double](repeating: .infinity, count: q), hi: [Double](repeating: -.infinity, count: q))
                Self.blocks(of: chunks[k], width: q, cells) { v, block in
                    for i in 0..<block.count {
                        for j in 0..<q {
                            let x = v[i * q + j]
                            part.sum[j] += x
                            if x < part.lo[j] { part.lo[j] = x }
                            if x > part.hi[j] { part.hi[j] = x }
                        }
                    }
                }
                parts[k] = part
            }
        }
        var mean = [Double](repeating: 0, count: q)
        var lo = [Double](repeating: .infinity, count: q), hi = [Double](repeating: -.infinity, count: q)
        for k in chunks.indices {
            guard let p = parts[k] else { continue }
            for j in 0..<q { mean[j] += p.sum[j]; lo[j] = Swift.min(lo[j], p.lo[j]); hi[j] = Swift.max(hi[j], p.hi[j]) }
        }
        for j in 0..<q { mean[j] /= Double(Swift.max(n, 1)) }
        // Pass 2: squared deviations from the mean (two passes: no cancellation).
        let means = mean
        withCells { cells in
            Workers.run(chunks.count) { k in
                var ss = [Double](repeating: 0, count: q)
                Self.blocks(of: chunks[k], width: q, cells) { v, block in
                    for i in 0..<block.count {
                        for j in 0..<q { let d = v[i * q + j] - means[j]; ss[j] += d * d }
                    }
                }
                parts[k]?.ss = ss
            }
        }
        var ss = [Double](repeating: 0, count: q)
        for k in chunks.indices { if let p = parts[k] { for j in 0..<q { ss[j] += p.ss[j] } } }
        return (mean, ss.map { ($0 / Double(Swift.max(n, 1))).squareRoot() }, lo, hi)
    }

    /// Calls `body` with each block of `range`'s rows, its cells made row-major (`width` a
    /// row) in a buffer of this call's (freed when it returns), and the block's rows.
    static func blocks(of range: Range<Int>, width q: Int, _ cells: Cells, _ body: (UnsafePointer<Double>, Range<Int>) throws -> Void) rethrows {
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(cellBlock * q, 1))
        defer { buffer.deallocate() }
        var lo = range.lowerBound
        while lo < range.upperBound {
            let m = Swift.min(cellBlock, range.upperBound - lo)
            cells.fill(rows: lo, count: m, into: buffer, stride: q, offset: 0)
            try body(buffer, lo..<(lo + m))
            lo += m
        }
    }

    /// Rows per partial sum of a reduction (`Workers.chunks`): a snapshot of fewer
    /// customers is summed in one serial pass.
    public static let reductionRows = 65_536

    /// The column of term `j`.
    public func column(_ j: Int) -> [Double] {
        (0..<rows).map { self[row: $0, term: j] }
    }

    /// Builds the matrix of `table` by `terms`; a term whose feature the table lacks is
    /// an error naming both, never a silent column of zeros.
    public static func build(_ table: CSVTable, terms: [TermRecipe]) throws(ChurnModelError) -> DesignMatrix {
        try build(SnapshotColumns(table), terms: terms)
    }

    /// As `build(_:terms:)`, reading logged columns from `columns` (computed there once).
    public static func build(_ columns: SnapshotColumns, terms: [TermRecipe]) throws(ChurnModelError) -> DesignMatrix {
        let table = columns
        let n = table.count, q = terms.count
        var sources: [DoubleColumn] = []
        for t in terms {
            guard let f = t.features.first, let col = columns.base(f, log1p: t.log1p) else {
                throw .missingFeature(term: t.name, feature: t.features.first ?? "?", file: table.path)
            }
            sources.append(col)
        }
        let cellsOnly = DesignMatrix(terms: terms, rows: n, sources: sources, steps: terms.map(\.steps), labels: nil)
        // Every cell checked once, a block of rows at a time over the workers: the first bad
        // one in row order is the error.
        let block = cellBlock
        let blocks = (n + block - 1) / block
        let bad = Slots<Int>(count: Swift.max(blocks, 1))
        cellsOnly.withCells { cells in
            Workers.run(blocks) { b in
                let lo = b * block
                Self.blocks(of: lo..<Swift.min(n, lo + block), width: q, cells) { v, rows in
                    for k in 0..<(rows.count * q) where !v[k].isFinite { bad[b] = lo * q + k; return }
                }
            }
        }
        if let cell = (0..<blocks).lazy.compactMap({ bad[$0] }).first {
            // The first bad cell in row order; the message names its customer and feature.
            let (i, j) = cell.quotientAndRemainder(dividingBy: q)
            if sources[j][i].isNaN { throw .emptyWithoutFill(feature: terms[j].features[0], customer: table.key(i), file: table.path) }
            throw .nonFinite(feature: terms[j].features[0], customer: table.key(i), file: table.path)
        }
        var labels: DoubleColumn? = nil
        if let y = table.column("churned") {
            for (i, v) in y.enumerated() where v != 0 && v != 1 {
                throw .badLabel(customer: table.key(i), value: v, file: table.path)
            }
            labels = y
        }
        return DesignMatrix(terms: terms, rows: n, sources: sources, steps: cellsOnly.steps, labels: labels)
    }

    /// The recipes for fitting on `table`: one value term per feature (in snapshot order),
    /// transforms and clipping bounds from `settings`, medians to fill empty values, and an
    /// indicator for each distinct pattern of empty values. `leftOut` names features with no value at all.
    public static func recipes(for table: CSVTable, settings: ModelSettings) throws(ChurnModelError) -> (terms: [TermRecipe], leftOut: [(term: String, reason: String)]) {
        try recipes(for: SnapshotColumns(table), settings: settings)
    }

    /// As `recipes(for:settings:)`, reading logged columns from `columns`.
    public static func recipes(for columns: SnapshotColumns, settings: ModelSettings) throws(ChurnModelError) -> (terms: [TermRecipe], leftOut: [(term: String, reason: String)]) {
        let table = columns
        let available = table.names.filter { $0 != "churned" }
        let wanted = settings.features ?? available.filter { !ModelSettings.btydColumns.contains($0) }
        var bases: [DoubleColumn] = []
        for f in wanted {
            let transform = settings.transforms[f] ?? TermTransform()
            guard let base = columns.base(f, log1p: transform.log1p) else { throw .missingFeature(term: f, feature: f, file: table.path) }
            bases.append(base)
        }
        // What each feature's recipe needs from its column, the columns shared out over
        // the workers (each a serial scan and up to three selections); the recipes are
        // then made in feature order.
        let minimumEmpty = Self.minimumEmptyForIndicator(rows: table.count)
        let profiles = Slots<ColumnProfile>(count: wanted.count)
        let columnsToProfile = bases
        Workers.run(wanted.count) { k in
            profiles[k] = ColumnProfile(columnsToProfile[k], quantiles: [settings.clipLower, settings.clipUpper, 0.5])
        }
        var terms: [TermRecipe] = []
        // Features empty on exactly the same rows share one indicator: each new one is
        // compared with the first feature of every indicator so far, column to column (no
        // mask of every row is kept).
        var indicators: [(column: DoubleColumn, term: TermRecipe)] = []
        var leftOut: [(term: String, reason: String)] = []
        for (k, f) in wanted.enumerated() {
            let transform = settings.transforms[f] ?? TermTransform()
            guard let profile = profiles[k] else { continue }
            var t = TermRecipe(name: f, kind: .value, features: [f], log1p: transform.log1p)
            if let i = profile.firstNonFinite { throw .nonFinite(feature: f, customer: table.key(i), file: table.path) }
            if profile.empty == bases[k].count { leftOut.append((f, "empty for every customer")); continue }
            let missing = profile.empty > 0
            if transform.clip, let q = profile.quantiles {
                t.clipLower = FixedPoint.rounded(q[0], decimals: 9); t.clipUpper = FixedPoint.rounded(q[1], decimals: 9)
            }
            // The median of the transformed values, clipped like them, fills empty values:
            // also for a feature the fitting data has no empty value of, since the snapshot
            // scored later may (a customer whose spend nets to zero has no margin rate).
            var fill = FixedPoint.rounded(profile.quantiles?[2] ?? .nan, decimals: 9)
            if let lo = t.clipLower, fill < lo { fill = lo }
            if let hi = t.clipUpper, fill > hi { fill = hi }
            t.fill = fill
            if missing {
                guard profile.empty >= minimumEmpty else {
                    terms.append(t)
                    continue
                }
                if let j = indicators.firstIndex(where: { Self.sameEmptyRows($0.column, bases[k]) }) {
                    indicators[j].term.features.append(f)
                } else {
                    indicators.append((bases[k], TermRecipe(name: f + "_missing", kind: .missingIndicator, features: [f])))
                }
            }
            terms.append(t)
        }
        return (terms + indicators.map(\.term), leftOut)
    }
}

/// What a recipe needs from one column after its log step: its empty (NaN) values
/// counted, the first value that is infinite, and the requested quantiles of the rest
/// (the clip bounds and the fill).
struct ColumnProfile: Sendable {
    var empty = 0
    var firstNonFinite: Int? = nil
    var quantiles: [Double]? = nil

    init(_ base: DoubleColumn, quantiles qs: [Double]) {
        let n = base.count
        base.withUnsafeBufferPointer { b in
            for i in 0..<n {
                if b[i].isNaN { empty += 1 } else if !b[i].isFinite && firstNonFinite == nil { firstNonFinite = i }
            }
        }
        guard firstNonFinite == nil, empty < n else { return }
        // The one copy of the column a profile makes (selection reorders its values), of
        // exactly the values present (`filter` grows by doubling, holding the old and the
        // new buffer at once: up to three times this).
        let count = n - empty
        var present = base.withUnsafeBufferPointer { b in
            [Double](unsafeUninitializedCapacity: count) { out, initialized in
                var k = 0
                for x in b where !x.isNaN && k < count { out[k] = x; k += 1 }
                initialized = k
            }
        }
        quantiles = Quantile.selecting(&present, qs)
    }
}

extension DesignMatrix {
    /// Whether `a` and `b` are empty (NaN) on exactly the same rows.
    static func sameEmptyRows(_ a: DoubleColumn, _ b: DoubleColumn) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                for i in 0..<x.count where x[i].isNaN != y[i].isNaN { return false }
                return true
            }
        }
    }

    /// An indicator is made only when at least this many rows are empty (10, or 0.1% of
    /// the rows if more): an indicator true for a handful of customers separates them
    /// perfectly and only adds a coefficient that runs off; those rows just get the fill.
    public static func minimumEmptyForIndicator(rows: Int) -> Int { max(10, rows / 1000) }
}
