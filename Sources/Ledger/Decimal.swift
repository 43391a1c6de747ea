import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Decimal number parsing on bytes, with a configurable decimal mark.
///
/// Up to 19 significant digits are gathered as an integer m and the result is m / 10^k.
/// When m < 2^53 and k <= 22 both are exact doubles, so the single IEEE division is
/// correctly rounded: the same double `strtod` gives. Longer inputs fall back to `strtod`.
public enum Decimal {
    /// The value of `[+-]digits[mark digits]`, or `nil` if the text is anything else.
    @inline(__always)
    public static func parse(_ p: UnsafeRawPointer, count n: Int, mark: UInt8) -> Double? {
        guard n > 0 else { return nil }
        var i = 0
        var negative = false
        let first = p.load(as: UInt8.self)
        if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { negative = first == UInt8(ascii: "-"); i = 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenMark = false
        var significant = 0
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            let v = c &- 48
            if v <= 9 {
                digits += 1
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(v)
                    if mantissa > 0 { significant += 1 }
                    if seenMark { fraction += 1 }
                } else if !seenMark {
                    return slow(p, n, mark)
                }
            } else if c == mark && !seenMark {
                seenMark = true
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        guard mantissa < (1 << 53), fraction <= 22 else { return slow(p, n, mark) }
        let v = Double(mantissa) / pow10(fraction)
        return negative ? -v : v
    }

    /// 10^k for k in 0...22, exact; a switch, so no global table's lazy-initialisation
    /// check on every number.
    @inline(__always) static func pow10(_ k: Int) -> Double {
        switch k {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        default: return FixedPoint.powersOfTen[k]
        }
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

