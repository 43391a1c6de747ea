import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Finds order lines repeated across input files (a day exported in two daily files),
/// from the inputs' key files (see `DuplicateLog.finish(keysTo:)`).
///
/// Each key file holds every distinct order-line key of one input, sorted. A streaming
/// merge of all of them (a heap of one cursor per file, reading 64 KiB at a time) meets
/// every key once, with the inputs that have it; the earliest input keeps the line and
/// the later ones' copies are duplicates. Memory: one buffer per input file.
public enum CrossFileDuplicates {
    public struct Copy: Sendable, Equatable {
        /// Row in its input's part, and physical line in the input.
        public var row: UInt32
        public var line: UInt32
        /// The input (index into the list given) whose line it repeats.
        public var original: Int

        public init(row: UInt32, line: UInt32, original: Int) { self.row = row; self.line = line; self.original = original }
    }

    /// For each key file (inputs in order), the lines whose key an earlier input has.
    public static func find(keyFiles: [String]) throws -> [[Copy]] {
        var result = [[Copy]](repeating: [], count: keyFiles.count)
        guard keyFiles.count > 1 else { return result }
        let cursors = try keyFiles.map { try KeyCursor(path: $0) }
        var heap = MinHeap()
        for (i, c) in cursors.enumerated() { if let k = try c.current() { heap.push(k.key, i) } }
        var holders: [Int] = []
        while let (key, first) = heap.pop() {
            holders = [first]
            while let (k, i) = heap.peek(), k == key { _ = heap.pop(); holders.append(i) }
            if holders.count == 1 {
                // A key of one input only: that input's keys below every other input's
                // next key are unique too, and pass without the heap (a day's file beside a
                // year's part is a scan of the large file).
                let c = cursors[first]
                try c.advance()
                try c.skip(below: heap.peek()?.0)
                if let next = try c.current() { heap.push(next.key, first) }
                continue
            }
            let original = holders.min() ?? first
            for i in holders {
                guard let r = try cursors[i].current() else { continue }
                if i != original { result[i].append(Copy(row: r.row, line: r.line, original: original)) }
                try cursors[i].advance()
                if let next = try cursors[i].current() { heap.push(next.key, i) }
            }
        }
        for i in result.indices { result[i].sort { $0.row < $1.row } }
        return result
    }
}

/// Reads one key file record by record, verifying its header, size and checksum.
final class KeyCursor {
    private let fd: Int32
    private let path: String
    private let records: Int
    private var index = 0
    private var buffer: [DuplicateLog.Record] = []
    private var bufferStart = 0
    private var hasher = XXH64()
    private let checksum: UInt64
    private static let batch = 4096

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason()) }
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        let stride = MemoryLayout<DuplicateLog.Record>.stride
        guard size >= 24, (size - 24) % stride == 0 else {
            close(fd)
            throw LedgerError.corrupt(path: path, reason: "a key file of \(size) bytes is truncated")
        }
        records = (size - 24) / stride
        var head = (UInt64(0), UInt32(0), UInt32(0))
        var tail = UInt64(0)
        let descriptor = fd
        let okHead = withUnsafeMutableBytes(of: &head) { pread(descriptor, $0.baseAddress, 16, 0) } == 16
        let okTail = withUnsafeMutableBytes(of: &tail) { pread(descriptor, $0.baseAddress, 8, off_t(size - 8)) } == 8
        guard okHead, okTail, UInt64(littleEndian: head.0) == DuplicateLog.keyFileMagic,
              UInt32(littleEndian: head.1) == DuplicateLog.keyFileVersion else {
            close(fd)
            throw LedgerError.corrupt(path: path, reason: "not a key file of this version")
        }
        checksum = UInt64(littleEndian: tail)
        withUnsafeBytes(of: head) { hasher.update($0) }
        if records == 0 && hasher.finish() != checksum {
            close(fd)
            throw LedgerError.corrupt(path: path, reason: "key file checksum mismatch")
        }
    }

    deinit { close(fd) }

    func current() throws -> DuplicateLog.Record? {
        guard index < records else { return nil }
        if index - bufferStart >= buffer.count || buffer.isEmpty { try fill() }
        return buffer[index - bufferStart]
    }

    func advance() throws {
        index += 1
        if index == records {  // the whole file has been hashed: check it
            guard hasher.finish() == checksum else { throw LedgerError.corrupt(path: path, reason: "key file checksum mismatch") }
        }
    }

    /// Advances past every record whose key is below `bound` (to the end when nil).
    func skip(below bound: UInt64?) throws {
        while index < records {
            if index - bufferStart >= buffer.count || buffer.isEmpty { try fill() }
            let end = bufferStart + buffer.count
            if let bound {
                while index < end && buffer[index - bufferStart].key < bound { index += 1 }
                if index < end { return }
            } else {
                index = end
            }
        }
        guard hasher.finish() == checksum else { throw LedgerError.corrupt(path: path, reason: "key file checksum mismatch") }
    }

    private func fill() throws {
        let n = min(Self.batch, records - index)
        let stride = MemoryLayout<DuplicateLog.Record>.stride
        buffer = [DuplicateLog.Record](repeating: DuplicateLog.Record(key: 0, row: 0, line: 0), count: n)
        let want = n * stride
        let got = buffer.withUnsafeMutableBytes { b in pread(fd, b.baseAddress, want, off_t(16 + index * stride)) }
        guard got == want else { throw LedgerError.corrupt(path: path, reason: "the key file ends early") }
        buffer.withUnsafeBytes { hasher.update($0) }
        bufferStart = index
        if let first = buffer.first, let last = buffer.last, first.key > last.key {
            throw LedgerError.corrupt(path: path, reason: "key file is not sorted")
        }
    }
}

/// A binary min-heap of (key, input index), ties broken by input index.
struct MinHeap {
    private var items: [(UInt64, Int)] = []

    private static func less(_ a: (UInt64, Int), _ b: (UInt64, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }

    func peek() -> (UInt64, Int)? { items.first }

    mutating func push(_ key: UInt64, _ i: Int) {
        items.append((key, i))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard Self.less(items[c], items[p]) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> (UInt64, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count && Self.less(items[l], items[m]) { m = l }
                if r < items.count && Self.less(items[r], items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return top
    }
}
