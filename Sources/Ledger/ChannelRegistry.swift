import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Channel names to small codes, shared by the parse workers. A log has a handful of
/// channels, so each worker keeps a small cache of (hash, code) and takes the lock only
/// for a name it has not seen. These codes follow the order in which the workers first
/// met each name, which can differ from run to run; the ledger stores `ChannelOrder`'s.
final class ChannelRegistry: @unchecked Sendable {
    struct Cache {
        var hashes: [UInt64] = []
        var codes: [UInt16] = []
    }

    private var hashes: [UInt64] = []
    private(set) var names: [[UInt8]] = []
    private let lock = Mutex()

    @inline(__always) func code(_ p: UnsafeRawPointer, count n: Int, cache: inout Cache) -> UInt16 {
        let h = XXH64.hash(p, count: n, seed: 0x6368)
        for k in 0..<cache.hashes.count where cache.hashes[k] == h { return cache.codes[k] }
        let c = slowCode(h, p, n)
        cache.hashes.append(h)
        cache.codes.append(c)
        return c
    }

    private func slowCode(_ h: UInt64, _ p: UnsafeRawPointer, _ n: Int) -> UInt16 {
        lock.lock(); defer { lock.unlock() }
        let bytes = Array(UnsafeRawBufferPointer(start: p, count: n))
        for (k, x) in hashes.enumerated() where x == h && names[k] == bytes { return UInt16(k) }
        hashes.append(h)
        names.append(bytes)
        return UInt16(min(names.count - 1, Int(UInt16.max)))
    }

    /// The channel section, names in `order`'s numbering (call once the workers are done).
    func write(to out: OutputBuffer, order: ChannelOrder) throws {
        let inOrder = order.registryCodes.map { names[Int($0)] }
        try out.append(value: LedgerFormat.chanTag.littleEndian)
        try out.append(value: UInt32(inOrder.count).littleEndian)
        let total = inOrder.reduce(0) { $0 + $1.count }
        try out.append(value: UInt64(total).littleEndian)
        try out.append(value: UInt64(0))
        var off: UInt32 = 0
        try out.append(value: off)
        for n in inOrder { off += UInt32(n.count); try out.append(value: off.littleEndian) }
        for n in inOrder { try n.withUnsafeBytes { try out.append($0) } }
    }
}

/// Channel codes as the ledger stores them: numbered in the order each channel first
/// appears in the file. The parse workers' codes (`ChannelRegistry`) depend on which
/// worker meets a name first; renumbered on the I/O queue, which writes rows in file
/// order, the same input always gives the same ledger bytes, and the numbers do not
/// depend on how many workers parsed it. One table lookup per row, on the I/O queue.
final class ChannelOrder: @unchecked Sendable {
    /// Registry code -> stored code + 1 (0: not seen yet).
    private var stored = [UInt32](repeating: 0, count: Int(UInt16.max) + 1)
    /// Stored code -> registry code.
    private(set) var registryCodes: [UInt16] = []

    /// Replaces the `count` registry codes at `codes` with stored codes, in place.
    func renumber(_ codes: UnsafeMutablePointer<UInt16>, count: Int) {
        stored.withUnsafeMutableBufferPointer { map in
            for i in 0..<count {
                let c = Int(codes[i])
                var s = map[c]
                if s == 0 {
                    registryCodes.append(UInt16(c))
                    s = UInt32(registryCodes.count)
                    map[c] = s
                }
                codes[i] = UInt16(truncatingIfNeeded: s - 1)
            }
        }
    }
}
