import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// One chunk of ledger rows as typed columns, valid only inside the reader's callback.
public struct LedgerChunk {
    public let count: Int
    /// Customer slot per row (see `LedgerPart.customerID(slot:)`).
    public let slot: UnsafeBufferPointer<UInt32>
    /// Days since 1970-01-01.
    public let day: UnsafeBufferPointer<Int32>
    /// Amount in the log's currency; negative = refund.
    public let amount: UnsafeBufferPointer<Double>
    /// XXH64 of the order id, when the log maps one.
    public let order: UnsafeBufferPointer<UInt64>?
    /// quantity, cost, discount, service cost (NaN = empty in the log), when mapped.
    public let numbers: [Role: UnsafeBufferPointer<Double>]
    /// Channel code per row (see `LedgerPart.channels`), when mapped.
    public let channel: UnsafeBufferPointer<UInt16>?
}

/// A ledger part opened for reading. Opening checks the footer, version and section
/// bounds; `forEachChunk` streams the rows and verifies the checksum at the end, so a
/// truncated, damaged or foreign file is always a `LedgerError`, never a crash.
public final class LedgerPart {
    public let path: String
    /// Rows in the part (rows written less deleted duplicates).
    public let rows: Int
    public let chunks: Int
    public let columns: LedgerFormat.Columns
    public let firstDay: Int32?
    public let lastDay: Int32?
    public let sourceHash: UInt64
    public let slotCount: Int
    public let channels: [String]
    private let fd: Int32
    private let rowsWritten: Int
    private let delsOffset: Int
    /// Deleted row numbers, increasing.
    private let deleted: [UInt32]
    private let dictOffset: Int
    /// The customer dictionary, flat: partition p's ids end at
    /// `idOffsets[offsetStart[p] + 1 ... offsetStart[p] + ids]`, relative to
    /// `arenaStart[p]` in `idBytes` (one array each, so concurrent readers take one pointer).
    private let idOffsets: [UInt32]
    private let offsetStart: [Int]
    private let idBytes: [UInt8]
    private let arenaStart: [Int]
    private let tailBytes: [UInt8]   // dict + channel sections + footer prefix, for the checksum
    private let header: [UInt8]
    private let checksum: UInt64

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason()) }
        var ok = false
        defer { if !ok { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason()) }
        let size = Int(st.st_size)
        guard size >= LedgerFormat.headerSize + LedgerFormat.footerSize else {
            throw LedgerError.corrupt(path: path, reason: "only \(size) bytes; not a ledger or truncated")
        }
        let head = try Self.pread(fd, path, LedgerFormat.headerSize, at: 0)
        let magic = head.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        guard UInt64(littleEndian: magic) == LedgerFormat.magic else {
            throw LedgerError.corrupt(path: path, reason: "it does not start with the ledger signature")
        }
        let version = UInt32(littleEndian: head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) })
        guard version == LedgerFormat.version else {
            throw LedgerError.foreignVersion(path: path, found: version, expected: LedgerFormat.version)
        }
        let foot = try Self.pread(fd, path, LedgerFormat.footerSize, at: size - LedgerFormat.footerSize)
        func f<T: FixedWidthInteger>(_ off: Int, _: T.Type) -> T {
            T(littleEndian: foot.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: off, as: T.self) })
        }
        guard f(0, UInt32.self) == LedgerFormat.footTag, f(72, UInt64.self) == LedgerFormat.magic else {
            throw LedgerError.corrupt(path: path, reason: "the footer is missing (the file was cut short)")
        }
        let written = Int(f(8, UInt64.self))
        chunks = Int(f(16, UInt64.self))
        let delsAt = Int(f(24, UInt64.self))
        let dictStart = Int(f(32, UInt64.self))
        dictOffset = dictStart
        let chanOffset = Int(f(40, UInt64.self))
        let minDay = f(48, Int32.self), maxDay = f(52, Int32.self)
        sourceHash = f(56, UInt64.self)
        checksum = f(64, UInt64.self)
        let footerStart = size - LedgerFormat.footerSize
        guard delsAt >= LedgerFormat.headerSize, delsAt <= dictStart, dictStart <= chanOffset, chanOffset <= footerStart,
              chunks >= 0, chunks <= (delsAt - LedgerFormat.headerSize) / LedgerFormat.chunkHeadSize,
              written >= 0, written <= chunks * LedgerFormat.maxChunkRows else {
            throw LedgerError.corrupt(path: path, reason: "section offsets are inconsistent")
        }
        rowsWritten = written
        delsOffset = delsAt
        columns = LedgerFormat.Columns(rawValue: UInt32(littleEndian: head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self) }))
        // Everything from the deleted rows to the checksum: read now, hashed after the chunks.
        let tail = PartTail(bytes: try Self.pread(fd, path, size - delsAt - 16, at: delsAt), dictionaryAt: dictStart - delsAt, path: path)
        deleted = try Self.deletions(tail, written: written)
        rows = written - deleted.count
        firstDay = rows > 0 ? minDay : nil
        lastDay = rows > 0 ? maxDay : nil
        let dictionary = try Self.dictionary(tail, size: chanOffset - dictStart)
        idOffsets = dictionary.offsets
        offsetStart = dictionary.offsetStart
        idBytes = dictionary.bytes
        arenaStart = dictionary.arenaStart
        slotCount = dictionary.slotCount
        channels = try Self.channelNames(tail, at: chanOffset - dictStart)
        tailBytes = tail.bytes
        header = head
        self.fd = fd
        ok = true
    }

    /// The bytes from the deleted rows to the checksum; reads at offsets relative to the
    /// dictionary, each checked against the bytes there are.
    struct PartTail {
        let bytes: [UInt8]
        /// Where the dictionary starts in `bytes`.
        let dictionaryAt: Int
        let path: String

        func at<T: FixedWidthInteger>(_ off: Int, _: T.Type) throws -> T {
            let at = off + dictionaryAt
            guard at >= 0, at + MemoryLayout<T>.size <= bytes.count else {
                throw LedgerError.corrupt(path: path, reason: "a section runs past the end of the file")
            }
            return T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) })
        }
    }

    /// The deleted-rows section (at the start of `tail`): increasing row numbers below `written`.
    static func deletions(_ tail: PartTail, written: Int) throws -> [UInt32] {
        let path = tail.path, bytes = tail.bytes
        guard bytes.count >= 8, UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) == LedgerFormat.delsTag else {
            throw LedgerError.corrupt(path: path, reason: "deleted-rows section not found")
        }
        let nDel = Int(UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self) }))
        guard nDel <= written, 8 + 4 * nDel <= tail.dictionaryAt else {
            throw LedgerError.corrupt(path: path, reason: "deleted-rows section is inconsistent")
        }
        var dels = [UInt32](repeating: 0, count: nDel)
        for k in 0..<nDel { dels[k] = UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8 + 4 * k, as: UInt32.self) }) }
        guard zip(dels, dels.dropFirst()).allSatisfy({ $0 < $1 }), dels.last.map({ Int($0) < written }) ?? true else {
            throw LedgerError.corrupt(path: path, reason: "deleted rows are out of order")
        }
        return dels
    }

    /// The customer dictionary, flattened (see the stored properties of the same names).
    struct IDDictionary {
        var offsets: [UInt32] = [], bytes: [UInt8] = [], offsetStart: [Int] = [], arenaStart: [Int] = []
        var slotCount = 0
    }

    /// The dictionary section (`size` bytes from its start), every size and offset checked.
    static func dictionary(_ tail: PartTail, size dictionaryBytes: Int) throws -> IDDictionary {
        let path = tail.path
        guard try tail.at(0, UInt32.self) == LedgerFormat.dictTag else { throw LedgerError.corrupt(path: path, reason: "customer dictionary not found") }
        let partitions = Int(try tail.at(4, UInt32.self))
        guard partitions >= 1, partitions <= 256 else { throw LedgerError.corrupt(path: path, reason: "customer dictionary has \(partitions) partitions") }
        var d = IDDictionary()
        var at = 24
        var widest = 0
        for _ in 0..<partitions {
            let ids = Int(try tail.at(at, UInt32.self))
            let arenaBytes = Int(truncatingIfNeeded: try tail.at(at + 8, UInt64.self))  // a damaged size turns negative, not a trap
            let offStart = at + 16
            guard ids >= 0, arenaBytes >= 0, arenaBytes <= dictionaryBytes - offStart - (ids + 1) * 4 else {
                throw LedgerError.corrupt(path: path, reason: "customer dictionary sizes are inconsistent")
            }
            let base = tail.dictionaryAt
            d.offsetStart.append(d.offsets.count)
            // Bounds were checked above: the offsets are read straight from the section.
            tail.bytes.withUnsafeBytes { b in
                for k in 0...ids { d.offsets.append(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: base + offStart + 4 * k, as: UInt32.self))) }
            }
            let offs = d.offsets[d.offsetStart[d.offsetStart.count - 1]...]
            guard offs.first == 0, offs.last.map(Int.init) == arenaBytes, zip(offs, offs.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw LedgerError.corrupt(path: path, reason: "customer dictionary offsets are out of order")
            }
            let arenaStart = offStart + (ids + 1) * 4
            d.arenaStart.append(d.bytes.count)
            d.bytes.append(contentsOf: tail.bytes[(base + arenaStart)..<(base + arenaStart + arenaBytes)])
            widest = max(widest, ids)
            at = LedgerFormat.padded(arenaStart + arenaBytes)
        }
        d.offsetStart.append(d.offsets.count)
        d.slotCount = widest * partitions
        return d
    }

    /// The channel names (the section at `c0`, relative to the dictionary), by code.
    static func channelNames(_ tail: PartTail, at c0: Int) throws -> [String] {
        let path = tail.path
        guard try tail.at(c0, UInt32.self) == LedgerFormat.chanTag else { throw LedgerError.corrupt(path: path, reason: "channel table not found") }
        let nChan = Int(try tail.at(c0 + 4, UInt32.self))
        guard nChan >= 0, nChan <= 65_536 else { throw LedgerError.corrupt(path: path, reason: "channel table size is implausible") }
        var chanOffs: [Int] = []
        for k in 0...nChan { chanOffs.append(Int(try tail.at(c0 + 24 + 4 * k, UInt32.self))) }
        let chanBytes = tail.dictionaryAt + c0 + 24 + 4 * (nChan + 1)
        var names: [String] = []
        for k in 0..<nChan {
            let a = chanOffs[k], b = chanOffs[k + 1]
            guard a <= b, chanBytes + b <= tail.bytes.count else { throw LedgerError.corrupt(path: path, reason: "channel names are out of bounds") }
            names.append(String(decoding: tail.bytes[(chanBytes + a)..<(chanBytes + b)], as: UTF8.self))
        }
        return names
    }

    deinit { close(fd) }

    /// The customer id stored in `slot`, or nil for an empty slot.
    public func customerID(slot: Int) -> String? {
        withIDTable { t in t.bytes(slot: slot).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// The dictionary as raw pointers, valid inside `body` (for loops on several cores).
    func withIDTable<R>(_ body: (IDTable) throws -> R) rethrows -> R {
        try idOffsets.withUnsafeBufferPointer { o in
            try idBytes.withUnsafeBytes { b in
                try offsetStart.withUnsafeBufferPointer { os in
                    try arenaStart.withUnsafeBufferPointer { a in
                        try body(IDTable(offsets: o, bytes: b, offsetStart: os, arenaStart: a, slotCount: slotCount))
                    }
                }
            }
        }
    }

    /// A part's customer dictionary as raw pointers (see `withIDTable`).
    struct IDTable: @unchecked Sendable {
        let offsets: UnsafeBufferPointer<UInt32>
        let bytes: UnsafeRawBufferPointer
        let offsetStart: UnsafeBufferPointer<Int>
        let arenaStart: UnsafeBufferPointer<Int>
        let slotCount: Int

        /// The id bytes of `slot`, or nil for an empty slot.
        @inline(__always) func bytes(slot: Int) -> UnsafeRawBufferPointer? {
            let partitions = arenaStart.count
            guard slot >= 0, slot < slotCount, partitions > 0 else { return nil }
            let p = slot % partitions, k = slot / partitions
            let first = offsetStart[p]
            guard first + k + 1 < offsetStart[p + 1] else { return nil }
            let a = Int(offsets[first + k]), b = Int(offsets[first + k + 1])
            guard b > a else { return nil }
            return UnsafeRawBufferPointer(rebasing: bytes[(arenaStart[p] + a)..<(arenaStart[p] + b)])
        }
    }

    /// Whether a pass has read every byte and found the checksum right: later passes (the
    /// segment stage makes two) skip hashing the whole part again. The output folder's lock keeps
    /// other runs from rewriting the file meanwhile; the sizes are still checked every time.
    private var verified = false

    /// Streams every chunk in file order, then verifies the checksum. Rows in `extra`
    /// (increasing row numbers, as the part was written) are left out as its own deleted
    /// rows are: the ledger manifest lists the lines an input repeats from an earlier one.
    /// Each chunk's columns are decoded (`ColumnCodec`) into one buffer the chunk's pointers
    /// share, by every worker unless `parallel` is false; it is reused for the next chunk,
    /// so `body` must not keep them.
    public func forEachChunk(alsoDeleting extra: [UInt32] = [], parallel: Bool = true, _ body: (LedgerChunk) throws -> Void) throws {
        try walk(alsoDeleting: extra, parallel: parallel, decoding: true, body)
    }

    /// Every chunk in file order, each head and size checked and hashed until the part is
    /// verified; with `decoding`, each chunk's rows go to `body`, else only the bytes are read.
    private func walk(alsoDeleting extra: [UInt32], parallel: Bool, decoding: Bool, _ body: (LedgerChunk) throws -> Void) throws {
        let deleted = extra.isEmpty ? self.deleted : Array(Set(self.deleted).union(extra)).sorted()
        var hasher = XXH64()
        header.withUnsafeBytes { hasher.update($0) }
        var offset = LedgerFormat.headerSize
        // Two buffers, both freed on return: the chunk as stored, and its columns decoded.
        let stored = GrowingBuffer(), decoded = GrowingBuffer()
        defer { stored.free(); decoded.free() }
        var seenRows = 0
        var nextDeleted = 0
        let path = self.path
        let corrupt = { (reason: String) in LedgerError.corrupt(path: path, reason: reason) }
        for _ in 0..<chunks {
            let headSize = LedgerFormat.chunkHeadSize
            let head = try chunkHead(at: offset)
            if !verified { head.bytes.withUnsafeBytes { hasher.update($0) } }
            let n = head.rows, mask = head.columns, payload = head.payload
            guard n <= rowsWritten - seenRows else { throw corrupt("row chunk header at byte \(offset) is damaged") }
            let raw = stored.reserve(payload)
            try Self.preadInto(fd, path, raw, payload, at: offset + headSize)
            let chunkBytes = UnsafeRawBufferPointer(start: raw, count: payload)
            if !verified { hasher.update(chunkBytes) }
            guard decoding else {
                seenRows += n
                offset += headSize + payload
                continue
            }
            let columnsOut = try decode(chunkBytes, rows: n, columns: mask, into: decoded, parallel: parallel)
            let slot = columnsOut.slot, day = columnsOut.day, amount = columnsOut.amount
            let order = columnsOut.order, numbers = columnsOut.numbers, channel = columnsOut.channel
            for s in slot where Int(s) >= slotCount { throw corrupt("a row names customer slot \(s) of \(slotCount)") }
            if let channel { for c in channel where Int(c) >= channels.count { throw corrupt("a row names an unknown channel") } }
            // Drop deleted rows (duplicates found after the chunk was written), in place.
            var kept = n
            if nextDeleted < deleted.count && Int(deleted[nextDeleted]) < seenRows + n {
                var j = 0
                for i in 0..<n {
                    if nextDeleted < deleted.count && Int(deleted[nextDeleted]) == seenRows + i { nextDeleted += 1; continue }
                    if i != j {
                        func move<T>(_ c: UnsafeMutableBufferPointer<T>?) { if let c { c[j] = c[i] } }
                        move(slot); move(day); move(amount); move(order); move(channel)
                        for (_, c) in numbers { move(c) }
                    }
                    j += 1
                }
                kept = j
            }
            func cut<T>(_ c: UnsafeMutableBufferPointer<T>) -> UnsafeBufferPointer<T> { UnsafeBufferPointer(rebasing: c[0..<kept]) }
            try body(LedgerChunk(count: kept, slot: cut(slot), day: cut(day), amount: cut(amount), order: order.map(cut),
                                 numbers: numbers.mapValues(cut), channel: channel.map(cut)))
            seenRows += n
            offset += headSize + payload
        }
        guard offset == delsOffset, seenRows == rowsWritten, !decoding || nextDeleted == deleted.count else {
            throw corrupt("row count \(seenRows) does not match the footer's \(rowsWritten)")
        }
        if verified { return }
        tailBytes.withUnsafeBytes { hasher.update($0) }
        guard hasher.finish() == checksum else { throw corrupt("checksum mismatch") }
        verified = true
    }

    /// A chunk's head, as stored (for the checksum) and read.
    struct ChunkHead {
        let bytes: [UInt8]
        let rows: Int
        let columns: LedgerFormat.Columns
        let orderRuns: Int
        let payload: Int
    }

    /// The head of the chunk at `offset`: its tag, columns and row count checked, and its
    /// payload inside the rows' section.
    private func chunkHead(at offset: Int) throws -> ChunkHead {
        let headSize = LedgerFormat.chunkHeadSize
        guard offset + headSize <= delsOffset else { throw LedgerError.corrupt(path: path, reason: "a row chunk runs into the dictionary") }
        let h = try Self.pread(fd, path, headSize, at: offset)
        func field<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T { T(littleEndian: h.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) }) }
        let head = ChunkHead(bytes: h, rows: Int(field(4, UInt32.self)), columns: LedgerFormat.Columns(rawValue: field(8, UInt32.self)),
                             orderRuns: Int(field(12, UInt32.self)), payload: Int(truncatingIfNeeded: field(16, UInt64.self)))
        guard field(0, UInt32.self) == LedgerFormat.rowsTag, head.columns == columns, head.rows <= LedgerFormat.maxChunkRows else {
            throw LedgerError.corrupt(path: path, reason: "row chunk header at byte \(offset) is damaged")
        }
        guard head.payload >= 0, head.payload <= delsOffset - offset - headSize else {
            throw LedgerError.corrupt(path: path, reason: "a row chunk runs past its section")
        }
        return head
    }

    /// One chunk's columns decoded, pointing into the decoding buffer.
    struct DecodedColumns {
        let slot: UnsafeMutableBufferPointer<UInt32>
        let day: UnsafeMutableBufferPointer<Int32>
        let amount: UnsafeMutableBufferPointer<Double>
        let order: UnsafeMutableBufferPointer<UInt64>?
        let numbers: [Role: UnsafeMutableBufferPointer<Double>]
        let channel: UnsafeMutableBufferPointer<UInt16>?
    }

    /// Decodes a chunk's streams (`payload`, `n` rows) into `buffer`: the streams are
    /// located one after another (each size checked), then decoded, a column per task.
    private func decode(_ payload: UnsafeRawBufferPointer, rows n: Int, columns mask: LedgerFormat.Columns,
                        into buffer: GrowingBuffer, parallel: Bool) throws -> DecodedColumns {
        let path = self.path
        let corrupt = { (reason: String) in LedgerError.corrupt(path: path, reason: reason) }
        let numericRoles = LedgerFormat.Columns.numeric.filter { mask.contains($0.0) }.map(\.1)
        let count = 3 + (mask.contains(.order) ? 1 : 0) + numericRoles.count + (mask.contains(.channel) ? 1 : 0)
        var streams: [ColumnCodec.Stream] = []
        var at = 0
        for _ in 0..<count {
            let s = try ColumnCodec.stream(payload, at: at, rows: n, corrupt: corrupt)
            streams.append(s)
            at += s.bytes
        }
        guard at == payload.count else { throw corrupt("a row chunk's columns do not fill it") }
        // Every column 8-byte aligned in one allocation.
        let widths = [4, 4, 8] + (mask.contains(.order) ? [8] : []) + numericRoles.map { _ in 8 } + (mask.contains(.channel) ? [2] : [])
        let starts = widths.reduce(into: [0]) { $0.append($0[$0.count - 1] + LedgerFormat.padded(n * $1)) }
        let base = buffer.reserve(starts[starts.count - 1])
        func column<T>(_ k: Int, _: T.Type) -> UnsafeMutablePointer<T> { (base + starts[k]).bindMemory(to: T.self, capacity: n) }
        let slot = column(0, UInt32.self), day = column(1, Int32.self), amount = column(2, Double.self)
        var k = 3
        let order = mask.contains(.order) ? column(k, UInt64.self) : nil
        if order != nil { k += 1 }
        let numberColumns = numericRoles.map { role in defer { k += 1 }; return (role, column(k, Double.self)) }
        let channel = mask.contains(.channel) ? column(k, UInt16.self) : nil
        // The decoding tasks, in stream order; each writes its own column.
        var tasks: [(ColumnCodec.Stream) throws -> Void] = [
            { try ColumnCodec.decodeIntegers($0, rows: n, into: slot, corrupt: corrupt) },
            { try ColumnCodec.decodeIntegers($0, rows: n, into: day, corrupt: corrupt) },
            { try ColumnCodec.decodeNumbers($0, rows: n, into: amount, corrupt: corrupt) },
        ]
        if let order { tasks.append { try ColumnCodec.decodeOrders($0, rows: n, into: order, corrupt: corrupt) } }
        for (_, c) in numberColumns { tasks.append { try ColumnCodec.decodeNumbers($0, rows: n, into: c, corrupt: corrupt) } }
        if let channel { tasks.append { try ColumnCodec.decodeIntegers($0, rows: n, into: channel, corrupt: corrupt) } }
        let errors = FirstError()
        let decodeOne = { (t: Int) in
            do { try tasks[t](streams[t]) } catch { errors.record(error) }
        }
        if parallel && n >= 1 << 14 { Workers.run(count, decodeOne) } else { for t in 0..<count { decodeOne(t) } }
        if let e = errors.first { throw e }
        func all<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutableBufferPointer<T> { UnsafeMutableBufferPointer(start: p, count: n) }
        var numbers: [Role: UnsafeMutableBufferPointer<Double>] = [:]
        for (role, c) in numberColumns { numbers[role] = all(c) }
        return DecodedColumns(slot: all(slot), day: all(day), amount: all(amount), order: order.map(all), numbers: numbers,
                              channel: channel.map(all))
    }

    /// The order-id runs of every chunk, summed from the chunk heads (a pread each, no
    /// row read): at least the part's distinct orders when an order's lines sit together,
    /// which is how a reader sizes its table of orders. nil without order ids, or when the
    /// heads do not chain (the checksum pass reports the damage).
    public func orderRuns() -> Int? {
        guard columns.contains(.order) else { return nil }
        var offset = LedgerFormat.headerSize, runs = 0
        for _ in 0..<chunks {
            guard let head = try? chunkHead(at: offset) else { return nil }
            runs += head.orderRuns
            offset += LedgerFormat.chunkHeadSize + head.payload
        }
        return runs
    }

    /// Reads every row once and checks the checksum: throws `LedgerError.corrupt` for a
    /// part damaged anywhere (a flipped byte in a row shows only here, not when opening).
    public func verify() throws {
        if verified { return }
        try walk(alsoDeleting: [], parallel: false, decoding: false) { _ in }
    }

    private static func pread(_ fd: Int32, _ path: String, _ count: Int, at offset: Int) throws -> [UInt8] {
        guard count >= 0 else { throw LedgerError.corrupt(path: path, reason: "negative section size") }
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { b in
            if let base = b.baseAddress { try preadInto(fd, path, base, count, at: offset) }
        }
        return out
    }

    private static func preadInto(_ fd: Int32, _ path: String, _ dst: UnsafeMutableRawPointer, _ count: Int, at offset: Int) throws {
        var got = 0
        while got < count {
            let n = Glibc.pread(fd, dst + got, count - got, off_t(offset + got))
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason())
            }
            if n == 0 { throw LedgerError.corrupt(path: path, reason: "the file ends early") }
            got += n
        }
    }
}

