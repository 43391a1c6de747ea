import CSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A table of the form `CSVTable` reads (a key column, then numeric columns), read a block
/// at a time into one scratch file per column and mapped back read-only: the values a fit
/// makes several passes over, without the process holding them.
///
/// The mapped pages are the kernel's page cache, which it reclaims under memory pressure
/// and reads again from the scratch file when a pass comes back: a snapshot larger than
/// memory (or than a container's limit) is fitted at the speed of the disk instead of
/// failing. The reading itself holds one block of text and that block's columns.
///
/// The scratch files are unlinked as soon as they are created: nothing is left in the
/// folder even when the process is killed, and their space goes back when the last
/// column of this table is gone (`deinit` unmaps; the kernel frees the unlinked files).
public final class MappedColumns: @unchecked Sendable {
    /// The file it was read from (for messages).
    public let path: String
    public let keyName: String
    /// Header names of the numeric columns.
    public let names: [String]
    public let count: Int
    /// Per name, its values; per derived column, its values (see `read`).
    private let values: [UnsafeBufferPointer<Double>]
    private let derivedValues: [String: UnsafeBufferPointer<Double>]
    /// The raw key fields back to back, and where each ends (as `CSVTable`'s).
    private let keyBytes: UnsafeBufferPointer<UInt8>
    private let keyEnds: UnsafeBufferPointer<Int>
    /// Every mapping made, unmapped here and only here.
    private let mappings: [UnsafeMutableRawBufferPointer]

    private init(path: String, keyName: String, names: [String], count: Int, values: [UnsafeBufferPointer<Double>],
                 derived: [String: UnsafeBufferPointer<Double>], keyBytes: UnsafeBufferPointer<UInt8>,
                 keyEnds: UnsafeBufferPointer<Int>, mappings: [UnsafeMutableRawBufferPointer]) {
        self.path = path; self.keyName = keyName; self.names = names; self.count = count; self.values = values
        self.derivedValues = derived; self.keyBytes = keyBytes; self.keyEnds = keyEnds; self.mappings = mappings
    }

    deinit {
        for m in mappings { if let base = m.baseAddress { munmap(base, m.count) } }
    }

    /// The column called `name`, if the file has it (keeps this table alive).
    public func column(_ name: String) -> DoubleColumn? {
        names.firstIndex(of: name).map { DoubleColumn(mapped: values[$0], owner: self) }
    }

    /// The column derived from `name` by `read`'s `deriving`, if one was asked for.
    public func derived(_ name: String) -> DoubleColumn? {
        derivedValues[name].map { DoubleColumn(mapped: $0, owner: self) }
    }

    /// The raw (escaped) key field of row `i`.
    public func rawKey(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let start = i == 0 ? 0 : keyEnds[i - 1]
        return UnsafeBufferPointer(rebasing: keyBytes[start..<keyEnds[i]])
    }

    /// The key of row `i` as the input had it (see `CSVTable.key`).
    public func key(_ i: Int) -> String { CSVText.decode(ArraySlice(rawKey(i))) }

    /// Whether row `i` here and row `j` of `other` have the same raw key.
    @inline(__always) public func sameKey(_ i: Int, as other: MappedColumns, _ j: Int) -> Bool {
        let a = rawKey(i), b = other.rawKey(j)
        guard a.count == b.count else { return false }
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        return memcmp(pa, pb, a.count) == 0
    }

    /// Appends the raw key field of row `i` to `out`.
    @inline(__always) public func appendRawKey(_ i: Int, to out: OutputBuffer) throws {
        try out.append(UnsafeRawBufferPointer(rawKey(i)))
    }

