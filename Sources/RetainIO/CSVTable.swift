#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A table the stages hand each other as CSV (`features.csv`, the snapshots, `scores.csv`):
/// a text key in the first column (customer_id, as written: quoted and neutralised), then
/// numeric columns, where an empty field is a value that does not exist (NaN).
///
/// Read into columns without one allocation per row: the raw key fields sit back to back
/// in one byte array (so a later stage writes them out again by copying, never
/// re-escaping), and each numeric column is one `[Double]`.
public struct CSVTable: Sendable {
    /// The file it was read from (for messages).
    public let path: String
    /// Header names of the numeric columns (the key column's name is `keyName`).
    public let names: [String]
    public let keyName: String
    /// One array per numeric column, `count` values each; NaN = empty field.
    public private(set) var columns: [[Double]]
    /// Raw key fields, concatenated; field i is `keyBytes[keyEnds[i-1]..<keyEnds[i]]`.
    public let keyBytes: [UInt8]
    public let keyEnds: [Int]
    /// With `read(_:keepingRows:)`: the file's bytes, and per row where its numeric fields'
    /// text starts (at the comma after the key) and ends (before the line break), so a
    /// stage can copy them instead of formatting the numbers again. Empty otherwise.
    private(set) var text: [UInt8] = []
    private(set) var rowSpans: [Int] = []

    public var count: Int { keyEnds.count }

    public init(path: String, keyName: String, names: [String], columns: [[Double]], keyBytes: [UInt8], keyEnds: [Int]) {
        self.path = path; self.keyName = keyName; self.names = names; self.columns = columns
        self.keyBytes = keyBytes; self.keyEnds = keyEnds
    }

