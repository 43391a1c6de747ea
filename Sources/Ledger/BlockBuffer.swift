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

/// Hands a pointer to worker closures; the workers write disjoint ranges.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
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
