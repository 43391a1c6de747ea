import Dispatch
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// What reading one input file produced.
public struct PartSummary: Sendable, Codable, Equatable {
    /// Data rows read (header and blank lines excluded): accepted + rejected.
    public var rowsRead: Int
    public var rowsAccepted: Int
    public var rowsRejected: Int
    public var blankLines: Int
    public var physicalLines: Int
    public var customers: Int
    public var firstDay: Int32?
    public var lastDay: Int32?
    public var rejectsByReason: [String: Int]
    /// XXH64 of the file's bytes as stored (compressed bytes for `.gz`).
    public var contentHash: String
    public var inputBytes: UInt64
    public var partBytes: Int
    public var columns: UInt32
}

/// Reads one transaction log into a ledger part (see `LedgerFormat`), validating every row.
///
/// Two passes per block, each split over the workers (`Workers`):
/// 1. the workers parse the block's lines, in pieces (two per worker, at least eight),
///    into typed columns (`RowParser`);
/// 2. the customer ids are split by hash into `partitions` tables; each worker takes a
///    range of partitions and maps their rows' ids to dense slots (no table is shared).
/// Meanwhile a serial I/O queue writes the previous block (its rows as chunks, each column
/// encoded by a worker, `ColumnCodec`; rejects; the order lines' keys into the
/// `DuplicateLog`) and reads the next (`BlockBuffer`).
/// Exact duplicate lines are settled once at the end. Memory: the customer tables, two
/// blocks, and the duplicate log (capped, then spilled); never the whole file.
///
/// The part's bytes do not depend on the worker count: the partition count is fixed, a
/// table's slots follow the file order of first appearance, and a block's chunks are cut
/// by row count however many pieces parsed it.
public struct Ingestor: Sendable {
    public let format: InputFormat
    /// Block size; large enough that per-block synchronisation is noise.
    public var blockBytes = 16 << 20
    /// Blocks below this are parsed on one core (thread hand-off costs more than it saves).
    public var parallelThreshold = 1 << 18
    /// Customer partitions (tables) by id hash: a fixed number, so the part is the same for
    /// any worker count, and enough for 64 workers in pass 2.
    static let partitions = 64
    /// Pieces per block in pass 1: two per worker, so one that finishes early takes
    /// another while the I/O queue shares a core.
    static var pieces: Int { max(8, 2 * Workers.count) }
    /// Memory the duplicate-line check may use before it spills to disk (16 bytes per
    /// order line in memory; 256 MiB is 16 million lines).
    public var duplicateMemoryLimit = 256 << 20
    /// Rows each parse worker's batch holds before it grows, and customers each customer
    /// table holds before the first block sizes it (tuning and fuzzing: small ones make an
    /// input cheap to set up).
    public var batchRows = 1 << 15
    public var initialCustomers = 1 << 16
    /// Records per page of the duplicate log (tuning and tests: small pages spill early).
    public var duplicatePageRecords = 4096
    /// Quote-free pieces split 64 bytes at a time (`RowParser.parseUnquoted`); off only
    /// for tests that hold it to the general path.
    public var unquotedFastPath = true

    public init(format: InputFormat) { self.format = format }

    /// Reads `inputPath`, writes the part to `partPath` and the rejected rows
    /// (`line,reason,raw,detail`) to `rejectsPath`. Both are written whole or not at all.
    /// With `keysPath`, an input that maps order ids also gets a key file there: the first
    /// occurrence of each order line's key, sorted (see `DuplicateKeys`), against which
    /// other inputs' lines are checked for duplicates across files.
    public func ingest(inputPath: String, partPath: String, rejectsPath: String, keysPath: String? = nil) throws -> PartSummary {
        let source = try InputSource(path: inputPath)
        var summary: PartSummary? = nil
        try AtomicFile.write(rejectsPath) { rejectOut in
            let sink = RejectSink(out: rejectOut)
            try AtomicFile.write(partPath, hashing: true) { partOut in  // the ledger's checksum
                summary = try run(source: source, part: partOut, rejects: sink, keysPath: keysPath)
            }
        }
        guard let summary else { throw LedgerError.cannotWrite(path: partPath, reason: "no summary") }
        return summary
    }