    /// Reads the CSV at `path` with `CSVTable`'s rules and messages (line numbers are the
    /// file's), `blockBytes` of text at a time cut at record boundaries, into scratch files
    /// in the folder `scratch`. `deriving`: per column name, a function whose values are
    /// stored beside the column's (`derived`), made block by block on the workers.
    public static func read(_ path: String, scratch: String, deriving: [String: @Sendable (Double) -> Double] = [:],
                            blockBytes: Int = 32 << 20) throws -> MappedColumns {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.cannotRead(path: path, reason: IOError.systemReason()) }
        defer { close(fd) }
        var reader = BlockReader(fd: fd, path: path, capacity: max(blockBytes, 1 << 12))
        defer { reader.buffer.deallocate() }

        // The header: the first line, read whole however long it is.
        var headerEnd: Int? = nil
        while true {
            if let nl = memchr(reader.buffer, 0x0A, reader.filled) { headerEnd = reader.buffer.distance(to: nl); break }
            if reader.atEnd { break }
            if reader.filled == reader.capacity { reader.grow() }
            try reader.fill()
        }
        guard let headerEnd else { throw IOError.malformed(path: path, line: 1, message: "no header line") }
        let lineEnd = headerEnd > 0 && reader.buffer.load(fromByteOffset: headerEnd - 1, as: UInt8.self) == 0x0D ? headerEnd - 1 : headerEnd
        let header = String(decoding: UnsafeRawBufferPointer(start: reader.buffer, count: lineEnd), as: UTF8.self)
            .split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let names = Array(header.dropFirst())
        let derivedNames = names.filter { deriving[$0] != nil }

        let columnFiles = try names.map { _ in try ScratchFile(in: scratch) }
        let derivedFiles = try derivedNames.map { _ in try ScratchFile(in: scratch) }
        let keyFile = try ScratchFile(in: scratch), endFile = try ScratchFile(in: scratch)
        var rows = 0, keyBytes = 0, linesBefore = 1
        var start = headerEnd + 1
        while true {
            try reader.fill()
            guard let cut = reader.atEnd ? reader.filled : reader.lastRecordEnd(from: start) else {
                reader.grow()  // one record longer than the block: read on
                continue
            }
            let block = try CSVTable.parseRecords(UnsafeRawBufferPointer(start: reader.buffer, count: cut), from: start, path: path,
                                                  header: header, linesBefore: linesBefore)
            for (j, column) in block.columns.enumerated() { try column.withUnsafeBytes { try columnFiles[j].append($0) } }
            for (k, name) in derivedNames.enumerated() {
                guard let f = deriving[name], let source = block.column(name) else { continue }
                try source.withUnsafeBufferPointer { Workers.map($0, f) }.withUnsafeBytes { try derivedFiles[k].append($0) }
            }
            try block.keyBytes.withUnsafeBytes { try keyFile.append($0) }
            try block.keyEnds.map { $0 + keyBytes }.withUnsafeBytes { try endFile.append($0) }
            rows += block.count
            keyBytes += block.keyBytes.count
            linesBefore += CSVTable.lineCount(reader.buffer + start, from: 0, to: cut - start)
            let done = reader.atEnd && cut == reader.filled
            reader.consume(cut)
            start = 0
            if done { break }
        }
        var mappings: [UnsafeMutableRawBufferPointer] = []
        func map(_ f: ScratchFile) throws -> UnsafeRawBufferPointer {
            let m = try f.map()
            if m.count > 0 { mappings.append(m) }
            return UnsafeRawBufferPointer(m)
        }
        do {
            let values = try columnFiles.map { try map($0).assumingMemoryBound(to: Double.self) }
            var derived: [String: UnsafeBufferPointer<Double>] = [:]
            for (k, name) in derivedNames.enumerated() { derived[name] = try map(derivedFiles[k]).assumingMemoryBound(to: Double.self) }
            let keys = try map(keyFile).assumingMemoryBound(to: UInt8.self), ends = try map(endFile).assumingMemoryBound(to: Int.self)
            return MappedColumns(path: path, keyName: header[0], names: names, count: rows, values: values, derived: derived,
                                 keyBytes: keys, keyEnds: ends, mappings: mappings)
        } catch {
            for m in mappings { if let base = m.baseAddress { munmap(base, m.count) } }
            throw error
        }
    }
}

