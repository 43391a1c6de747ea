import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Finds exact duplicate lines of an order after the fact, without a random-access table
/// in the parse loop.
///
/// Each accepted order line contributes a record (key, row, line): the key is a 64-bit mix
/// of the line's text hash with its customer-id hash and day (a duplicate necessarily shares
/// all three). Records are appended, in row order, to one of 256 logs chosen by the key's
/// top byte: a sequential write per row instead of a cache miss. At the end each log (about
/// 1/256 of the lines) is checked with a small set that fits in cache, one per worker at once;
/// the first occurrence of a key is kept and every later one is a duplicate.
///
/// Two different lines are confused only on a 64-bit key collision (about n²/2⁶⁵ expected
/// in n lines: 3e-6 for 10 M), and a confused line is still reported as a reject, never
/// dropped silently. Memory: 16 bytes per order line in 64 KiB pages, up to `memoryLimit`;
/// past it, full pages go to a spill file (append-only, so this costs one sequential write
/// and one read per page) and memory stays bounded whatever the number of rows.
final class DuplicateLog: @unchecked Sendable {
    struct Record {
        var key: UInt64
        var row: UInt32
        var line: UInt32
    }

    static let partitions = 256
    private let pageRecords: Int
    private var pageBytes: Int { pageRecords * MemoryLayout<Record>.stride }
    private var pages: [[UnsafeMutablePointer<Record>]] = Array(repeating: [], count: partitions)
    /// Each partition's last page (nil before its first), and the records in it,
    /// as raw arrays: `append` runs once per order line and touches only these two.
    private let current: UnsafeMutablePointer<UnsafeMutablePointer<Record>?>
    private let cursor: UnsafeMutablePointer<Int>
    private(set) var count = 0
    /// Pages in memory at most (the rest spill); and where spilled pages are.
    private let memoryPages: Int
    private var pagesInMemory = 0
    private let spillPath: String
    private var spillFD: Int32 = -1
    private var spillBytes = 0
    private var spilled: [[Int]] = Array(repeating: [], count: partitions)  // file offsets of full pages
    private var free: [UnsafeMutablePointer<Record>] = []

    /// - Parameters:
    ///   - spillPath: where full pages go once `memoryLimit` bytes are in use (created on
    ///     first need, removed on release).
    ///   - pageRecords: records per page (4096: 64 KiB pages).
    init(spillPath: String, memoryLimit: Int = 256 << 20, pageRecords: Int = 4096) {
        self.spillPath = spillPath
        self.pageRecords = max(pageRecords, 1)
        current = .allocate(capacity: Self.partitions)
        current.initialize(repeating: nil, count: Self.partitions)
        cursor = .allocate(capacity: Self.partitions)
        cursor.initialize(repeating: self.pageRecords, count: Self.partitions)
        memoryPages = max(2 * Self.partitions, memoryLimit / (self.pageRecords * MemoryLayout<Record>.stride))
    }

    deinit {
        current.deallocate(); cursor.deallocate()
        for p in pages { for page in p { page.deallocate() } }
        for page in free { page.deallocate() }
        if spillFD >= 0 { close(spillFD); unlink(spillPath) }
    }

    /// The key of one order line.
    @inline(__always) static func key(line: UInt64, customer: UInt64, day: Int32) -> UInt64 {
        XXH64.avalanche(line ^ (customer &* 0x9E37_79B1_85EB_CA87) ^ UInt64(UInt32(bitPattern: day)))
    }

    /// Appends a line (rows must arrive in increasing row order).
    @inline(__always) func append(key: UInt64, row: UInt32, line: UInt32) throws {
        let p = Int(key >> 56)
        var at = cursor[p]
        if at == pageRecords { try newPage(p); at = 0 }
        current[p].unsafelyUnwrapped[at] = Record(key: key, row: row, line: line)  // set by newPage
        cursor[p] = at + 1
        count += 1
    }

    /// Appends `n` order lines of one batch: keys, their rows `firstRow ..< firstRow + n`,
    /// and lines `lineBase + localLines[i]`.
    func append(keys: UnsafePointer<UInt64>, count n: Int, firstRow: UInt32,
                localLines: UnsafePointer<Int32>, lineBase: UInt32) throws {
        for i in 0..<n {
            try append(key: keys[i], row: firstRow &+ UInt32(truncatingIfNeeded: i),
                       line: lineBase &+ UInt32(truncatingIfNeeded: localLines[i]))
        }
    }