    /// What reading one input shares between its steps: the customer tables, the
    /// duplicate-line log, the channel codes, and the running counts.
    private struct Shared {
        let tables: [CustomerTable]
        let duplicateLog: DuplicateLog
        let channels = ChannelRegistry()
        let channelOrder = ChannelOrder()
        let tally = Tally()
    }

    private func run(source: InputSource, part out: OutputBuffer, rejects: RejectSink, keysPath: String?) throws -> PartSummary {
        let shared = Shared(tables: (0..<Self.partitions).map { _ in CustomerTable(expected: max(initialCustomers / Self.partitions, 16)) },
                            duplicateLog: DuplicateLog(spillPath: out.path + ".duplicates-\(getpid())",
                                                       memoryLimit: duplicateMemoryLimit, pageRecords: duplicatePageRecords))
        // The column mask is final once the mapping is known: the mapped roles.
        let columns = LedgerFormat.Columns(roles: format.columns.keys)
        try Self.writeHeader(columns: columns, to: out)
        let parser = try readBlocks(source, columns: columns, shared: shared, out: out, rejects: rejects)
        let tally = shared.tally
        let rowsWritten = tally.rowsAccepted
        let duplicates = try settleDuplicates(shared.duplicateLog, hasOrder: parser?.hasOrder == true, keysPath: keysPath,
                                              path: source.path, rejects: rejects)
        let rowsAccepted = tally.rowsAccepted - duplicates.count, rowsRejected = tally.rowsRejected + duplicates.count
        let delsOffset = out.bytesWritten
        try out.append(value: LedgerFormat.delsTag.littleEndian)
        try out.append(value: UInt32(duplicates.count).littleEndian)
        for d in duplicates { try out.append(value: d.row.littleEndian) }
        try pad(out)
        let dictOffset = out.bytesWritten
        try writeDictionary(shared.tables, to: out)
        let chanOffset = out.bytesWritten
        try shared.channels.write(to: out, order: shared.channelOrder)
        try pad(out)

        // Footer; the checksum covers every byte before it.
        try out.append(value: LedgerFormat.footTag.littleEndian)
        try out.append(value: UInt32(0))
        try out.append(value: UInt64(rowsWritten).littleEndian)
        try out.append(value: UInt64(tally.chunks).littleEndian)
        try out.append(value: UInt64(delsOffset).littleEndian)
        try out.append(value: UInt64(dictOffset).littleEndian)
        try out.append(value: UInt64(chanOffset).littleEndian)
        try out.append(value: (rowsAccepted > 0 ? tally.minDay : 0).littleEndian)
        try out.append(value: (rowsAccepted > 0 ? tally.maxDay : -1).littleEndian)
        try out.append(value: source.contentHash.littleEndian)
        try out.append(value: out.hasher.finish().littleEndian)
        try out.append(value: LedgerFormat.magic.littleEndian)

        var byReason: [String: Int] = [:]
        for (k, v) in rejects.counts { byReason[k.rawValue] = v }
        return PartSummary(
            rowsRead: rowsAccepted + rowsRejected, rowsAccepted: rowsAccepted, rowsRejected: rowsRejected,
            blankLines: tally.blankLines, physicalLines: tally.linesBefore, customers: shared.tables.reduce(0) { $0 + $1.count },
            firstDay: rowsAccepted > 0 ? tally.minDay : nil, lastDay: rowsAccepted > 0 ? tally.maxDay : nil,
            rejectsByReason: byReason, contentHash: XXH64.hex(source.contentHash), inputBytes: source.rawBytes,
            partBytes: out.bytesWritten, columns: columns.rawValue)
    }

