/// Input quoted in a message: an error line stays one readable line whatever the input
/// holds (a file of carriage returns once echoed itself in an error of 777 KB).
public enum MessageText {
    /// At most `limit` bytes of `s`, cut at a character boundary and marked `...` when cut;
    /// line breaks, tabs and other control characters shown as escapes (`\r`, `\u{0}`).
    public static func excerpt(_ s: String, limit: Int = 200) -> String {
        var out = ""
        var bytes = 0
        for scalar in s.unicodeScalars {
            let shown: String
            switch scalar {
            case "\n": shown = "\\n"
            case "\r": shown = "\\r"
            case "\t": shown = "\\t"
            default: shown = scalar.value < 0x20 || scalar.value == 0x7F ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
            }
            let n = shown.utf8.count
            if bytes + n > limit { return out + "..." }
            out += shown
            bytes += n
        }
        return out
    }
}
