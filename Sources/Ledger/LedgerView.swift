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

    /// Indices of `ids` in byte order. Sorting pairs of (first 8 bytes as a big-endian
    /// integer, index) compares integers, not strings, except where two prefixes are equal.
    static func byteOrder(_ ids: [String]) -> [Int32] {
        var keys = ids.enumerated().map { (k, id) -> (UInt64, Int32) in
            var prefix: UInt64 = 0
            var n = 0
            for b in id.utf8.prefix(8) { prefix = prefix << 8 | UInt64(b); n += 1 }
            prefix <<= UInt64(8 * (8 - n))
            return (prefix, Int32(k))
        }
        keys.sort { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            return ids[Int(a.1)].utf8.lexicographicallyPrecedes(ids[Int(b.1)].utf8)
        }
        return keys.map(\.1)
    }

    /// Streams every row of every part: the chunk and each row's customer number.
    public func forEachChunk(_ body: (UnsafeBufferPointer<Int32>, LedgerChunk) throws -> Void) throws {
        var customers = [Int32]()
        for (k, part) in parts.enumerated() {
            let map = slotMaps[k]
            try part.forEachChunk(alsoDeleting: deletions[k]) { chunk in
                customers.removeAll(keepingCapacity: true)
                for s in chunk.slot { customers.append(map[Int(s)]) }
                try customers.withUnsafeBufferPointer { try body($0, chunk) }
            }
        }
    }
}