    /// The part's header: magic, version, column mask.
    private static func writeHeader(columns: LedgerFormat.Columns, to out: OutputBuffer) throws {
        var header = [UInt8](repeating: 0, count: LedgerFormat.headerSize)
        header.withUnsafeMutableBytes { h in
            h.storeBytes(of: LedgerFormat.magic.littleEndian, as: UInt64.self)
            h.storeBytes(of: LedgerFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            h.storeBytes(of: columns.rawValue.littleEndian, toByteOffset: 12, as: UInt32.self)
        }
        try header.withUnsafeBytes { try out.append($0) }
    }

    /// Reads, parses and writes every block of `source`: the rows as chunks, the rejects,
    /// the order lines' keys; returns the parser (nil for an input without a line).
    ///
    /// A pipeline over two blocks and two batch sets: while the workers parse block k,
    /// one serial I/O queue writes block k-1's rows and reads block k+1. The queue's
    /// order guarantees a buffer is refilled only after its rows were written. Ownership:
    /// every closure on the queue holds the `BlockBuffer`s it reads or fills, so a block's
    /// memory is freed (`BlockBuffer.deinit`) only after the last closure using it ran.
    private func readBlocks(_ source: InputSource, columns: LedgerFormat.Columns, shared: Shared,
                            out: OutputBuffer, rejects: RejectSink) throws -> RowParser? {
        let path = source.path
        let buffers = [BlockBuffer(capacity: blockBytes), BlockBuffer(capacity: blockBytes)]
        let pieces = Self.pieces
        let batchSets = (0..<2).map { _ in (0..<pieces).map { _ in Batch(rows: batchRows) } }
        let io = DispatchQueue(label: "retain.ingest.io")
        let tally = shared.tally
        var parser: RowParser? = nil
        var sized = false
        var cur = 0
        try buffers[0].fill(from: source)

        while true {
            let a = buffers[cur]
            if a.filled == 0 && a.eof { break }
            // Cut at the last newline; the tail starts the next block.
            var end = a.filled
            if !a.eof {
                guard let cut = RecordBoundary.last(a.data, a.filled) else {
                    // One line longer than the block: grow both buffers (a line is never split).
                    io.sync {}  // also brings the line count up to date
                    guard a.capacity < 1 << 30 else {
                        throw LedgerError.inputMismatch(path: path, line: tally.linesBefore + 1,
                                                        reason: "a line is longer than 1 GiB; is this a text log?")
                    }
                    for buf in buffers { buf.grow(to: a.capacity * 2) }
                    try a.fill(from: source)
                    continue
                }
                end = cut
            }
            var start = 0
            if parser == nil {
                let (p, consumed) = try makeParser(block: a.data, end: end, path: path, channels: shared.channels)
                parser = p
                start = consumed
                tally.linesBefore = consumed > 0 ? 1 : 0
            }
            guard let parser else { break }

            // Read the next block in the background, starting with this block's tail.
            let next = buffers[1 - cur]
            let readDone = DispatchSemaphore(value: 0)
            let tailStart = end
            io.async {
                defer { readDone.signal() }
                guard tally.error == nil else { return }
                do {
                    next.take(tailOf: a, from: tailStart)
                    if !next.eof { try next.fill(from: source) }
                } catch { tally.error = error }
            }

            // Both passes over this block, while the queue writes the last and reads the next.
            let batches = batchSets[cur]
            let workers = try parseAndAssign(a.data, start: start, end: end, into: batches, parser: parser, shared: shared,
                                             sizeTablesFor: sized ? nil : source, path: path, io: io)
            sized = true
            // Rejects and rows of this block, in file order, on the I/O queue.
            // The closure holds the block, not only its address: rejects' text is read from
            // it, and the optimiser may end `buffers` at its last use, before the queue drains.
            let log = parser.hasOrder ? shared.duplicateLog : nil
            let written = a
            io.async {
                guard tally.error == nil else { return }
                do {
                    try writeBlock(batches: Array(batches.prefix(workers)), block: written.data, columns: columns,
                                   channelOrder: shared.channelOrder, out: out, rejects: rejects, duplicates: log,
                                   tally: tally, inputPath: path)
                } catch { tally.error = error }
            }
            readDone.wait()
            if let e = tally.error { io.sync {}; throw e }
            cur = 1 - cur
        }
        io.sync {}
        if let e = tally.error { throw e }
        return parser
    }

    /// Pass 1 (rows of `[start, end)` parsed in pieces into `batches`) and pass 2 (their
    /// customer ids mapped to slots) over one block; returns how many batches hold rows.
    /// After the first block (`sizeTablesFor`), the tables are sized for the whole input
    /// once: doubling from small means rehashing millions of random entries several times.
    private func parseAndAssign(_ data: UnsafeMutableRawPointer, start: Int, end: Int, into batches: [Batch], parser: RowParser,
                                shared: Shared, sizeTablesFor source: InputSource?, path: String, io: DispatchQueue) throws -> Int {
        for b in batches { b.reset() }
        let bounds = pieceBounds(data, start: start, end: end, pieces: batches.count)
        let workers = bounds.count - 1
        let blockRef = UnsafeSendable(data)
        Workers.run(workers) { w in
            parser.parse(block: blockRef.value, from: bounds[w], to: bounds[w + 1], into: batches[w])
        }
        if let source {
            let rowsHere = batches.reduce(0) { $0 + $1.count }
            if rowsHere > 0 {
                let estimatedRows = Int(Double(source.totalBytesEstimate) / Double(max(end - start, 1)) * Double(rowsHere))
                for t in shared.tables { t.reserve(min(estimatedRows / 8 / Self.partitions, (16 << 20) / Self.partitions)) }
            }
        }
        // Pass 2: customers, partitioned by the id hash's top bits, a range of partitions per worker.
        let groups = Workers.split(Self.partitions, grain: 1)
        let filled = Array(batches.prefix(workers))
        Workers.run(groups.count) { g in
            Ingestor.assignCustomers(partitions: groups[g], batches: filled, tables: shared.tables, block: UnsafeRawPointer(blockRef.value))
        }
        // A slot is 32 bits: refuse, never wrap, past 67 million customers in a partition.
        if shared.tables.contains(where: { $0.count > Int(UInt32.max) / Self.partitions }) {
            io.sync {}
            throw LedgerError.inputMismatch(path: path, line: shared.tally.linesBefore,
                                            reason: "more than 4 billion distinct customer ids in one file; split the input into several files")
        }
        return workers
    }

    /// Where pass 1 cuts `[start, end)` of a block: `pieces` pieces at newlines when the
    /// block has no quote (every newline ends a record); with quotes, once in the middle
    /// (a boundary is judged by quote parity from the block start); small blocks whole.
    /// Pieces, not halves: the I/O queue shares the cores, and a worker that finishes
    /// early takes the next piece instead of waiting at the barrier.
    private func pieceBounds(_ data: UnsafeMutableRawPointer, start: Int, end: Int, pieces: Int) -> [Int] {
        var cuts = [start]
        let total = end - start
        if total >= parallelThreshold {
            if memchr(data + start, 0x22, total) == nil {
                for q in 1..<pieces {
                    let at = max(start + total * q / pieces, cuts[cuts.count - 1])
                    guard let nl = memchr(data + at, 0x0A, end - at) else { break }
                    let c = UnsafeRawPointer(data).distance(to: UnsafeRawPointer(nl)) + 1
                    if c < end { cuts.append(c) }
                }
            } else if let c = RecordBoundary.next(data, start: start, from: start + total / 2, end: end), c < end {
                cuts.append(c)
            }
        }
        cuts.append(end)
        return cuts
    }

    /// Exact duplicate lines of an order: the later copies, to become deleted rows (a
    /// duplicate shares its original's customer and day, so counts and dates stand) and
    /// rejects, with their text read again from the input (duplicates are rare). With
    /// `keysPath`, also writes the key file for the check across inputs.
    private func settleDuplicates(_ log: DuplicateLog, hasOrder: Bool, keysPath: String?, path: String,
                                  rejects: RejectSink) throws -> [(row: UInt32, line: UInt32)] {
        var duplicates: [(row: UInt32, line: UInt32)] = []
        if let keysPath, hasOrder {
            try AtomicFile.write(keysPath, hashing: true) { keys in duplicates = try log.finish(keysTo: keys) }
        } else if log.count > 0 {
            duplicates = try log.duplicates()
        }
        guard !duplicates.isEmpty else { return [] }
        let raw = try Self.lines(duplicates.map { Int($0.line) }, of: path)
        for d in duplicates {
            let text = raw[Int(d.line)] ?? []
            try text.withUnsafeBytes { bytes in
                try rejects.add(line: Int(d.line), reason: .duplicateLine, raw: bytes,
                                detail: "exact duplicate of an earlier line of the same order (same customer, day and text)")
            }
        }
        return duplicates
    }

    /// The customer dictionary: one section per partition, written in bulk; slot s is
    /// partition s % partitions's id number s / partitions.
    private func writeDictionary(_ tables: [CustomerTable], to out: OutputBuffer) throws {
        try out.append(value: LedgerFormat.dictTag.littleEndian)
        try out.append(value: UInt32(tables.count).littleEndian)
        try out.append(value: UInt64(0))
        try out.append(value: UInt64(0))
        for t in tables {
            try out.append(value: UInt32(t.count).littleEndian)
            try out.append(value: UInt32(0))
            try out.append(value: UInt64(t.arena.count).littleEndian)
            try t.offsets.withUnsafeBufferPointer { try out.append(contentsOf: $0) }
            try t.arena.withUnsafeBytes { try out.append($0) }
            try pad(out)
        }
    }

    /// The partition of a customer-id hash: its top bits (the tables probe with the low
    /// bits, so the two are independent).
    @inline(__always) static func partition(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 58) }

