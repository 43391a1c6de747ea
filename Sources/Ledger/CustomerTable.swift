import CSupport
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// The customer table of the ingest hot loop: open addressing, no per-row allocation,
/// linear probing, power-of-two capacity kept at most half full. It is memory-latency
/// bound (1.4 M customers in random order touch a table far larger than L2), so callers
/// look keys up in groups: `touch` (prefetch) the slots of a group first so the cache
/// misses overlap, then look up (see `Ingestor`'s pass 2).
/// Maps customer-id bytes to a dense local index.
///
/// An entry is 32 bytes: hash, index, length, and the id itself when it is at most 16
/// bytes (typical ids), so a hit is confirmed inside the one cache line the probe already
/// touched. Longer ids are confirmed against the arena. Either way two different ids never
/// merge, even if their 64-bit hashes collide.
final class CustomerTable: @unchecked Sendable {
    struct Entry {
        var hash: UInt64
        var index: UInt32
        var length: UInt32
        var inline0: UInt64
        var inline1: UInt64
    }

    private var entries: UnsafeMutablePointer<Entry>
    private var mask: Int
    private(set) var count = 0
    /// Id bytes of index i are `arena[offsets[i] ..< offsets[i + 1]]`.
    private(set) var arena: [UInt8] = []
    private(set) var offsets: [UInt32] = [0]

    init(expected: Int = 1 << 16) {
        var cap = 1024
        while cap < expected * 2 { cap <<= 1 }
        entries = ZeroedMemory.allocate(Entry.self, count: cap)
        mask = cap - 1
        arena.reserveCapacity(expected * 8)
        offsets.reserveCapacity(expected + 1)
    }

    deinit { ZeroedMemory.free(entries, count: mask + 1) }

    /// Prefetches the home slot of `hash` so a later `index(of:)` finds it in cache.
    @inline(__always) func touch(_ hash: UInt64) {
        retain_prefetch(entries + (Int(truncatingIfNeeded: hash >> 1) & mask))
    }

    /// The first 16 bytes of an id, zero-padded, as two words. With `readAhead`, the 16
    /// bytes from `p` may be read (the ingest block keeps slack after its data), so two
    /// word loads and masks replace a byte copy.
    @inline(__always) static func inlineWords(_ p: UnsafeRawPointer, _ n: Int, readAhead: Bool) -> (UInt64, UInt64) {
        if readAhead {
            var w0 = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            var w1 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            if n < 8 { w0 &= (UInt64(1) << UInt64(8 * n)) &- 1; w1 = 0 }
            else if n < 16 { w1 &= (UInt64(1) << UInt64(8 * (n - 8))) &- 1 }
            return (w0, w1)
        }
        var w: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &w) { b in
            for k in 0..<min(n, 16) { b[k] = p.load(fromByteOffset: k, as: UInt8.self) }
        }
        return (UInt64(littleEndian: w.0), UInt64(littleEndian: w.1))
    }

    /// The index of the id at `p` (inserting it if new). `hash` must be its XXH64.
    @inline(__always)
    func index(of p: UnsafeRawPointer, count n: Int, hash: UInt64, readAhead: Bool = false) -> UInt32 {
        let h = hash == 0 ? 1 : hash  // 0 marks an empty entry
        let (w0, w1) = Self.inlineWords(p, n, readAhead: readAhead)
        var i = Int(truncatingIfNeeded: h >> 1) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 { break }
            if e.hash == h && Int(e.length) == n && e.inline0 == w0 && e.inline1 == w1
                && (n <= 16 || equalTail(Int(e.index), p, n)) {
                return e.index
            }
            i = (i + 1) & mask
        }
        let idx = UInt32(count)
        entries[i] = Entry(hash: h, index: idx, length: UInt32(n), inline0: w0, inline1: w1)
        arena.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        offsets.append(UInt32(truncatingIfNeeded: arena.count))
        count += 1
        if count * 2 > mask + 1 { grow() }
        return idx
    }

    /// Grows once to hold `expected` ids without further rehashing.
    func reserve(_ expected: Int) {
        while (mask + 1) < expected * 2 { grow() }
    }

    private func equalTail(_ idx: Int, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        let start = Int(offsets[idx])
        return arena.withUnsafeBytes { a in
            guard let base = a.baseAddress else { return false }
            return memcmp(base + start, p, n) == 0
        }
    }

    private func grow() {
        let oldCap = mask + 1
        let old = entries
        let cap = oldCap * 2
        entries = ZeroedMemory.allocate(Entry.self, count: cap)
        mask = cap - 1
        for k in 0..<oldCap where old[k].hash != 0 {
            var i = Int(truncatingIfNeeded: old[k].hash >> 1) & mask
            while entries[i].hash != 0 { i = (i + 1) & mask }
            entries[i] = old[k]
        }
        ZeroedMemory.free(old, count: oldCap)
    }
}
