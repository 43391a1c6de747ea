import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// One input block: bytes read from the source, with 64 bytes of slack after the data
/// (short ids are read as whole words).
final class BlockBuffer: @unchecked Sendable {
    private(set) var data: UnsafeMutableRawPointer
    private(set) var capacity: Int
    var filled = 0
    var eof = false

    init(capacity: Int) {
        self.capacity = capacity
        data = .allocate(byteCount: capacity + 64, alignment: 64)
    }

    deinit { data.deallocate() }

    /// Reads until full or the end of the input.
    func fill(from source: InputSource) throws {
        while !eof && filled < capacity {
            let n = try source.read(into: data + filled, count: capacity - filled)
            if n == 0 { eof = true } else { filled += n }
        }
    }

    /// Starts this buffer with the bytes of `other` from `offset` on (the unparsed tail).
    func take(tailOf other: BlockBuffer, from offset: Int) {
        let n = other.filled - offset
        if n > capacity { grow(to: other.capacity) }
        if n > 0 { data.copyMemory(from: other.data + offset, byteCount: n) }
        filled = n
        eof = other.eof
    }

    func grow(to newCapacity: Int) {
        guard newCapacity > capacity else { return }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity + 64, alignment: 64)
        bigger.copyMemory(from: data, byteCount: filled)
        data.deallocate()
        data = bigger
        capacity = newCapacity
    }
}

/// Counts kept by the I/O queue while it writes blocks (read by the driver after it drains).
final class Tally: @unchecked Sendable {
    var rowsAccepted = 0, rowsRejected = 0, blankLines = 0, chunks = 0, linesBefore = 0
    var minDay = Int32.max, maxDay = Int32.min
    var error: (any Error)?
}


/// The last `\n` in the first `count` bytes (Glibc's `memrchr` is not imported into Swift).
@inline(__always) func lastNewline(_ p: UnsafeMutableRawPointer, _ count: Int) -> UnsafeMutableRawPointer? {
    var i = count - 1
    while i >= 0 {
        if p.load(fromByteOffset: i, as: UInt8.self) == 0x0A { return p + i }
        i -= 1
    }
    return nil
}

/// Where records end, when a quoted field may hold line breaks (RFC 4180): a newline
/// counts only outside quotes, judged by the parity of the quotes since a known record
/// start. Files without a quote (nearly all logs) take the plain newline search; only a
/// block that holds a quote is scanned byte by byte. On input whose quotes do not pair
/// up, the plain newline is used, and the parser rejects the lines that do not parse.
enum RecordBoundary {
    /// Just past the last record-ending newline in `[0, count)` (0 is a record start).
    static func last(_ p: UnsafeMutableRawPointer, _ count: Int) -> Int? {
        let plain = lastNewline(p, count).map { UnsafeRawPointer(p).distance(to: UnsafeRawPointer($0)) + 1 }
        guard count > 0, memchr(p, 0x22, count) != nil else { return plain }
        var inside = false
        var last: Int? = nil
        for i in 0..<count {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 0x22 { inside.toggle() } else if c == 0x0A && !inside { last = i + 1 }
        }
        return last ?? plain
    }

    /// Just past the first record-ending newline at or after `from` in `[start, end)`
    /// (`start` is a record start).
    static func next(_ p: UnsafeMutableRawPointer, start: Int, from: Int, end: Int) -> Int? {
        let plain = memchr(p + from, 0x0A, end - from).map { UnsafeRawPointer(p).distance(to: UnsafeRawPointer($0)) + 1 }
        guard end > start, memchr(p + start, 0x22, end - start) != nil else { return plain }
        var inside = false
        for i in start..<from where p.load(fromByteOffset: i, as: UInt8.self) == 0x22 { inside.toggle() }
        for i in from..<end {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == 0x22 { inside.toggle() } else if c == 0x0A && !inside { return i + 1 }
        }
        return plain
    }
}