    /// Pass 2 for one worker: the rows whose id hash falls in `partitions` get their slot
    /// (index in their partition's table x `Ingestor.partitions` + partition).
    ///
    /// Rows go in groups of 32: first every row's table slot is prefetched, so the group's
    /// cache misses overlap; then the lookups run on cached lines.
    private static func assignCustomers(partitions mineRange: Range<Int>, batches: [Batch], tables: [CustomerTable],
                                        block base: UnsafeRawPointer) {
        let group = 32
        var mineStore = (0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32,
                         0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32,
                         0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32,
                         0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32, 0 as Int32)
        let everyPartition = mineRange == 0..<Self.partitions
        tables.withUnsafeBufferPointer { tables in
        withUnsafeMutableBytes(of: &mineStore) { mineRaw in
            guard let mine = mineRaw.baseAddress?.assumingMemoryBound(to: Int32.self) else { return }
            for b in batches {
                let n = b.count
                let r = b.rows
                let side = UnsafeRawPointer(b.side.base)
                var start = 0
                while start < n {
                    let end = min(start + group, n)
                    var m = 0
                    for i in start..<end where everyPartition || mineRange.contains(partition(r.customerHash[i])) {
                        tables[partition(r.customerHash[i])].touch(r.customerHash[i])
                        mine[m] = Int32(i); m += 1
                    }
                    for k in 0..<m {
                        let i = Int(mine[k])
                        let a = r.customerAt[i]
                        let inBlock = a >= 0
                        let p = inBlock ? base + Int(a) : side + Int(-(a + 1))
                        let h = r.customerHash[i], t = partition(h)
                        let local = tables[t].index(of: p, count: Int(r.customerLength[i]), hash: h, readAhead: inBlock)
                        r.slot[i] = local &* UInt32(Self.partitions) &+ UInt32(t)
                    }
                    start = end
                }
            }
        }
        }
    }

