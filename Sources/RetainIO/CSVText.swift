/// Writing CSV text fields the way docs/CONTRACT.md promises: RFC 4180 quoting, UTF-8, and
/// safe to open in a spreadsheet.
public enum CSVText {
    /// Appends `bytes` as one RFC 4180 field: quoted when it holds a comma, quote, CR or
    /// LF, with inner quotes doubled. With `neutralise`, a value that begins with `=`,
    /// `+`, `-`, `@`, tab or CR gets a leading `'` (OWASP's advice against CSV injection)
    /// so a spreadsheet shows it as text and never evaluates it. Use it for every text
    /// value that came from outside (ids, channels, raw rejected lines), never for numbers.
    /// Invalid UTF-8 is written as U+FFFD so the file stays valid UTF-8.
    public static func appendField(_ bytes: UnsafeRawBufferPointer, to out: OutputBuffer, neutralise: Bool = true) throws {
        try escape(bytes, neutralise: neutralise) { try out.append($0) }
    }

    /// The field as bytes (for small values outside hot loops).
    public static func field(_ s: String, neutralise: Bool = true) -> [UInt8] {
        var result: [UInt8] = []
        var s = s
        s.withUTF8 { u in escape(UnsafeRawBufferPointer(u), neutralise: neutralise) { result.append(contentsOf: $0) } }
        return result
    }

    /// The one implementation of quoting and neutralising; `emit` receives the pieces.
    public static func escape(_ bytes: UnsafeRawBufferPointer, neutralise: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let needsPrefix = neutralise && bytes.first.map(isFormulaStart) == true
        var needsQuotes = needsPrefix  // a quoted prefix keeps the value one text cell
        var ascii = true
        for b in bytes {
            if b == UInt8(ascii: ",") || b == UInt8(ascii: "\"") || b == 0x0A || b == 0x0D { needsQuotes = true }
            if b >= 0x80 { ascii = false }
        }
        if !ascii && !isValidUTF8(bytes) {
            var repaired = Array(String(decoding: bytes, as: UTF8.self).utf8)
            try repaired.withUnsafeMutableBytes { b in try escape(UnsafeRawBufferPointer(b), neutralise: neutralise, emit: emit) }
            return
        }
        if !needsQuotes { try emit(bytes); return }
        try withUnsafeBytes(of: UInt8(ascii: "\"")) { try emit($0) }
        if needsPrefix { try withUnsafeBytes(of: UInt8(ascii: "'")) { try emit($0) } }
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\"") {
            try emit(UnsafeRawBufferPointer(rebasing: bytes[start...i]))
            try withUnsafeBytes(of: UInt8(ascii: "\"")) { try emit($0) }
            start = i + 1
        }
        try emit(UnsafeRawBufferPointer(rebasing: bytes[start...]))
        try withUnsafeBytes(of: UInt8(ascii: "\"")) { try emit($0) }
    }

    public static func appendField(_ s: String, to out: OutputBuffer, neutralise: Bool = true) throws {
        var s = s
        try s.withUTF8 { u throws in try appendField(UnsafeRawBufferPointer(u), to: out, neutralise: neutralise) }
    }

    /// Appends a header line from column names (plain identifiers, never neutralised).
    public static func appendHeader(_ names: [String], to out: OutputBuffer) throws {
        try out.append(names.joined(separator: ","))
        try out.append(byte: 0x0A)
    }

    /// A field as `escape` wrote it, back to the value: quotes removed, doubled quotes
    /// halved and a neutralising `'` taken off again.
    public static func decode(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.first == UInt8(ascii: "\""), raw.count >= 2 else { return String(decoding: raw, as: UTF8.self) }
        let inner = raw.dropFirst().dropLast()
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var j = inner.startIndex
        while j < inner.endIndex {
            out.append(inner[j])
            j += (inner[j] == UInt8(ascii: "\"") && j + 1 < inner.endIndex && inner[j + 1] == UInt8(ascii: "\"")) ? 2 : 1
        }
        if out.count >= 2, out[0] == UInt8(ascii: "'"), isFormulaStart(out[1]) { out.removeFirst() }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always) static func isFormulaStart(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "=") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "@") || b == 0x09 || b == 0x0D
    }

    public static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

/// Reading small RFC 4180 files whole (side files such as a list of strategic accounts):
/// quoted fields may hold commas, doubled quotes and newlines; CRLF or LF.
public enum CSVRecords {
    /// The records of `bytes`, each with the line it starts on; blank lines are skipped.
    /// nil with the line of the problem when a quoted field is never closed.
    public static func parse(_ bytes: [UInt8]) -> Result<[(line: Int, fields: [String])], UnclosedQuote> {
        var records: [(Int, [String])] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var i = 0
        var quoted = false, fieldStarted = false
        func endField() { fields.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true); fieldStarted = false }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields.removeAll()
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 2; continue }
                    quoted = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\"") where !fieldStarted: quoted = true; fieldStarted = true
            case UInt8(ascii: ","): endField()
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A: break
            case 0x0A:
                endRecord()
                line += 1
                recordLine = line
            default: field.append(b); fieldStarted = true
            }
            i += 1
        }
        if quoted { return .failure(UnclosedQuote(line: recordLine)) }
        if fieldStarted || !fields.isEmpty || !field.isEmpty { endRecord() }
        return .success(records)
    }

    public struct UnclosedQuote: Error, Sendable { public let line: Int }
}
