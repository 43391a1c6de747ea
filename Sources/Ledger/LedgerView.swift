import RetainIO

/// The whole ledger of an output folder as later stages see it: every part, one customer
/// numbering. Customer numbers follow the ids' byte order (so outputs "by customer_id" are
/// in a stable order any tool reproduces with a binary collation).
public final class LedgerView {
    /// How customers are numbered.
    public enum Numbering: Sendable {
        /// In the byte order of their ids, with `customerIDs` filled: for stages that write
        /// customers out (rows "by customer_id").
        case byID
        /// In no particular order, without building the ids (`customerIDs` stays empty): for
        /// stages that only count customers. Opening is then a fraction of the time.
        case dense
    }

    /// Customer ids, by customer number (empty with `Numbering.dense`).
    public let customerIDs: [String]
    /// Distinct customers over all parts.
    public let customerCount: Int
    /// Optional columns present in every part (a column missing from one file is treated
    /// as absent: a feature must never be computed from part of the data).
    public let columns: LedgerFormat.Columns
    public let firstDay: Int32?
    public let lastDay: Int32?
    public let rows: Int
    private let parts: [LedgerPart]
    /// Per part: slot -> customer number (-1 for an empty slot).
    private let slotMaps: [[Int32]]

    /// Rows left out per part (lines repeated across inputs; see `LedgerManifest`).
    private let deletions: [[UInt32]]

    public convenience init(outputDir: String, numbering: Numbering = .byID) throws {
        let manifest = try LedgerManifest.load(outputDir: outputDir)
        try self.init(parts: manifest.openParts(outputDir: outputDir), deletions: manifest.entries.map { $0.crossFileDuplicates ?? [] },
                      numbering: numbering)
    }

    public init(parts: [LedgerPart], deletions: [[UInt32]] = [], numbering: Numbering = .byID) throws {
        self.parts = parts
        self.deletions = deletions.count == parts.count ? deletions : Array(repeating: [], count: parts.count)
        if parts.count == 1, let part = parts.first {
            // One part (one input file, the usual case): its ids are distinct already.
            if numbering == .byID {
                let (ids, map) = Self.numberedByID(part)
                customerIDs = ids
                slotMaps = [map]
                customerCount = ids.count
            } else {
                let map = Self.numberedDensely(part)
                customerIDs = []
                slotMaps = [map]
                customerCount = map.reduce(0) { $1 >= 0 ? $0 + 1 : $0 }
            }
        } else {
            // Several parts (daily files): each part's ids in byte order, then merged.
            if numbering == .byID {
                let numbered = parts.map { Self.numberedByID($0) }
                let (ids, ranks) = Self.merge(numbered.map(\.0))
                customerCount = ids.count
                customerIDs = ids
                slotMaps = zip(numbered, ranks).map { part, rank in part.1.map { $0 < 0 ? -1 : rank[Int($0)] } }
            } else {
                let (count, maps) = Self.numberedDensely(parts)
                customerCount = count
                customerIDs = []
                slotMaps = maps
            }
        }
        columns = parts.dropFirst().reduce(parts.first?.columns ?? []) { $0.intersection($1.columns) }
        firstDay = parts.compactMap(\.firstDay).min()
        lastDay = parts.compactMap(\.lastDay).max()
        rows = zip(parts, self.deletions).reduce(0) { $0 + $1.0.rows - $1.1.count }
    }

    /// The distinct ids of several lists, each distinct and in byte order, merged in byte
    /// order (ids equal byte for byte are one customer), and for each list the rank of
    /// each of its ids in the merge. A heap of one cursor per list: a day's file beside
    /// a year's costs a pass over the year's ids, not a hash table of them.
    static func merge(_ lists: [[String]]) -> ([String], [[Int32]]) {
        var ranks = lists.map { [Int32](repeating: 0, count: $0.count) }
        var merged: [String] = []
        merged.reserveCapacity(lists.map(\.count).max() ?? 0)
        var next = [Int](repeating: 0, count: lists.count)
        // Cursor heap ordered by (id bytes, list).
        func less(_ a: Int, _ b: Int) -> Bool {
            let x = lists[a][next[a]], y = lists[b][next[b]]
            if x.utf8.elementsEqual(y.utf8) { return a < b }
            return x.utf8.lexicographicallyPrecedes(y.utf8)
        }
        var heap: [Int] = []
        func siftDown(_ start: Int) {
            var p = start
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == p { return }
                heap.swapAt(p, m)
                p = m
            }
        }
        heap = lists.indices.filter { !lists[$0].isEmpty }
        for i in stride(from: heap.count / 2, through: 0, by: -1) { siftDown(i) }
        while let top = heap.first {
            let id = lists[top][next[top]]
            if let last = merged.last, last.utf8.elementsEqual(id.utf8) {
                ranks[top][next[top]] = Int32(merged.count - 1)
            } else {
                ranks[top][next[top]] = Int32(merged.count)
                merged.append(id)
            }
            next[top] += 1
            if next[top] == lists[top].count {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            siftDown(0)
        }
        return (merged, ranks)
    }

