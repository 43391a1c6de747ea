import Foundation
/// Text for messages and the report, made in one place: input quoted so an error line stays
/// one readable line whatever the input holds, and the number formats.
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

    /// `x` with `digits` decimals; `n/a` when not finite.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "n/a"
    }

    /// A value already in percent, to at most two decimals: `2.92%`.
    public static func percent(_ p: Double) -> String {
        let r = (p * 100).rounded() / 100
        return "\(r)%"
    }

    /// A share (0 to 1) in percent, to at most one decimal: `10%`, `12.5%`. Rounded first:
    /// 1 - 0.9 is 0.0999..., shown as 10%.
    public static func sharePercent(_ share: Double) -> String {
        guard share.isFinite else { return "n/a" }
        let p = (share * 1000).rounded() / 10
        return p == p.rounded() ? String(format: "%.0f%%", p) : String(format: "%.1f%%", p)
    }

    /// `12,345` for counts.
    public static func grouped(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (k, c) in s.enumerated() {
            if k > 0 && (s.count - k) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    /// Seconds with two decimals: `1.25 s`.
    public static func seconds(_ t: Double) -> String { String(format: "%.2f s", t) }
}
