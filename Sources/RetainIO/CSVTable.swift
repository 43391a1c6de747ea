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

    public var count: Int { keyEnds.count }

    public init(path: String, keyName: String, names: [String], columns: [[Double]], keyBytes: [UInt8], keyEnds: [Int]) {
        self.path = path; self.keyName = keyName; self.names = names; self.columns = columns
        self.keyBytes = keyBytes; self.keyEnds = keyEnds
    }

    /// The column called `name`, if the file has it.
    public func column(_ name: String) -> [Double]? {
        names.firstIndex(of: name).map { columns[$0] }
    }

    /// The raw (escaped) key field of row `i`, ready to be copied into another CSV.
    public func rawKey(_ i: Int) -> ArraySlice<UInt8> {
        keyBytes[(i == 0 ? 0 : keyEnds[i - 1])..<keyEnds[i]]
    }

    /// The key of row `i` as the input had it: quotes removed and a neutralising `'`
    /// (see `CSVText`) taken off again.
    public func key(_ i: Int) -> String {
        var raw = Array(rawKey(i))
        if raw.first == UInt8(ascii: "\""), raw.count >= 2 {
            raw = Array(raw[1..<(raw.count - 1)])
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var j = 0
            while j < raw.count {
                out.append(raw[j])
                j += (raw[j] == UInt8(ascii: "\"") && j + 1 < raw.count && raw[j + 1] == UInt8(ascii: "\"")) ? 2 : 1
            }
            if out.count >= 2, out[0] == UInt8(ascii: "'"), CSVText.isFormulaStart(out[1]) { out.removeFirst() }
            raw = out
        }
        return String(decoding: raw, as: UTF8.self)
    }

    /// Reads `path`. Every row must have the header's number of fields and every numeric
    /// field must be empty or a decimal number; anything else is `IOError.malformed` with
    /// its line and column, because these files are written by Retain and read back as is.
    public static func read(_ path: String) throws -> CSVTable {
        let bytes = try FilePath.readAll(path)
        return try bytes.withUnsafeBytes { try parse($0, path: path) }
    }

    static func parse(_ b: UnsafeRawBufferPointer, path: String) throws -> CSVTable {
        let n = b.count
        // Header: plain identifiers separated by commas.
        var i = 0
        while i < n && b[i] != 0x0A { i += 1 }
        guard i < n else { throw IOError.malformed(path: path, line: 1, message: "no header line") }
        let headerEnd = i > 0 && b[i - 1] == 0x0D ? i - 1 : i
        let header = String(decoding: UnsafeRawBufferPointer(rebasing: b[0..<headerEnd]), as: UTF8.self)
            .split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard header.count >= 1 else { throw IOError.malformed(path: path, line: 1, message: "empty header") }
        i += 1
        let p = header.count - 1
        // Rows are counted first so every array is allocated once.
        var rows = 0
        for k in i..<n where b[k] == 0x0A { rows += 1 }
        var columns = [[Double]](repeating: [], count: p)
        for c in 0..<p { columns[c].reserveCapacity(rows) }
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity(n / 4)
        var keyEnds: [Int] = []
        keyEnds.reserveCapacity(rows)
        var line = 1
        while i < n {
            line += 1
            // Key field, possibly quoted (quotes may enclose commas and newlines).
            let start = i
            if b[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < n else { throw IOError.malformed(path: path, line: line, message: "a quoted customer_id is not closed") }
                    if b[i] == 0x0A { line += 1 }
                    if b[i] == UInt8(ascii: "\"") {
                        if i + 1 < n && b[i + 1] == UInt8(ascii: "\"") { i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
            } else {
                while i < n && b[i] != UInt8(ascii: ",") && b[i] != 0x0A && b[i] != 0x0D { i += 1 }
            }
            keyBytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<i]))
            keyEnds.append(keyBytes.count)
            for c in 0..<p {
                guard i < n, b[i] == UInt8(ascii: ",") else {
                    throw IOError.malformed(path: path, line: line, message: "has \(c + 1) fields, the header \(header.count)")
                }
                i += 1
                let fieldStart = i
                while i < n && b[i] != UInt8(ascii: ",") && b[i] != 0x0A && b[i] != 0x0D { i += 1 }
                guard let v = parseNumber(UnsafeRawBufferPointer(rebasing: b[fieldStart..<i])) else {
                    let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[fieldStart..<i]), as: UTF8.self)
                    throw IOError.malformed(path: path, line: line, message: "column \(c + 2) (\(header[c + 1])) holds '\(text)', not a number")
                }
                columns[c].append(v)
            }
            if i < n && b[i] == 0x0D { i += 1 }
            guard i >= n || b[i] == 0x0A else {
                throw IOError.malformed(path: path, line: line, message: "has more fields than the header's \(header.count)")
            }
            i += 1
        }
        return CSVTable(path: path, keyName: header[0], names: Array(header.dropFirst()), columns: columns,
                        keyBytes: keyBytes, keyEnds: keyEnds)
    }

    /// A decimal number as Retain writes them ("-12.5", "3", "0.333333333"); empty = NaN.
    /// With at most 15 significant digits the value is m / 10^k with both exact doubles,
    /// so the one division is correctly rounded, as `strtod` would give; longer or
    /// exponent forms go to `strtod`.
    @inline(__always) static func parseNumber(_ f: UnsafeRawBufferPointer) -> Double? {
        if f.isEmpty { return .nan }
        var j = 0
        var negative = false
        if f[0] == UInt8(ascii: "-") { negative = true; j = 1 }
        var m: UInt64 = 0
        var digits = 0, fraction = 0
        var seenPoint = false, anyDigit = false
        while j < f.count {
            let c = f[j]
            if c &- 0x30 < 10 {
                anyDigit = true
                if digits > 0 || c != 0x30 { digits += 1 }
                m = m &* 10 &+ UInt64(c &- 0x30)
                if seenPoint { fraction += 1 }
            } else if c == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return slowParse(f)
            }
            j += 1
        }
        guard anyDigit else { return nil }
        guard digits <= 15, fraction <= 22 else { return slowParse(f) }
        let v = Double(m) / FixedPoint.powersOfTen[fraction]
        return negative ? -v : v
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