/// A growable scratch allocation (64-byte aligned, with 64 bytes of slack), reused from
/// one chunk to the next. Its owner frees it (`free`) once the last reader of the chunk
/// has returned; `reserve` may move it, so no pointer from before a `reserve` is kept.
final class GrowingBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private var capacity: Int

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = .allocate(byteCount: capacity + 64, alignment: 64)
    }

    /// At least `bytes` bytes (their old contents are not kept).
    func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity {
            base.deallocate()
            capacity = bytes
            base = .allocate(byteCount: capacity + 64, alignment: 64)
        }
        return base
    }

    func free() { base.deallocate() }
}

/// A chunk's columns as plain pointers, shareable by the two workers.
public struct ChunkPointers: @unchecked Sendable {
    public let count: Int
    public let customers: UnsafePointer<Int32>
    public let day: UnsafePointer<Int32>
    public let amount: UnsafePointer<Double>
    public let order: UnsafePointer<UInt64>?
    public let discount, cost, service: UnsafePointer<Double>?

    /// nil for an empty chunk (its buffers have no address).
    public init?(_ c: LedgerChunk, customers: UnsafeBufferPointer<Int32>) {
        guard c.count > 0, let cust = customers.baseAddress, let d = c.day.baseAddress, let a = c.amount.baseAddress else { return nil }
        count = c.count
        self.customers = cust
        day = d
        amount = a
        order = c.order?.baseAddress
        discount = c.numbers[.discount]?.baseAddress
        cost = c.numbers[.cost]?.baseAddress
        service = c.numbers[.serviceCost]?.baseAddress
    }
}
