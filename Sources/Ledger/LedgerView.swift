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

    public convenience init(outputDir: String) throws {
        let manifest = try LedgerManifest.load(outputDir: outputDir)
        try self.init(parts: manifest.openParts(outputDir: outputDir))
    }

    public init(parts: [LedgerPart]) throws {
        self.parts = parts
        // Distinct ids over all parts, sorted by bytes.
        var index: [String: Int32] = [:]
        var ids: [String] = []
        var perPart: [[String?]] = []
        for part in parts {
            var slots: [String?] = []
            slots.reserveCapacity(part.slotCount)
            for s in 0..<part.slotCount {
                let id = part.customerID(slot: s)
                slots.append(id)
                if let id, index[id] == nil { index[id] = 0; ids.append(id) }
            }
            perPart.append(slots)
        }
        ids.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for (k, id) in ids.enumerated() { index[id] = Int32(k) }
        customerIDs = ids
        slotMaps = perPart.map { slots in slots.map { $0.flatMap { index[$0] } ?? -1 } }
        columns = parts.dropFirst().reduce(parts.first?.columns ?? []) { $0.intersection($1.columns) }
        firstDay = parts.compactMap(\.firstDay).min()
        lastDay = parts.compactMap(\.lastDay).max()
        rows = parts.reduce(0) { $0 + $1.rows }
    }

    /// Streams every row of every part: the chunk and each row's customer number.
    public func forEachChunk(_ body: (UnsafeBufferPointer<Int32>, LedgerChunk) throws -> Void) throws {
        var customers = [Int32]()
        for (k, part) in parts.enumerated() {
            let map = slotMaps[k]
            try part.forEachChunk { chunk in
                customers.removeAll(keepingCapacity: true)
                for s in chunk.slot { customers.append(map[Int(s)]) }
                try customers.withUnsafeBufferPointer { try body($0, chunk) }
            }
        }
    }
}
