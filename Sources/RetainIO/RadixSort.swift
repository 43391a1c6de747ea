/// A stable sort of 64-bit keys, for the few large sorts of a run (customer ids by their
/// first bytes, predictions for the AUC).
///
/// Least-significant byte first, one counting pass per byte, after one pass that counts
/// every byte at once; a byte all keys share (the leading letters of an id scheme, the
/// exponent bits of probabilities near each other) is skipped. At a million keys this is
/// a few sequential passes, where a comparison sort makes twenty rounds of compares
/// through a closure.
public enum RadixSort {
    /// The keys, ascending, each with the index it had; equal keys keep their order.
    public static func sorted(_ keys: [UInt64]) -> [(key: UInt64, index: Int32)] {
        keys.withUnsafeBufferPointer { k in sorted(count: k.count) { k[$0] } }
    }

    /// As `sorted(_:)`, key i given by `key(i)` for i in 0..<count (no array of the keys
    /// is made first).
    public static func sorted(count n: Int, key keyOf: (Int) -> UInt64) -> [(key: UInt64, index: Int32)] {
        var a = [(key: UInt64, index: Int32)](repeating: (0, 0), count: n)
        guard n > 1 else { return n == 1 ? [(key: keyOf(0), index: Int32(0))] : [] }
        var counts = [Int](repeating: 0, count: 8 * 256)
        counts.withUnsafeMutableBufferPointer { counts in
            for k in 0..<n {
                let key = keyOf(k)
                a[k] = (key, Int32(k))
                for byte in 0..<8 { counts[byte << 8 | Int((key >> UInt64(8 * byte)) & 0xFF)] += 1 }
            }
        }
        var b = a
        var next = [Int](repeating: 0, count: 256)
        a.withUnsafeMutableBufferPointer { src0 in
        b.withUnsafeMutableBufferPointer { dst0 in
            var src = src0, dst = dst0
            for byte in 0..<8 {
                let base = byte << 8
                if (0..<256).contains(where: { counts[base + $0] == n }) { continue }  // every key alike here
                var sum = 0
                for v in 0..<256 { next[v] = sum; sum += counts[base + v] }
                let shift = UInt64(8 * byte)
                for e in src {
                    let v = Int((e.key >> shift) & 0xFF)
                    dst[next[v]] = e
                    next[v] += 1
                }
                swap(&src, &dst)
            }
            if src.baseAddress != src0.baseAddress { _ = src0.update(fromContentsOf: src) }
        }}
        return a
    }

    /// A key whose unsigned order is the numeric order of `x` (-0 before +0; NaNs last).
    @inline(__always) public static func key(_ x: Double) -> UInt64 {
        let bits = x.bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }
}