    /// Appends row `i`'s numeric fields, each after a comma, as `OutputBuffer.appendExact`
    /// writes them: copied from the file when the table kept its rows and the file is one
    /// Retain wrote (its numbers are in that form already: 9 decimals at most, no trailing
    /// zeros), formatted again otherwise.
    @inline(__always) public func appendNumericFields(_ i: Int, to out: OutputBuffer) throws {
        if rowSpans.count == 2 * count {
            let start = rowSpans[2 * i], end = rowSpans[2 * i + 1]
            try text.withUnsafeBytes { try out.append(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
        } else {
            for j in 0..<columns.count { try out.append(byte: UInt8(ascii: ",")); try out.appendExact(columns[j][i]) }
        }
    }

    /// Whether `other` holds the same names, keys and values, every double to the bit
    /// (NaN included): what a table handed from one stage to the next must be to the
    /// table read back from its file.
    public func isIdentical(to other: CSVTable) -> Bool {
        guard names == other.names, keyName == other.keyName, keyEnds == other.keyEnds, keyBytes == other.keyBytes,
              columns.count == other.columns.count else { return false }
        for (a, b) in zip(columns, other.columns) {
            guard a.count == b.count else { return false }
            for i in 0..<a.count where a[i].bitPattern != b[i].bitPattern { return false }
        }
        return true
    }

    /// The column called `name`, if the file has it.
    public func column(_ name: String) -> [Double]? {
        names.firstIndex(of: name).map { columns[$0] }
    }

    /// The raw (escaped) key field of row `i`, ready to be copied into another CSV.
    public func rawKey(_ i: Int) -> ArraySlice<UInt8> {
        keyBytes[(i == 0 ? 0 : keyEnds[i - 1])..<keyEnds[i]]
    }

    /// Appends the raw key field of row `i` to `out`. Without making a slice: a slice
    /// retains the key array, and workers writing rows contend on its reference count.
    @inline(__always) public func appendRawKey(_ i: Int, to out: OutputBuffer) throws {
        let start = i == 0 ? 0 : keyEnds[i - 1], end = keyEnds[i]
        try keyBytes.withUnsafeBytes { bytes in try out.append(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) }
    }

    /// Whether row `i`'s key is, as written, row `j`'s of `other` (no string is made).
    @inline(__always) public func sameKey(_ i: Int, as other: CSVTable, _ j: Int) -> Bool {
        let a0 = i == 0 ? 0 : keyEnds[i - 1], a1 = keyEnds[i]
        let b0 = j == 0 ? 0 : other.keyEnds[j - 1], b1 = other.keyEnds[j]
        guard a1 - a0 == b1 - b0 else { return false }
        return keyBytes.withUnsafeBufferPointer { a in
            other.keyBytes.withUnsafeBufferPointer { b in
                guard let pa = a.baseAddress, let pb = b.baseAddress else { return a1 == a0 }
                return memcmp(pa + a0, pb + b0, a1 - a0) == 0
            }
        }
    }

    /// The key of row `i` as the input had it: quotes removed and a neutralising `'`
    /// (see `CSVText`) taken off again.
    public func key(_ i: Int) -> String { CSVText.decode(rawKey(i)) }

    /// Reads `path`. Every row must have the header's number of fields and every numeric
    /// field must be empty or a decimal number; anything else is `IOError.malformed` with
    /// its line and column, because these files are written by Retain and read back as is.
    /// `keepingRows`: keep the file's text for `appendNumericFields` (the file's size in memory).
    public static func read(_ path: String, keepingRows: Bool = false) throws -> CSVTable {
        let bytes = try FilePath.readAll(path)
        var table = try bytes.withUnsafeBytes { try parse($0, path: path, keepingRows: keepingRows) }
        if keepingRows { table.text = bytes }
        return table
    }

    /// The column names of the file at `path` (its first line: plain identifiers separated
    /// by commas, as Retain writes them), without reading the rest.
    public static func header(_ path: String) throws -> [String] {
        guard let f = fopen(path, "r") else { throw IOError.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        var line: [UInt8] = []
        while line.count < 1 << 20 {
            let c = fgetc(f)
            if c == EOF || c == 0x0A { break }
            line.append(UInt8(truncatingIfNeeded: c))
        }
        if line.last == 0x0D { line.removeLast() }
        return String(decoding: line, as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    static func parse(_ b: UnsafeRawBufferPointer, path: String, keepingRows: Bool = false) throws -> CSVTable {
        let n = b.count
        // Header: plain identifiers separated by commas.
        var i = 0
        while i < n && b[i] != 0x0A { i += 1 }
        guard i < n else { throw IOError.malformed(path: path, line: 1, message: "no header line") }
        let headerEnd = i > 0 && b[i - 1] == 0x0D ? i - 1 : i
        let header = String(decoding: UnsafeRawBufferPointer(rebasing: b[0..<headerEnd]), as: UTF8.self)
            .split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard header.count >= 1 else { throw IOError.malformed(path: path, line: 1, message: "empty header") }
        return try parseRecords(b, from: i + 1, path: path, header: header, linesBefore: 1, keepingRows: keepingRows)
    }

    /// The records of `b[from...]` (whole records only), under `header`; `linesBefore`: the
    /// file's lines before `from`, for the line numbers of messages. With `keepingRows`, the
    /// row spans are offsets in `b`.
    static func parseRecords(_ b: UnsafeRawBufferPointer, from body: Int, path: String, header: [String], linesBefore: Int,
                             keepingRows: Bool = false) throws -> CSVTable {
        let n = b.count
        // One range per worker, cut at record boundaries (a quoted id may hold a line break:
        // a cut newline must be outside quotes, judged by quote parity from the body's start).
        let ranges = b.baseAddress.map { recordRanges($0, from: body, to: n) } ?? [(body, n)]
        guard let base = b.baseAddress else {
            return CSVTable(path: path, keyName: header[0], names: Array(header.dropFirst()),
                            columns: [[Double]](repeating: [], count: header.count - 1), keyBytes: [], keyEnds: [])
        }
        // Every record ends at a newline, so newlines bound the rows of each range (a
        // quoted id holding a line break makes it an over-estimate, closed up below). Each
        // range is parsed straight into its place in the final columns: no buffer per half
        // to copy and then join.
        let bounds = ranges.map { r in lineCount(base, from: r.0, to: r.1) }
        let capacity = bounds.reduce(0, +)
        let parts = Slots<Result<Keys, RowError>>(count: ranges.count)
        let shared = UnsafeSendable(b)
        var parsed = [Int](repeating: 0, count: ranges.count)
        let columns = try ColumnBuffers.make(header.count - 1, capacity: capacity) { buffers -> Int in
            let targets = UnsafeSendable(buffers)
            Workers.run(ranges.count) { w in
                let first = bounds[..<w].reduce(0, +)
                parts[w] = parseRows(shared.value, from: ranges[w].0, to: ranges[w].1, header: header,
                                     into: targets.value, at: first, capacity: bounds[w], keepingRows: keepingRows)
            }
            var rows = 0
            for (w, r) in ranges.enumerated() {
                switch parts[w] ?? .failure(RowError(line: 0, message: "not parsed")) {
                case .success(let keys): parsed[w] = keys.ends.count
                case .failure(let e):
                    // Line numbers are local to the range: add the lines before it.
                    var before = linesBefore + 1
                    for k in body..<r.0 where b[k] == 0x0A { before += 1 }
                    throw IOError.malformed(path: path, line: before + e.line - 1, message: e.message)
                }
                // Close up the rows a range's over-estimate left empty.
                let first = bounds[..<w].reduce(0, +)
                if first != rows { for buffer in buffers { (buffer + rows).update(from: buffer + first, count: parsed[w]) } }
                rows += parsed[w]
            }
            return rows
        }
        var keyBytes: [UInt8] = [], keyEnds: [Int] = [], rowSpans: [Int] = []
        keyEnds.reserveCapacity(parsed.reduce(0, +))
        for w in 0..<ranges.count {
            guard case .success(let keys) = parts[w] else { continue }
            let shift = keyBytes.count
            if w == 0 { keyBytes = keys.bytes; keyEnds = keys.ends; rowSpans = keys.rowSpans } else {
                keyBytes.append(contentsOf: keys.bytes)
                keyEnds.append(contentsOf: keys.ends.lazy.map { $0 + shift })
                rowSpans.append(contentsOf: keys.rowSpans)  // offsets in the whole file already
            }
        }
        var table = CSVTable(path: path, keyName: header[0], names: Array(header.dropFirst()), columns: columns,
                             keyBytes: keyBytes, keyEnds: keyEnds)
        table.rowSpans = rowSpans
        return table
    }

    /// `[from, to)` cut into one range per worker (pieces of at least 512 KiB), each cut just
    /// after a newline that ends a record.
    static func recordRanges(_ base: UnsafeRawPointer, from body: Int, to n: Int) -> [(Int, Int)] {
        let pieces = Workers.split(n - body, grain: 1 << 19).count
        guard pieces > 1 else { return [(body, n)] }
        let quoted = memchr(base + body, 0x22, n - body) != nil
        var cuts = [body]
        var inside = false, scanned = body  // quote parity of [body, scanned)
        for k in 1..<pieces {
            let target = max(body + (n - body) * k / pieces, cuts[cuts.count - 1])
            var cut: Int? = nil
            if !quoted {
                if let nl = memchr(base + target, 0x0A, n - target) { cut = base.distance(to: UnsafeRawPointer(nl)) + 1 }
            } else {
                let b = base.assumingMemoryBound(to: UInt8.self)
                while scanned < target { if b[scanned] == 0x22 { inside.toggle() }; scanned += 1 }
                while scanned < n {
                    let c = b[scanned]
                    scanned += 1
                    if c == 0x22 { inside.toggle() } else if c == 0x0A && !inside { cut = scanned; break }
                }
            }
            guard let cut, cut < n else { break }
            if cut > cuts[cuts.count - 1] { cuts.append(cut) }
        }
        cuts.append(n)
        return (0..<(cuts.count - 1)).map { (cuts[$0], cuts[$0 + 1]) }
    }

    /// Lines in `[from, to)`, counting a last one without a newline.
    static func lineCount(_ base: UnsafeRawPointer, from: Int, to n: Int) -> Int {
        var count = 0, k = from
        while k < n, let nl = memchr(base + k, 0x0A, n - k) { count += 1; k = base.distance(to: UnsafeRawPointer(nl)) + 1 }
        return k < n ? count + 1 : count
    }

    /// The key fields of a range: raw bytes back to back, and where each ends; with
    /// `keepingRows`, where each row's numeric fields start and end in the file.
    struct Keys: Sendable {
        var bytes: [UInt8]
        var ends: [Int]
        var rowSpans: [Int] = []
    }

    struct RowError: Error, Sendable {
        let line: Int  // 1 = the first line of the range
        let message: String
    }

    /// The records in `[from, to)`.
    ///
    /// Each numeric field is a decimal number as Retain writes them ("-12.5", "3",
    /// "0.333333333"), or empty (NaN). It is scanned and converted in one pass over its
    /// bytes (digits gathered while looking for the delimiter): with at most 15
    /// significant digits the value is m / 10^k with both exact doubles, so the one
    /// division is correctly rounded, as `strtod` would give; longer or other forms
    /// (exponents) go to `strtod`. Each value is stored by row into its column's plain
    /// buffer: appending to an array of arrays checked both arrays' uniqueness per value.
    static func parseRows(_ b: UnsafeRawBufferPointer, from: Int, to n: Int, header: [String],
                          into columns: [UnsafeMutablePointer<Double>], at first: Int, capacity count: Int,
                          keepingRows: Bool = false) -> Result<Keys, RowError> {
        let p = header.count - 1
        guard let base = b.baseAddress, from < n else { return .success(Keys(bytes: [], ends: [])) }
        let buffers = columns.map { $0 + first }
        var i = from
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity((n - from) / 4)
        var keyEnds: [Int] = []
        keyEnds.reserveCapacity(count)
        var rowSpans: [Int] = []
        if keepingRows { rowSpans.reserveCapacity(2 * count) }
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), minus = UInt8(ascii: "-"), point = UInt8(ascii: ".")
        @inline(__always) func at(_ j: Int) -> UInt8 { base.load(fromByteOffset: j, as: UInt8.self) }
        var line = 0
        var row = 0
        while i < n {
            line += 1
            // Key field, possibly quoted (quotes may enclose commas and newlines).
            let start = i
            if at(i) == quote {
                i += 1
                while true {
                    guard i < n else { return .failure(RowError(line: line, message: "a quoted customer_id is not closed")) }
                    let c = at(i)
                    if c == 0x0A { line += 1 }
                    if c == quote {
                        if i + 1 < n && at(i + 1) == quote { i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
            } else {
                while i < n { let c = at(i); if c == comma || c == 0x0A || c == 0x0D { break }; i += 1 }
            }
            keyBytes.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: i - start))
            keyEnds.append(keyBytes.count)
            let fieldsStart = i
            guard row < count else { return .failure(RowError(line: line, message: "more records than lines")) }
            for c in 0..<p {
                guard i < n, at(i) == comma else {
                    return .failure(RowError(line: line, message: "has \(c + 1) fields, the header \(header.count)"))
                }
                i += 1
                let fieldStart = i
                // The usual form, [-]digits[.digits] ended by a delimiter, in tight loops
                // (eight digits at a time where eight follow); anything else, or more than 19
                // digits, or a mantissa past 2^53, is read again by `strtod`.
                var m: UInt64 = 0
                var count = 0, fraction = 0
                var negative = false
                if i < n && at(i) == minus { negative = true; i += 1 }
                Self.digits(base, &i, n, &m, &count)
                if i < n && at(i) == point {
                    i += 1
                    let before = count
                    Self.digits(base, &i, n, &m, &count)
                    fraction = count - before
                }
                let ended = i >= n || at(i) == comma || at(i) == 0x0A || at(i) == 0x0D
                let value: Double?
                if ended && count > 0 && count <= 19 && m <= 1 << 53 && fraction <= 22 {
                    let v = Double(m) / FixedPoint.pow10(fraction)
                    value = negative ? -v : v
                } else if ended && i == fieldStart {
                    value = .nan  // an empty field
                } else {
                    while i < n { let c = at(i); if c == comma || c == 0x0A || c == 0x0D { break }; i += 1 }
                    value = slowParse(UnsafeRawBufferPointer(start: base + fieldStart, count: i - fieldStart))
                }
                let field = UnsafeRawBufferPointer(start: base + fieldStart, count: i - fieldStart)
                guard let v = value else {
                    let text = String(decoding: field, as: UTF8.self)
                    return .failure(RowError(line: line, message: "column \(c + 2) (\(header[c + 1])) holds '\(text)', not a number"))
                }
                buffers[c][row] = v
            }
            if keepingRows { rowSpans.append(fieldsStart); rowSpans.append(i) }
            if i < n && at(i) == 0x0D { i += 1 }
            guard i >= n || at(i) == 0x0A else {
                return .failure(RowError(line: line, message: "has more fields than the header's \(header.count)"))
            }
            i += 1
            row += 1
        }
        return .success(Keys(bytes: keyBytes, ends: keyEnds, rowSpans: rowSpans))
    }

    /// Consumes decimal digits from `i`, accumulating them into `m` (wrapping past 19
    /// digits, which the caller refuses by `count`): eight at a time while eight digits
    /// follow (one 64-bit load, a check and three multiplies), then one at a time.
    @inline(__always) static func digits(_ base: UnsafeRawPointer, _ i: inout Int, _ n: Int, _ m: inout UInt64, _ count: inout Int) {
        while i + 8 <= n {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            // All eight bytes are '0'...'9': each high nibble is 3 and adding 6 does not carry into it.
            guard (word & 0xF0F0_F0F0_F0F0_F0F0) | (((word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4) == 0x3333_3333_3333_3333
            else { break }
            var v = word & 0x0F0F_0F0F_0F0F_0F0F
            v = (v &* 2561) >> 8                                        // pairs: 10·a + b
            v = ((v & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16           // fours
            v = ((v & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32  // eight
            m = m &* 100_000_000 &+ v
            count += 8
            i += 8
        }
        while i < n {
            let d = base.load(fromByteOffset: i, as: UInt8.self) &- 0x30
            guard d < 10 else { break }
            m = m &* 10 &+ UInt64(d)
            count += 1
            i += 1
        }
    }

    static func slowParse(_ f: UnsafeRawBufferPointer) -> Double? {
        var text = Array(f)
        text.append(0)
        return text.withUnsafeBufferPointer { t -> Double? in
            guard let base = t.baseAddress else { return nil }
            return base.withMemoryRebound(to: CChar.self, capacity: t.count) { c -> Double? in
                var end: UnsafeMutablePointer<CChar>? = nil
                let v = strtod(c, &end)
                guard let e = end, e == c + (t.count - 1) else { return nil }
                return v
            }
        }
    }
}