    /// Order-id runs over every part (`LedgerPart.orderRuns`), or nil when a part has none.
    public func orderRuns() -> Int? {
        var total = 0
        for part in parts { guard let r = part.orderRuns() else { return nil }; total += r }
        return total
    }

    /// Several parts numbered densely: customers in order of first appearance, part by part
    /// and slot by slot, ids equal byte for byte being one customer. The ids of every part
    /// but the largest go in a hash table; the largest part's ids are only looked up in it
    /// (a day's file beside a year's: a pass over the year's dictionary, no id of it kept).
    static func numberedDensely(_ parts: [LedgerPart]) -> (count: Int, maps: [[Int32]]) {
        let largest = parts.indices.max { parts[$0].slotCount < parts[$1].slotCount } ?? 0
        var table = ByteKeyTable()
        // Per smaller part: slot -> entry in the table (-1 for an empty slot).
        var entries = [[Int32]](repeating: [], count: parts.count)
        for (k, part) in parts.enumerated() where k != largest {
            entries[k] = part.withIDTable { t in (0..<part.slotCount).map { s in t.bytes(slot: s).map { table.insert($0) } ?? -1 } }
        }
        var numbers = [Int32](repeating: -1, count: table.count)  // entry -> customer number
        var next: Int32 = 0
        var maps = [[Int32]](repeating: [], count: parts.count)
        for (k, part) in parts.enumerated() {
            if k == largest {
                maps[k] = part.withIDTable { t in
                    (0..<part.slotCount).map { s -> Int32 in
                        guard let bytes = t.bytes(slot: s) else { return -1 }
                        guard let e = table.find(bytes) else { defer { next += 1 }; return next }
                        if numbers[Int(e)] < 0 { numbers[Int(e)] = next; next += 1 }
                        return numbers[Int(e)]
                    }
                }
            } else {
                maps[k] = entries[k].map { e -> Int32 in
                    guard e >= 0 else { return -1 }
                    if numbers[Int(e)] < 0 { numbers[Int(e)] = next; next += 1 }
                    return numbers[Int(e)]
                }
            }
        }
        return (Int(next), maps)
    }

    /// Slot -> customer number in slot order, skipping empty slots; no id is read.
    static func numberedDensely(_ part: LedgerPart) -> [Int32] {
        part.withIDTable { t in
            var next: Int32 = 0
            return (0..<part.slotCount).map { s in
                guard t.bytes(slot: s) != nil else { return -1 }
                defer { next += 1 }
                return next
            }
        }
    }

    /// The ids of one part in byte order, and its slot -> customer number map, with every
    /// worker: each range of the slots is read in order (the dictionary sequentially), its
    /// ids made and their sort keys taken; the keys are sorted (`RadixSort` on the first 8
    /// bytes, then runs that share them by whole ids); the ids are put in that order and
    /// the map filled by ranges of the result. The steps are bound by memory (random reads
    /// in the permutation), so more workers help only a little.
    static func numberedByID(_ part: LedgerPart) -> ([String], [Int32]) {
        let slotCount = part.slotCount
        let ranges = Workers.split(slotCount, grain: 1 << 15)
        let gathered = Slots<Gathered>(count: ranges.count)
        part.withIDTable { t in
            Workers.run(ranges.count) { h in
                var g = Gathered()
                let range = ranges[h]
                g.slots.reserveCapacity(range.count); g.keys.reserveCapacity(range.count); g.ids.reserveCapacity(range.count)
                for s in range {
                    guard let b = t.bytes(slot: s) else { continue }
                    g.slots.append(Int32(s))
                    g.keys.append(prefixKey(b))
                    g.ids.append(String(decoding: b, as: UTF8.self))
                }
                gathered[h] = g
            }
        }
        let parts = (0..<ranges.count).map { gathered[$0] ?? Gathered() }
        let slots = parts.flatMap(\.slots), ids = parts.flatMap(\.ids)
        let order = orderByPrefix(parts.flatMap(\.keys)) { ids[Int($0)].utf8.lexicographicallyPrecedes(ids[Int($1)].utf8) }
        let n = ids.count
        var map = [Int32](repeating: -1, count: slotCount)
        let sorted = slots.withUnsafeBufferPointer { sb in
            order.withUnsafeBufferPointer { ob in
                ids.withUnsafeBufferPointer { ib in
                    map.withUnsafeMutableBufferPointer { mb in
                        let sp = UnsafeSendable(sb), op = UnsafeSendable(ob), ip = UnsafeSendable(ib), mp = UnsafeSendable(mb)
                        return [String](unsafeUninitializedCapacity: n) { out, count in
                            guard let o = out.baseAddress else { count = 0; return }
                            let outp = UnsafeSendable(o)
                            Workers.forEachRange(n, grain: 1 << 15) { rows in
                                for r in rows {
                                    let i = Int(op.value[r])
                                    (outp.value + r).initialize(to: ip.value[i])
                                    mp.value[Int(sp.value[i])] = Int32(r)
                                }
                            }
                            count = n
                        }
                    }
                }
            }
        }
        return (sorted, map)
    }