    /// Writes one block's rejects and its accepted rows as chunks, and logs its order
    /// lines for the duplicate check; runs on the I/O queue, in block order.
    private func writeBlock(batches: [Batch], block: UnsafeMutableRawPointer, columns: LedgerFormat.Columns, channelOrder: ChannelOrder,
                            out: OutputBuffer, rejects: RejectSink, duplicates: DuplicateLog?, tally: Tally, inputPath: String) throws {
        var lineBase = tally.linesBefore
        for b in batches {
            for r in b.rejects {
                try rejects.add(line: lineBase + Int(r.line), reason: r.reason,
                                raw: UnsafeRawBufferPointer(start: block + Int(r.start), count: Int(r.length)), detail: r.detail)
            }
            let n = b.count
            if let duplicates, n > 0 {
                // Row and line numbers are kept in 32 bits: over 4 billion is refused, never wrapped.
                guard tally.rowsAccepted + n <= Int(UInt32.max), lineBase + b.lines <= Int(UInt32.max) else {
                    throw LedgerError.inputMismatch(path: inputPath, line: lineBase,
                                                    reason: "more than 4 billion lines in one file; split the input into several files")
                }
                try duplicates.append(keys: b.rows.dedupKey, count: n, firstRow: UInt32(tally.rowsAccepted),
                                      localLines: b.rows.localLine, lineBase: UInt32(lineBase))
            }
            tally.rowsRejected += b.rejects.count
            tally.rowsAccepted += n
            tally.blankLines += b.blankLines
            if n > 0 {
                if columns.contains(.channel) { channelOrder.renumber(b.rows.channel, count: n) }
                tally.minDay = min(tally.minDay, b.minDay)
                tally.maxDay = max(tally.maxDay, b.maxDay)
            }
            lineBase += b.lines
        }
        tally.linesBefore = lineBase
        let filled = batches.filter { $0.count > 0 }
        if !filled.isEmpty { tally.chunks += try writeChunks(filled, columns: columns, to: out) }
    }