/// A file's text a block at a time: `buffer[0..<filled]` holds what is read and not yet consumed.
private struct BlockReader {
    let fd: Int32
    let path: String
    /// Owned here; freed by the reader's user (`MappedColumns.read`'s `defer`).
    var buffer: UnsafeMutableRawPointer
    var capacity: Int
    var filled = 0
    var atEnd = false

    init(fd: Int32, path: String, capacity: Int) {
        self.fd = fd; self.path = path; self.capacity = capacity
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Reads until the buffer is full or the file ends.
    mutating func fill() throws {
        while filled < capacity && !atEnd {
            let r = read(fd, buffer + filled, capacity - filled)
            if r < 0 {
                if errno == EINTR { continue }
                throw IOError.cannotRead(path: path, reason: IOError.systemReason())
            }
            if r == 0 { atEnd = true } else { filled += r }
        }
    }

    /// Twice the room, keeping what is held.
    mutating func grow() {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: 2 * capacity, alignment: 16)
        bigger.copyMemory(from: buffer, byteCount: filled)
        buffer.deallocate()
        buffer = bigger
        capacity *= 2
    }

    /// Drops `buffer[0..<n]`, moving the rest to the front.
    mutating func consume(_ n: Int) {
        if n < filled { memmove(buffer, buffer + n, filled - n) }
        filled -= n
    }

    /// Just past the last newline in `[from, filled)` that ends a record (outside quotes,
    /// judged by quote parity from `from`, a record's start), or nil when there is none.
    func lastRecordEnd(from: Int) -> Int? {
        let b = buffer.assumingMemoryBound(to: UInt8.self)
        guard memchr(buffer + from, 0x22, filled - from) != nil else {
            var k = filled
            while k > from { if b[k - 1] == 0x0A { return k }; k -= 1 }
            return nil
        }
        var inside = false, last: Int? = nil
        for k in from..<filled {
            if b[k] == 0x22 { inside.toggle() } else if b[k] == 0x0A && !inside { last = k + 1 }
        }
        return last
    }
}

/// A file in a scratch folder, unlinked as soon as it is made: written by appending, then
/// mapped read-only (`map`), after which its descriptor is closed and the mapping's owner
/// frees it.
private final class ScratchFile {
    let folder: String
    private var fd: Int32
    private var size = 0
    nonisolated(unsafe) private static var made = 0
    private static let lock = Mutex()

    init(in folder: String) throws {
        self.folder = folder
        Self.lock.lock()
        Self.made += 1
        let n = Self.made
        Self.lock.unlock()
        let path = FilePath.join(folder, ".columns-\(getpid())-\(n)")
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw IOError.cannotWrite(path: path, reason: IOError.systemReason()) }
        unlink(path)
    }

    deinit { if fd >= 0 { close(fd) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let w = write(fd, base + done, bytes.count - done)
            if w < 0 {
                if errno == EINTR { continue }
                throw IOError.cannotWrite(path: folder, reason: "scratch space for a snapshot's columns: " + IOError.systemReason())
            }
            done += w
        }
        // Written back as it goes (without waiting): under a memory limit the kernel can then
        // drop these pages at once instead of writing them out first, in the fit's passes.
        _ = retain_start_writeback(fd, Int64(size), Int64(bytes.count))
        size += bytes.count
    }

    /// The file's bytes, mapped read-only (empty for an empty file); closes the descriptor.
    func map() throws -> UnsafeMutableRawBufferPointer {
        defer { close(fd); fd = -1 }
        guard size > 0 else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw IOError.cannotRead(path: folder, reason: "cannot map a snapshot's scratch columns: " + IOError.systemReason())
        }
        return UnsafeMutableRawBufferPointer(start: p, count: size)
    }
}
