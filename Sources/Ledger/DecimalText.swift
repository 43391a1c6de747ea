import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Decimal number parsing on bytes, with a configurable decimal mark.
///
/// Up to 19 significant digits are gathered as an integer m and the result is m / 10^k.
/// When m < 2^53 and k <= 22 both are exact doubles, so the single IEEE division is
/// correctly rounded: the same double `strtod` gives. Longer inputs fall back to `strtod`.
public enum DecimalText {
    /// The value of `[+-]digits[mark digits]`, or `nil` if the text is anything else.
    /// Two tight loops (integer part, then fraction) and one length check up front: with at
    /// most 19 digits the integer cannot overflow, so no per-digit bookkeeping is needed.
    @inline(__always)
    public static func parse(_ p: UnsafeRawPointer, count n: Int, mark: UInt8) -> Double? {
        guard n > 0 else { return nil }
        var i = 0
        let first = p.load(as: UInt8.self)
        let negative = first == UInt8(ascii: "-")
        if negative || first == UInt8(ascii: "+") { i = 1 }
        guard n - i <= 20 else { return slow(p, n, mark) }  // 19 digits and a mark
        var m: UInt64 = 0
        let intStart = i
        while i < n {
            let v = p.load(fromByteOffset: i, as: UInt8.self) &- 48
            if v > 9 { break }
            m = m &* 10 &+ UInt64(v)
            i += 1
        }
        var digits = i - intStart
        var fraction = 0
        if i < n {
            guard p.load(fromByteOffset: i, as: UInt8.self) == mark else { return nil }
            i += 1
            let fracStart = i
            while i < n {
                let v = p.load(fromByteOffset: i, as: UInt8.self) &- 48
                guard v <= 9 else { return nil }
                m = m &* 10 &+ UInt64(v)
                i += 1
            }
            fraction = i - fracStart
            digits += fraction
        }
        guard digits > 0 else { return nil }
        guard digits <= 19, m < (1 << 53) else { return slow(p, n, mark) }
        let v = Double(m) / FixedPoint.pow10(fraction)
        return negative ? -v : v
    }

    private static func slow(_ p: UnsafeRawPointer, _ n: Int, _ mark: UInt8) -> Double? {
        guard n < 64 else { return nil }
        var buf = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buf) { b -> Double? in
            for k in 0..<n {
                let c = p.load(fromByteOffset: k, as: UInt8.self)
                b[k] = c == mark ? UInt8(ascii: ".") : c
            }
            b[n] = 0
            let start = b.baseAddress!.assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(start, &end)
            guard let e = end, e - start == n, v.isFinite else { return nil }
            return v
        }
    }
}


extension DecimalText {
    /// The text `parse` accepts, as a regular expression (the syntax Java and ICU share):
    /// an optional sign, digits, and at most one decimal mark, with a digit somewhere.
    public static func regularExpression(mark: UInt8) -> String {
        let m = "\\x" + (mark < 16 ? "0" : "") + String(mark, radix: 16)
        return "^[+-]?(?:[0-9]+(?:\(m)[0-9]*)?|\(m)[0-9]+)$"
    }
}
