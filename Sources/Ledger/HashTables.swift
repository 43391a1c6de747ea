#if canImport(Glibc)
import Glibc
#endif

/// Open-addressing tables for the ingest hot loop: no per-row allocation, linear probing,
/// power-of-two capacity kept at most half full.

/// Maps customer-id bytes to a dense local index, storing each id once in an arena.
///
/// Entries are 16 bytes (hash, index) in one array so a probe touches one cache line;
/// a hit is confirmed by comparing the bytes, so two ids never merge even if their
/// 64-bit hashes collide.
final class CustomerTable: @unchecked Sendable {
    private var entries: UnsafeMutablePointer<(hash: UInt64, index: UInt32, pad: UInt32)>
    private var mask: Int
    private(set) var count = 0
    /// Id bytes of index i are `arena[offsets[i] ..< offsets[i + 1]]`.
    private(set) var arena: [UInt8] = []
    private(set) var offsets: [UInt32] = [0]

    init(expected: Int = 1 << 16) {
        var cap = 1024
        while cap < expected * 2 { cap <<= 1 }
        entries = .allocate(capacity: cap)
        entries.initialize(repeating: (0, 0, 0), count: cap)
        mask = cap - 1
        arena.reserveCapacity(expected * 8)
        offsets.reserveCapacity(expected + 1)
    }

    deinit { entries.deallocate() }

    /// The index of the id at `p` (inserting it if new). `hash` must be its XXH64.
    @inline(__always)
    func index(of p: UnsafeRawPointer, count n: Int, hash: UInt64) -> UInt32 {
        let h = hash == 0 ? 1 : hash  // 0 marks an empty entry
        var i = Int(truncatingIfNeeded: h >> 1) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 { break }
            if e.hash == h && equal(Int(e.index), p, n) { return e.index }
            i = (i + 1) & mask
        }
        let idx = UInt32(count)
        entries[i] = (h, idx, 0)
        arena.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n))
        offsets.append(UInt32(arena.count))
        count += 1
        if count * 2 > mask + 1 { grow() }
        return idx
    }

    @inline(__always) private func equal(_ idx: Int, _ p: UnsafeRawPointer, _ n: Int) -> Bool {
        let start = Int(offsets[idx]), end = Int(offsets[idx + 1])
        guard end - start == n else { return false }
        return arena.withUnsafeBytes { a in memcmp(a.baseAddress! + start, p, n) == 0 }
    }

    private func grow() {
        let oldCap = mask + 1
        let old = entries
        let cap = oldCap * 2
        entries = .allocate(capacity: cap)
        entries.initialize(repeating: (0, 0, 0), count: cap)
        mask = cap - 1
        for k in 0..<oldCap where old[k].hash != 0 {
            var i = Int(truncatingIfNeeded: old[k].hash >> 1) & mask
            while entries[i].hash != 0 { i = (i + 1) & mask }
            entries[i] = old[k]
        }
        old.deallocate()
    }

    /// Approximate bytes held (for the memory budget in run.json).
    var bytes: Int { (mask + 1) * 16 + arena.capacity + offsets.capacity * 4 }
}

/// The set of order lines already seen, for the "exact duplicate line of an order" check.
///
/// A duplicate necessarily has the same customer and day, so an entry is (line hash,
/// customer, day): two different lines are confused only if they share customer, day and
/// a 64-bit hash. 16 bytes per order line: the one ingest structure that grows with rows
/// rather than customers (about 160 MB per 10 M order lines).
final class OrderLineSet: @unchecked Sendable {
    private var entries: UnsafeMutablePointer<(hash: UInt64, customer: UInt32, day: Int32)>
    private var mask: Int
    private var count = 0

    init() {
        let cap = 1 << 16
        entries = .allocate(capacity: cap)
        entries.initialize(repeating: (0, 0, 0), count: cap)
        mask = cap - 1
    }

    deinit { entries.deallocate() }

    /// Inserts; returns false when the line was already there.
    @inline(__always)
    func insert(hash: UInt64, customer: UInt32, day: Int32) -> Bool {
        let h = hash == 0 ? 1 : hash
        var i = Int(truncatingIfNeeded: (h >> 1) ^ UInt64(customer)) & mask
        while true {
            let e = entries[i]
            if e.hash == 0 { break }
            if e.hash == h && e.customer == customer && e.day == day { return false }
            i = (i + 1) & mask
        }
        entries[i] = (h, customer, day)
        count += 1
        if count * 2 > mask + 1 { grow() }
        return true
    }

    private func grow() {
        let oldCap = mask + 1
        let old = entries
        let cap = oldCap * 2
        entries = .allocate(capacity: cap)
        entries.initialize(repeating: (0, 0, 0), count: cap)
        mask = cap - 1
        for k in 0..<oldCap where old[k].hash != 0 {
            var i = Int(truncatingIfNeeded: (old[k].hash >> 1) ^ UInt64(old[k].customer)) & mask
            while entries[i].hash != 0 { i = (i + 1) & mask }
            entries[i] = old[k]
        }
        old.deallocate()
    }

    var bytes: Int { (mask + 1) * 16 }
}
