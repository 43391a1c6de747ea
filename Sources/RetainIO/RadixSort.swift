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

    /// The indices 0..<count in ascending order of `key(i)`, equal keys in index order
    /// (as `sorted(count:key:)`'s indices), for count < 2³¹.
    ///
    /// Memory is two indices a key (8 bytes), not two (key, index) pairs (32): the range of
    /// keys is cut into 256 buckets by its leading bits, the indices placed bucket by
    /// bucket in index order, and each bucket sorted alone (its keys fetched once into a
    /// small array of pairs, by insertion when tiny, by `sorted` up to 65,536 keys, else
    /// cut again). Keys are asked for in each pass, so `key` should be cheap.
    public static func order(count n: Int, key keyOf: (Int) -> UInt64) -> [Int32] {
        var out = [Int32](unsafeUninitializedCapacity: n) { o, initialized in
            for i in 0..<n { o[i] = Int32(truncatingIfNeeded: i) }
            initialized = n
        }
        out.withUnsafeMutableBufferPointer { order(of: $0, key: keyOf) }
        return out
    }

    /// Sorts `indices` (in ascending index order on entry) stably by their keys.
    private static func order(of indices: UnsafeMutableBufferPointer<Int32>, key keyOf: (Int) -> UInt64) {
        let m = indices.count
        guard m > 1 else { return }
        var local: [(key: UInt64, index: Int32)] = []
        if m <= 1 << 16 { sortAlone(indices, key: keyOf, local: &local); return }
        var lo = UInt64.max, hi = UInt64.min
        for k in 0..<m { let v = keyOf(Int(indices[k])); lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        guard lo < hi else { return }  // every key alike: index order is the order
        // 256 buckets: the placing pass writes to few places at once (cache lines and pages
        // stay hot); a bucket still larger than `sorted` takes is cut again.
        let shift = UInt64(Swift.max(0, (64 - (hi - lo).leadingZeroBitCount) - 8))
        let buckets = Int((hi - lo) >> shift) + 1
        var starts = [Int](repeating: 0, count: buckets + 1)
        for k in 0..<m { starts[Int((keyOf(Int(indices[k])) - lo) >> shift) + 1] += 1 }
        for b in 0..<buckets { starts[b + 1] += starts[b] }
        do {
            var next = starts
            let placed = [Int32](unsafeUninitializedCapacity: m) { t, initialized in
                for k in 0..<m {
                    let b = Int((keyOf(Int(indices[k])) - lo) >> shift)
                    t[next[b]] = indices[k]
                    next[b] += 1
                }
                initialized = m
            }
            _ = indices.update(fromContentsOf: placed)
        }  // `placed` is freed here, before the buckets are sorted
        for b in 0..<buckets {
            let range = starts[b]..<starts[b + 1]
            guard range.count > 1 else { continue }
            let bucket = UnsafeMutableBufferPointer(rebasing: indices[range])
            if range.count > 1 << 16 { order(of: bucket, key: keyOf) } else { sortAlone(bucket, key: keyOf, local: &local) }
        }
    }

    /// Sorts up to 65,536 `indices` stably by their keys: each key fetched once into `local`
    /// (the indices are scattered over the keys, so a fetch is a cache miss; its capacity is
    /// kept for the next bucket), sorted there, and the indices written back.
    private static func sortAlone(_ indices: UnsafeMutableBufferPointer<Int32>, key keyOf: (Int) -> UInt64,
                                  local: inout [(key: UInt64, index: Int32)]) {
        local.removeAll(keepingCapacity: true)
        for i in indices { local.append((keyOf(Int(i)), i)) }
        if local.count <= 32 {  // insertion sort: stable, no allocation
            for k in 1..<local.count {
                let moving = local[k]
                var j = k
                while j > 0 && local[j - 1].key > moving.key { local[j] = local[j - 1]; j -= 1 }
                local[j] = moving
            }
            for (j, e) in local.enumerated() { indices[j] = e.index }
        } else {
            let byKey = local.withUnsafeBufferPointer { l in sorted(count: l.count) { l[$0].key } }
            for (j, e) in byKey.enumerated() { indices[j] = local[Int(e.index)].index }
        }
    }

    /// A key whose unsigned order is the numeric order of `x` (-0 before +0; NaNs last).
    @inline(__always) public static func key(_ x: Double) -> UInt64 {
        let bits = x.bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }
}