    /// One range's slots with an id, their sort keys and their ids, in slot order.
    struct Gathered: Sendable {
        var slots: [Int32] = []
        var keys: [UInt64] = []
        var ids: [String] = []
    }

    /// An id's first 8 bytes as a big-endian integer (zero-padded): integers in the order
    /// of the ids, except where two share those bytes.
    @inline(__always) static func prefixKey(_ u: UnsafeRawBufferPointer) -> UInt64 {
        var prefix: UInt64 = 0
        for j in 0..<min(u.count, 8) { prefix |= UInt64(u[j]) << UInt64(8 * (7 - j)) }
        return prefix
    }

    /// Indices of `keys` in key order (`RadixSort`), runs of equal keys ordered by `tieLess`.
    static func orderByPrefix(_ keys: [UInt64], tieLess: (Int32, Int32) -> Bool) -> [Int32] {
        let a = RadixSort.sorted(keys)
        var order = a.map(\.index)
        var i = 0
        while i < a.count {
            var j = i + 1
            while j < a.count && a[j].key == a[i].key { j += 1 }
            if j - i > 1 { order[i..<j].sort(by: tieLess) }
            i = j
        }
        return order
    }

    /// Indices of `ids` in byte order.
    ///
    /// Each id's first 8 bytes, as a big-endian integer (zero-padded), order the ids except
    /// where two share them; those runs are then sorted by their whole bytes. The integers
    /// go through `RadixSort`, far cheaper than comparing strings; features and segment
    /// both open the ledger this way.
    public static func byteOrder(_ ids: [String]) -> [Int32] {
        let keys = ids.map { id in
            var id = id
            return id.withUTF8 { prefixKey(UnsafeRawBufferPointer($0)) }
        }
        // Runs of a shared 8-byte prefix: by the whole id (ids are distinct, so no ties).
        return orderByPrefix(keys) { ids[Int($0)].utf8.lexicographicallyPrecedes(ids[Int($1)].utf8) }
    }

    /// Streams every row of every part: the chunk and each row's customer number.
    /// The customer numbers are looked up by every worker, a range of rows each (random
    /// reads of a table of 4 bytes per customer). `parallel: false` keeps the lookups on the
    /// calling thread (a thread that must not wake others, as the retention history on its
    /// own thread, at idle priority in a whole run).
    public func forEachChunk(parallel: Bool = true, _ body: (UnsafeBufferPointer<Int32>, LedgerChunk) throws -> Void) throws {
        var customers = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        var capacity = 1
        defer { customers.deallocate() }
        for (k, part) in parts.enumerated() {
            try slotMaps[k].withUnsafeBufferPointer { map in
                try part.forEachChunk(alsoDeleting: deletions[k], parallel: parallel) { chunk in
                    let n = chunk.count
                    if n > capacity {
                        customers.deallocate()
                        capacity = n
                        customers = .allocate(capacity: capacity)
                    }
                    let out = UnsafeSendable(customers), slots = UnsafeSendable(chunk.slot), table = UnsafeSendable(map)
                    let lookUp = { (rows: Range<Int>) in for i in rows { out.value[i] = table.value[Int(slots.value[i])] } }
                    if parallel { Workers.forEachRange(n, grain: 1 << 13, lookUp) } else { lookUp(0..<n) }
                    try body(UnsafeBufferPointer(start: customers, count: n), chunk)
                }
            }
        }
    }
}

/// Distinct byte strings, each numbered by first insertion: an arena, and an open-addressing
/// table of entry numbers by XXH64 (equality by bytes, not by Unicode equivalence).
struct ByteKeyTable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    private var slots = [Int32](repeating: -1, count: 1 << 10)
    var count: Int { hashes.count }

    /// The entry of `bytes`, added if new.
    mutating func insert(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let h = XXH64.hash(bytes)
        var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[i] >= 0 {
            if matches(Int(slots[i]), h, bytes) { return slots[i] }
            i = (i + 1) & (slots.count - 1)
        }
        let e = Int32(hashes.count)
        slots[i] = e
        hashes.append(h)
        arena.append(contentsOf: bytes)
        offsets.append(arena.count)
        if hashes.count * 2 > slots.count { grow() }
        return e
    }

    /// The entry of `bytes`, or nil.
    func find(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        guard !hashes.isEmpty else { return nil }
        let h = XXH64.hash(bytes)
        var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[i] >= 0 {
            if matches(Int(slots[i]), h, bytes) { return slots[i] }
            i = (i + 1) & (slots.count - 1)
        }
        return nil
    }

    private func matches(_ e: Int, _ h: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard hashes[e] == h, offsets[e + 1] - offsets[e] == bytes.count else { return false }
        return arena[offsets[e]..<offsets[e + 1]].elementsEqual(bytes)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for (e, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
            while slots[i] >= 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = Int32(e)
        }
    }
}