    /// The text of the given physical lines (1-based) of an input, read again from the
    /// start (plain or gzip). Used only for the rare duplicate rejects.
    public static func lines(_ wanted: [Int], of path: String) throws -> [Int: [UInt8]] {
        let targets = Set(wanted)
        guard let last = targets.max() else { return [:] }
        let source = try InputSource(path: path)
        let size = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buf.deallocate() }
        var result: [Int: [UInt8]] = [:]
        var line = 1
        var current: [UInt8] = []
        while line <= last {
            let n = try source.read(into: buf, count: size)
            if n == 0 { break }
            var start = 0
            while start < n {
                let rest = n - start
                if let nl = memchr(buf + start, 0x0A, rest) {
                    let end = UnsafeRawPointer(buf).distance(to: UnsafeRawPointer(nl))
                    if targets.contains(line) {
                        current.append(contentsOf: UnsafeRawBufferPointer(start: buf + start, count: end - start))
                        if current.last == 0x0D { current.removeLast() }
                        result[line] = current
                    }
                    current.removeAll(keepingCapacity: true)
                    line += 1
                    start = end + 1
                } else {
                    if targets.contains(line) { current.append(contentsOf: UnsafeRawBufferPointer(start: buf + start, count: rest)) }
                    start = n
                }
            }
        }
        if targets.contains(line) && !current.isEmpty { result[line] = current }
        return result
    }

    /// Resolves the column mapping against the header (or positions) and returns the
    /// parser plus how many bytes the header took.
    func makeParser(block: UnsafeMutableRawPointer, end: Int, path: String, channels: ChannelRegistry) throws -> (RowParser, Int) {
        var positions: [Role: Int] = [:]
        var fieldCount: Int? = nil
        var consumed = 0
        if format.hasHeader {
            var lineEnd = end
            if let nl = memchr(block, 0x0A, end) { lineEnd = UnsafeRawPointer(block).distance(to: UnsafeRawPointer(nl)) }
            consumed = min(lineEnd + 1, end)
            var text = String(decoding: UnsafeRawBufferPointer(start: block, count: lineEnd), as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // UTF-8 byte-order mark
            let names = HeaderLine.split(text, delimiter: format.delimiter)
            fieldCount = names.count
            for (role, ref) in format.columns {
                switch ref {
                case .position(let p):
                    guard p >= 1 && p <= names.count else {
                        throw LedgerError.inputMismatch(path: path, line: 1, reason: "input.columns.\(role.rawValue) = \(p), but the header has \(names.count) columns")
                    }
                    positions[role] = p - 1
                case .name(let n):
                    let exact = names.indices.filter { names[$0] == n }
                    let matches = exact.isEmpty ? names.indices.filter { names[$0].lowercased() == n.lowercased() } : exact
                    if matches.count > 1 {
                        throw LedgerError.ambiguousMapping(path: path, reason: "input.columns.\(role.rawValue) = '\(MessageText.excerpt(n))' "
                            + "names columns \(matches.map { "\($0 + 1)" }.joined(separator: " and ")) of the header; give its 1-based position instead")
                    }
                    guard let k = matches.first else {
                        let header = MessageText.excerpt(names.joined(separator: ", "))
                        // A log whose lines end in CR alone reads as one long header line.
                        let hint = text.contains("\r") ? " (its lines end with a carriage return alone: convert them to LF or CRLF)" : ""
                        throw LedgerError.inputMismatch(path: path, line: 1, reason:
                            "no column named '\(MessageText.excerpt(n))' (pipeline key input.columns.\(role.rawValue)); the header has: \(header)\(hint)")
                    }
                    positions[role] = k
                }
            }
        } else {
            for (role, ref) in format.columns {
                switch ref {
                case .position(let p): positions[role] = p - 1
                case .name(let n):
                    throw LedgerError.inputMismatch(path: path, line: 1, reason:
                        "input.columns.\(role.rawValue) names column '\(n)' but the input has no header; give its 1-based position")
                }
            }
        }
        var parser = RowParser(format: format, positions: positions, fieldCount: fieldCount, channels: channels)
        parser.unquotedFastPath = unquotedFastPath
        return (parser, consumed)
    }

    /// A block's rows as chunks of at most `LedgerFormat.maxChunkRows` rows: each column is
    /// the batches' columns one after another (so a chunk is the same however many pieces
    /// parsed the block), encoded by `ColumnCodec`, the columns on every worker. Returns the
    /// chunks written.
    private func writeChunks(_ batches: [Batch], columns: LedgerFormat.Columns, to out: OutputBuffer) throws -> Int {
        let n = batches.reduce(0) { $0 + $1.count }
        func gather<T: BitwiseCopyable>(_ start: (Batch) -> UnsafeMutablePointer<T>) -> [T] {
            var all: [T] = []
            all.reserveCapacity(n)
            for b in batches { all.append(contentsOf: UnsafeBufferPointer(start: start(b), count: b.count)) }
            return all
        }
        let slot = gather { $0.rows.slot }, day = gather { $0.rows.day }, amount = gather { $0.rows.amount }
        let order = columns.contains(.order) ? gather { $0.rows.order } : []
        let numbers = LedgerFormat.Columns.numeric.enumerated().filter { columns.contains($0.element.0) }.map { k, _ in gather { $0.rows.number(k) } }
        let channel = columns.contains(.channel) ? gather { $0.rows.channel } : []
        var chunks = 0
        for from in stride(from: 0, to: n, by: LedgerFormat.maxChunkRows) {
            let rows = from..<min(n, from + LedgerFormat.maxChunkRows)
            // One encoder per column, in storage order.
            var encoders: [@Sendable () -> [UInt64]] = [
                { slot.withUnsafeBufferPointer { ColumnCodec.encodeIntegers(UnsafeBufferPointer(rebasing: $0[rows])) } },
                { day.withUnsafeBufferPointer { ColumnCodec.encodeIntegers(UnsafeBufferPointer(rebasing: $0[rows])) } },
                { amount.withUnsafeBufferPointer { ColumnCodec.encodeNumbers(UnsafeBufferPointer(rebasing: $0[rows])) } },
            ]
            if columns.contains(.order) {
                encoders.append { order.withUnsafeBufferPointer { ColumnCodec.encodeOrders(UnsafeBufferPointer(rebasing: $0[rows])) } }
            }
            for column in numbers {
                encoders.append { column.withUnsafeBufferPointer { ColumnCodec.encodeNumbers(UnsafeBufferPointer(rebasing: $0[rows])) } }
            }
            if columns.contains(.channel) {
                encoders.append { channel.withUnsafeBufferPointer { ColumnCodec.encodeIntegers(UnsafeBufferPointer(rebasing: $0[rows])) } }
            }
            let streams = Slots<[UInt64]>(count: encoders.count)
            Workers.run(encoders.count) { streams[$0] = encoders[$0]() }
            let encoded = (0..<encoders.count).map { streams[$0] ?? [] }
            // The order stream (the fourth) counts its runs in its head's high word.
            let orderRuns = columns.contains(.order) ? UInt32(truncatingIfNeeded: encoded[3][0] >> 32) : 0
            try out.append(value: LedgerFormat.rowsTag.littleEndian)
            try out.append(value: UInt32(rows.count).littleEndian)
            try out.append(value: columns.rawValue.littleEndian)
            try out.append(value: orderRuns.littleEndian)
            try out.append(value: UInt64(encoded.reduce(0) { $0 + 8 * $1.count }).littleEndian)
            for s in encoded { try s.withUnsafeBufferPointer { try out.append(contentsOf: $0) } }
            chunks += 1
        }
        return chunks
    }

    private func pad(_ out: OutputBuffer) throws {
        let r = out.bytesWritten & 7
        if r != 0 { for _ in 0..<(8 - r) { try out.append(byte: 0) } }
    }
}
