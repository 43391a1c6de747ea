import Dispatch
import RetainIO

/// The whole ledger of an output folder as later stages see it: every part, one customer
/// numbering. Customer numbers follow the ids' byte order (so outputs "by customer_id" are
/// in a stable order any tool reproduces with a binary collation).
public final class LedgerView {
    /// Customer ids, by customer number.
    public let customerIDs: [String]
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

    public convenience init(outputDir: String) throws {
        let manifest = try LedgerManifest.load(outputDir: outputDir)
        try self.init(parts: manifest.openParts(outputDir: outputDir), deletions: manifest.entries.map { $0.crossFileDuplicates ?? [] })
    }

    public init(parts: [LedgerPart], deletions: [[UInt32]] = []) throws {
        self.parts = parts
        self.deletions = deletions.count == parts.count ? deletions : Array(repeating: [], count: parts.count)
        // Distinct ids over all parts (one part's ids are distinct already; several parts
        // are merged through a dictionary), then sorted by bytes.
        var ids: [String] = []
        var perPart: [[Int32]] = []   // slot -> index into `ids` before sorting
        if parts.count == 1, let part = parts.first {
            var slots = [Int32](repeating: -1, count: part.slotCount)
            for s in 0..<part.slotCount {
                if let id = part.customerID(slot: s) { slots[s] = Int32(ids.count); ids.append(id) }
            }
            perPart = [slots]
        } else {
            var index: [String: Int32] = [:]
            for part in parts {
                var slots = [Int32](repeating: -1, count: part.slotCount)
                for s in 0..<part.slotCount {
                    guard let id = part.customerID(slot: s) else { continue }
                    if let k = index[id] { slots[s] = k } else { index[id] = Int32(ids.count); slots[s] = Int32(ids.count); ids.append(id) }
                }
                perPart.append(slots)
            }
        }
        let order = Self.byteOrder(ids)
        var rank = [Int32](repeating: 0, count: ids.count)
        for (r, i) in order.enumerated() { rank[Int(i)] = Int32(r) }
        customerIDs = order.map { ids[Int($0)] }
        slotMaps = perPart.map { slots in slots.map { $0 < 0 ? -1 : rank[Int($0)] } }
        columns = parts.dropFirst().reduce(parts.first?.columns ?? []) { $0.intersection($1.columns) }
        firstDay = parts.compactMap(\.firstDay).min()
        lastDay = parts.compactMap(\.lastDay).max()
        rows = zip(parts, self.deletions).reduce(0) { $0 + $1.0.rows - $1.1.count }
    }

    /// Indices of `ids` in byte order.
    ///
    /// Each id's first 8 bytes, as a big-endian integer (zero-padded), order the ids except
    /// where two share them; those runs are then sorted by their whole bytes. The integers
    /// go through `RadixSort`. Measured at 1.9 M ids (bench/README.md's 10 M-row log),
    /// opening the ledger went from 0.30 to 0.16 s; features and segment both open it.
    public static func byteOrder(_ ids: [String]) -> [Int32] {
        let n = ids.count
        let a = RadixSort.sorted(ids.map { id in
            var id = id
            return id.withUTF8 { u -> UInt64 in
                var prefix: UInt64 = 0
                for j in 0..<min(u.count, 8) { prefix |= UInt64(u[j]) << UInt64(8 * (7 - j)) }
                return prefix
            }
        })
        // Runs of a shared 8-byte prefix: by the whole id (ids are distinct, so no ties).
        var order = a.map(\.index)
        var i = 0
        while i < n {
            var j = i + 1
            while j < n && a[j].key == a[i].key { j += 1 }
            if j - i > 1 {
                order[i..<j].sort { ids[Int($0)].utf8.lexicographicallyPrecedes(ids[Int($1)].utf8) }
            }
            i = j
        }
        return order
    }

    /// Streams every row of every part: the chunk and each row's customer number.
    /// The customer numbers are looked up on both cores, half the rows each (random reads
    /// of a table of 4 bytes per customer: 0.11 s a pass at 10 M rows on one core).
    public func forEachChunk(_ body: (UnsafeBufferPointer<Int32>, LedgerChunk) throws -> Void) throws {
        var customers = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        var capacity = 1
        defer { customers.deallocate() }
        for (k, part) in parts.enumerated() {
            try slotMaps[k].withUnsafeBufferPointer { map in
                try part.forEachChunk(alsoDeleting: deletions[k]) { chunk in
                    let n = chunk.count
                    if n > capacity {
                        customers.deallocate()
                        capacity = n
                        customers = .allocate(capacity: capacity)
                    }
                    let out = UnsafeSendable(customers), slots = UnsafeSendable(chunk.slot), table = UnsafeSendable(map)
                    DispatchQueue.concurrentPerform(iterations: n >= 1 << 14 ? 2 : 1) { half in
                        let lo = half == 0 ? 0 : n / 2, hi = half == 0 && n >= 1 << 14 ? n / 2 : n
                        for i in lo..<hi { out.value[i] = table.value[Int(slots.value[i])] }
                    }
                    try body(UnsafeBufferPointer(start: customers, count: n), chunk)
                }
            }
        }
    }
}