    /// Starts a new page for partition `p`, spilling its full page when memory is at the cap.
    private func newPage(_ p: Int) throws {
        if pagesInMemory >= memoryPages {
            // Spill all of this partition's pages (all full now), oldest first: every spilled
            // page is then older than every page in memory, which `duplicates` relies on.
            for page in pages[p] {
                try spill(page, partition: p)
                free.append(page)
            }
            pagesInMemory -= pages[p].count
            pages[p].removeAll(keepingCapacity: true)
        }
        let page = free.popLast() ?? .allocate(capacity: pageRecords)
        pages[p].append(page)
        current[p] = page
        pagesInMemory += 1
        cursor[p] = 0
    }

    private func spill(_ page: UnsafeMutablePointer<Record>, partition p: Int) throws {
        if spillFD < 0 {
            spillFD = open(spillPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard spillFD >= 0 else { throw LedgerError.cannotWrite(path: spillPath, reason: IOError.systemReason()) }
        }
        var off = 0
        while off < pageBytes {
            let n = pwrite(spillFD, UnsafeRawPointer(page) + off, pageBytes - off, off_t(spillBytes + off))
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.cannotWrite(path: spillPath, reason: IOError.systemReason())
            }
            off += n
        }
        spilled[p].append(spillBytes)
        spillBytes += pageBytes
    }

    /// Every later copy of a key, as (row, line), sorted by row.
    func duplicates() throws -> [(row: UInt32, line: UInt32)] { try finish(keysTo: nil) }

    /// The later copies of every key (sorted by row); with `keysTo`, also writes the first
    /// occurrence of every key there, sorted by key (the key file other inputs' lines are
    /// checked against). Partitions are taken one per worker at a time and written in
    /// order: partitions follow the key's top byte, so the whole file comes out sorted
    /// while only one partition per worker is held in memory.
    func finish(keysTo out: OutputBuffer?) throws -> [(row: UInt32, line: UInt32)] {
        let width = min(Workers.count, Self.partitions)
        let found = (0..<width).map { _ in DuplicateBox() }
        let fd = spillFD, path = spillPath
        if let out {
            try out.append(value: Self.keyFileMagic.littleEndian)
            try out.append(value: Self.keyFileVersion.littleEndian)
            try out.append(value: UInt32(0))
        }
        for round in stride(from: 0, to: Self.partitions, by: width) {
            Workers.run(min(width, Self.partitions - round)) { w in
                let p = round + w
                var set = KeySet()
                let buffer = UnsafeMutablePointer<Record>.allocate(capacity: pageRecords)
                defer { buffer.deallocate() }
                found[w].firsts.removeAll(keepingCapacity: true)
                let inMemory = pages[p].count == 0 ? 0 : (pages[p].count - 1) * pageRecords + cursor[p]
                set.reset(expected: inMemory + spilled[p].count * pageRecords)
                func check(_ page: UnsafePointer<Record>, _ n: Int) {
                    for i in 0..<n {
                        if set.insert(page[i].key) {
                            if out != nil { found[w].firsts.append(page[i]) }
                        } else {
                            found[w].items.append((page[i].row, page[i].line))
                        }
                    }
                }
                // Spilled pages are the partition's oldest: check them first, in order.
                for offset in spilled[p] where found[w].error == nil {
                    var got = 0
                    while got < pageBytes {
                        let n = pread(fd, UnsafeMutableRawPointer(buffer) + got, pageBytes - got, off_t(offset + got))
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { found[w].error = LedgerError.inputUnreadable(path: path, reason: IOError.systemReason()); return }
                        got += n
                    }
                    check(buffer, pageRecords)
                }
                var left = inMemory
                for page in pages[p] {
                    let n = min(left, pageRecords)
                    check(page, n)
                    left -= n
                }
                if out != nil { found[w].firsts.sort { $0.key < $1.key } }
            }
            if let e = found.lazy.compactMap(\.error).first { throw e }
            if let out {
                for w in 0..<min(width, Self.partitions - round) {
                    try found[w].firsts.withUnsafeBufferPointer { try out.append(contentsOf: $0) }
                }
            }
        }
        if let out { try out.append(value: out.hasher.finish().littleEndian) }  // checksum of all before
        return found.flatMap(\.items).sorted { $0.row < $1.row }
    }

    static let keyFileMagic: UInt64 = 0x594B_4E49_4154_4552  // "RETAINKY"
    static let keyFileVersion: UInt32 = 1

    /// Bytes held in memory, and spilled.
    var bytes: Int { pagesInMemory * pageBytes }
    var bytesSpilled: Int { spillBytes }
}

private final class DuplicateBox: @unchecked Sendable {
    var items: [(row: UInt32, line: UInt32)] = []
    var firsts: [DuplicateLog.Record] = []
    var error: (any Error)?
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
