/// A strict reader for the subset of TOML that pipeline files use: `[table]` and
/// `[a.b]` headers, `key = value` with bare or quoted keys, strings (basic and literal),
/// integers, floats, booleans and arrays (possibly over several lines), `#` comments.
///
/// Why not TOMLKit: pipeline errors must name the key *and its line* ("unknown key
/// input.delimter at line 7"), and TOMLKit reports positions only for syntax errors.
/// This reader keeps the line of every key; it rejects what it does not support
/// (inline tables, dates as bare values, arrays of tables) with a clear message.
struct TOMLReader {
    enum Value: Equatable, CustomStringConvertible {
        case string(String)
        case integer(Int)
        case float(Double)
        case bool(Bool)
        case array([Value])

        var typeName: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .float: return "a number"
            case .bool: return "true or false"
            case .array: return "an array"
            }
        }

        var description: String {
            switch self {
            case .string(let s): return "\"\(s)\""
            case .integer(let i): return String(i)
            case .float(let d): return String(d)
            case .bool(let b): return String(b)
            case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
            }
        }
    }

    struct Entry { let value: Value; let line: Int }

    /// Full dotted key ("input.columns.amount") to value and line.
    private(set) var entries: [String: Entry] = [:]
    /// Tables declared with a header, and the line of the header.
    private(set) var tables: [String: Int] = [:]

    private let file: String
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0

    init(file: String, text: [UInt8]) throws(PipelineError) {
        self.file = file
        self.bytes = text
        try parse()
    }

    private var column: Int { i - lineStart + 1 }

    private func fail(_ message: String) -> PipelineError {
        .syntax(file: file, line: line, column: column, message: message)
    }

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 { i += 1 }
    }

    private mutating func skipCommentAndNewline() throws(PipelineError) {
        skipSpaces()
        if peek == UInt8(ascii: "#") { while let c = peek, c != 0x0A { i += 1 } }
        if peek == 0x0D { i += 1 }
        guard let c = peek else { return }
        guard c == 0x0A else { throw fail("unexpected text after the value; put one key = value per line") }
        newline()
    }

    private mutating func newline() { i += 1; line += 1; lineStart = i }

    private mutating func parse() throws(PipelineError) {
        var table = ""
        while i < bytes.count {
            skipSpaces()
            guard let c = peek else { break }
            if c == 0x0A { newline(); continue }
            if c == 0x0D || c == UInt8(ascii: "#") { try skipCommentAndNewline(); continue }
            if c == UInt8(ascii: "[") {
                i += 1
                if peek == UInt8(ascii: "[") { throw fail("arrays of tables ([[...]]) are not supported in pipeline files") }
                skipSpaces()
                let key = try dottedKey()
                skipSpaces()
                guard peek == UInt8(ascii: "]") else { throw fail("expected ] to close the table header") }
                i += 1
                if tables[key] != nil { throw fail("table [\(key)] is declared twice (first at line \(tables[key] ?? 0))") }
                tables[key] = line
                table = key
                try skipCommentAndNewline()
                continue
            }
            let keyLine = line
            let key = try dottedKey()
            skipSpaces()
            guard peek == UInt8(ascii: "=") else { throw fail("expected = after key '\(key)'") }
            i += 1
            skipSpaces()
            let value = try parseValue()
            let full = table.isEmpty ? key : table + "." + key
            if let old = entries[full] { throw PipelineError.syntax(file: file, line: keyLine, column: 1, message: "key \(full) is set twice (first at line \(old.line))") }
            entries[full] = Entry(value: value, line: keyLine)
            try skipCommentAndNewline()
        }
    }

    private mutating func dottedKey() throws(PipelineError) -> String {
        var parts: [String] = []
        while true {
            skipSpaces()
            if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                guard case .string(let s) = try parseValue() else { throw fail("expected a key") }
                parts.append(s)
            } else {
                let start = i
                while let c = peek, isBareKey(c) { i += 1 }
                guard i > start else { throw fail("expected a key name (letters, digits, _ or -)") }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipSpaces()
            if peek == UInt8(ascii: ".") { i += 1; continue }
            return parts.joined(separator: ".")
        }
    }

    private func isBareKey(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
    }

    private mutating func parseValue() throws(PipelineError) -> Value {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""):
            i += 1
            var out: [UInt8] = []
            while true {
                guard let ch = peek, ch != 0x0A else { throw fail("string is not closed on this line") }
                i += 1
                if ch == UInt8(ascii: "\"") { break }
                if ch == UInt8(ascii: "\\") {
                    guard let e = peek else { throw fail("string is not closed") }
                    i += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v) else { throw fail("bad \\u escape") }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        i += 4
                    default: throw fail("unknown escape \\\(Character(Unicode.Scalar(e)))")
                    }
                } else {
                    out.append(ch)
                }
            }
            return .string(String(decoding: out, as: UTF8.self))
        case UInt8(ascii: "'"):
            i += 1
            let start = i
            while let ch = peek, ch != UInt8(ascii: "'") {
                guard ch != 0x0A else { throw fail("string is not closed on this line") }
                i += 1
            }
            guard peek != nil else { throw fail("string is not closed") }
            let s = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 1
            return .string(s)
        case UInt8(ascii: "["):
            let openedAt = line
            i += 1
            var items: [Value] = []
            while true {
                skipBlankInArray()
                if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
                items.append(try parseValue())
                skipBlankInArray()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                skipBlankInArray()
                guard peek == UInt8(ascii: "]") else { throw fail("expected , or ] in the array opened at line \(openedAt)") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "{"):
            throw fail("inline tables are not supported in pipeline files; use a [section]")
        default:
            let start = i
            while let ch = peek, ch != 0x0A, ch != 0x0D, ch != UInt8(ascii: ","), ch != UInt8(ascii: "]"),
                  ch != UInt8(ascii: "#"), ch != 0x20, ch != 0x09 { i += 1 }
            let word = String(decoding: bytes[start..<i], as: UTF8.self)
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            let plain = word.replacingUnderscores()
            if let v = Int(plain) { return .integer(v) }
            if plain.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(plain), d.isFinite { return .float(d) }
            if word.isEmpty { throw fail("expected a value") }
            throw fail("'\(word)' is not a value; put text in quotes (\"\(word)\")")
        }
    }

    private mutating func skipBlankInArray() {
        while let c = peek {
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1 }
            else if c == 0x0A { newline() }
            else if c == UInt8(ascii: "#") { while let d = peek, d != 0x0A { i += 1 } }
            else { break }
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
