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

    /// `parse` for text with at least 8 readable bytes from `p` (the ingest block keeps
    /// slack after its data), in one word and without a loop per digit when the number has
    /// at most 8 characters after its sign, as amounts and quantities do. The digits gather
    /// into the same integer m and the same power of ten divides it, so the double is
    /// exactly `parse`'s (tested against it); anything longer goes to `parse`.
    ///
    /// Why: a loop per digit ends on a length that changes from field to field, a branch
    /// the processor guesses wrong about once a number; five numbers a row made that about
    /// a tenth of ingest's CPU.
    @inline(__always)
    public static func parseShort(_ p: UnsafeRawPointer, count n: Int, mark: UInt8) -> Double? {
        var q = p, len = n
        var negative = false
        if len > 0 {
            let first = q.load(as: UInt8.self)
            if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { negative = first == UInt8(ascii: "-"); q += 1; len -= 1 }
        }
        guard len > 0 && len <= 8 else { return parse(p, count: n, mark: mark) }
        let keep: UInt64 = len == 8 ? ~0 : (UInt64(1) << UInt64(8 &* len)) &- 1
        let w = UInt64(littleEndian: q.loadUnaligned(as: UInt64.self)) & keep
        // A nonzero byte where the character is not '0'...'9': its high nibble is not 3, or
        // its low nibble plus 6 carries (no carry crosses a byte: at most 0x0F + 6).
        let notDigit = (((w & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030)
            | (((w & 0x0F0F_0F0F_0F0F_0F0F) &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0)) & keep
        var digits = w, count = len, fraction = 0
        if notDigit != 0 {
            // The first non-digit must be the mark, and the only one; it is cut out.
            let shift = UInt64(notDigit.trailingZeroBitCount & ~7)
            guard (w >> shift) & 0xFF == UInt64(mark), (notDigit >> shift) >> 8 == 0 else { return nil }
            digits = (w & ((UInt64(1) << shift) &- 1)) | (((w >> shift) >> 8) << shift)
            count = len &- 1
            fraction = count &- Int(shift >> 3)
            guard count > 0 else { return nil }
        }
        // Right-aligned as an 8-digit number (leading zeros), then combined in pairs, fours
        // and eight (as `CSVTable.digits`).
        var v = (digits & 0x0F0F_0F0F_0F0F_0F0F) << UInt64(8 &* (8 &- count))
        v = (v &* 2561) >> 8
        v = ((v & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        v = ((v & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
        let x = Double(v) / FixedPoint.pow10(fraction)
        return negative ? -x : x
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

