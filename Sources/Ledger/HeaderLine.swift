/// Splits a header line into trimmed column names.
enum HeaderLine {
    static func split(_ line: String, delimiter: Delimiter) -> [String] {
        switch delimiter {
        case .whitespace:
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        case .byte(let d):
            var names: [String] = []
            var current = ""
            var quoted = false
            var chars = Array(line.unicodeScalars)[...]
            while let c = chars.popFirst() {
                if quoted {
                    if c == "\"" {
                        if chars.first == "\"" { current.unicodeScalars.append("\""); chars.removeFirst() } else { quoted = false }
                    } else { current.unicodeScalars.append(c) }
                } else if c == "\"" && current.isEmpty {
                    quoted = true
                } else if c.value == UInt32(d) {
                    names.append(current.trimmingSpaces()); current = ""
                } else {
                    current.unicodeScalars.append(c)
                }
            }
            names.append(current.trimmingSpaces())
            return names
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
