import RetainIO

import Dispatch

/// Finds exact duplicate lines of an order after the fact, without a random-access table
/// in the parse loop.
///
/// Each accepted order line contributes a record (key, row, line): the key is a 64-bit mix
/// of the line's text hash with its customer-id hash and day (a duplicate necessarily shares
/// all three). Records are appended, in row order, to one of 256 logs chosen by the key's
/// top byte: a sequential write per row instead of a cache miss. At the end each log (about
/// 1/256 of the lines) is checked with a small set that fits in cache, both cores at once;
/// the first occurrence of a key is kept and every later one is a duplicate.
///
/// Two different lines are confused only on a 64-bit key collision (about n²/2⁶⁵ expected
/// in n lines: 3e-6 for 10 M), and a confused line is still reported as a reject, never
/// dropped silently. Memory: 16 bytes per order line, in 64 KiB pages (the logs are
/// append-only, so they could be spilled to disk for very large inputs).
final class DuplicateLog: @unchecked Sendable {
    struct Record {
        var key: UInt64
        var row: UInt32
        var line: UInt32
    }

    static let partitions = 256
    private static let pageRecords = 4096
    private var pages: [[UnsafeMutablePointer<Record>]] = Array(repeating: [], count: partitions)
    private var fill = [Int](repeating: pageRecords, count: partitions)  // records in each last page
    private(set) var count = 0

    deinit { for p in pages { for page in p { page.deallocate() } } }

    /// The key of one order line.
    @inline(__always) static func key(line: UInt64, customer: UInt64, day: Int32) -> UInt64 {
        XXH64.avalanche(line ^ (customer &* 0x9E37_79B1_85EB_CA87) ^ UInt64(UInt32(bitPattern: day)))
    }

    /// Appends a line (rows must arrive in increasing row order).
    @inline(__always) func append(key: UInt64, row: UInt32, line: UInt32) {
        let p = Int(key >> 56)
        if fill[p] == Self.pageRecords {
            pages[p].append(.allocate(capacity: Self.pageRecords))
            fill[p] = 0
        }
        pages[p][pages[p].count - 1][fill[p]] = Record(key: key, row: row, line: line)
        fill[p] += 1
        count += 1
    }

    /// Every later copy of a key, as (row, line), sorted by row.
    func duplicates() -> [(row: UInt32, line: UInt32)] {
        let found = [DuplicateBox(), DuplicateBox()]
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            var set = KeySet()
            for p in stride(from: w, to: Self.partitions, by: 2) {
                let records = pages[p].count == 0 ? 0 : (pages[p].count - 1) * Self.pageRecords + fill[p]
                set.reset(expected: records)
                var left = records
                for page in pages[p] {
                    let n = min(left, Self.pageRecords)
                    for i in 0..<n where !set.insert(page[i].key) { found[w].items.append((page[i].row, page[i].line)) }
                    left -= n
                }
            }
        }
        return (found[0].items + found[1].items).sorted { $0.row < $1.row }
    }

    /// Bytes held.
    var bytes: Int { pages.reduce(0) { $0 + $1.count } * Self.pageRecords * MemoryLayout<Record>.stride }
}

private final class DuplicateBox: @unchecked Sendable {
    var items: [(row: UInt32, line: UInt32)] = []
}

/// A small open-addressing set of non-zero-mixed keys, reused across partitions.
private struct KeySet {
    private var keys: [UInt64] = []
    private var mask = 0

    mutating func reset(expected: Int) {
        var cap = 64
        while cap < expected * 2 { cap <<= 1 }
        if keys.count != cap { keys = [UInt64](repeating: 0, count: cap) } else { for i in 0..<cap { keys[i] = 0 } }
        mask = cap - 1
    }

    /// Inserts; false when already present. Key 0 is stored as 1 (0 marks empty).
    @inline(__always) mutating func insert(_ key: UInt64) -> Bool {
        let k = key == 0 ? 1 : key
        var i = Int(truncatingIfNeeded: k) & mask
        while true {
            let e = keys[i]
            if e == 0 { keys[i] = k; return true }
            if e == k { return false }
            i = (i + 1) & mask
        }
    }
}
