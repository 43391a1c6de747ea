import CSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A large write buffer in front of a file descriptor, with number formatting that does
/// not allocate.
///
/// A full run writes tens of millions of numbers; `String(describing: Double)` costs about
/// 100 ns each, while `appendFixed` (integer arithmetic on the value scaled to the stated
/// precision) costs a fraction of that. Output goes out in 1 MiB writes.
/// Not thread-safe: one thread at a time (ingest hands it to its serial I/O queue).
public final class OutputBuffer: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    /// Bytes handed to the kernel so far plus what is buffered.
    public private(set) var bytesWritten = 0
    /// Running XXH64 of everything written when `hashing` (the ledger's checksum); off
    /// otherwise, since hashing every byte of every CSV costs time for nothing.
    public private(set) var hasher = XXH64()
    public let hashing: Bool
    /// Drop what is on disk from the page cache as the file is written (see `startWriteback`).
    public let dropBehind: Bool

    /// Takes ownership of `fd` (closed by `close()`).
    public init(fd: Int32, path: String, capacity: Int = 1 << 20, hashing: Bool = false, dropBehind: Bool = false) {
        self.fd = fd
        self.path = path
        self.hashing = hashing
        self.dropBehind = dropBehind
        self.capacity = max(capacity, 4096)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    /// A buffer that collects in memory (no file): it grows instead of flushing. For
    /// formatting pieces of a file on several cores, to be appended in order afterwards.
    public convenience init(memoryCapacity: Int) {
        self.init(fd: -1, path: "(memory)", capacity: memoryCapacity)
    }

    /// What a memory buffer holds.
    public var contents: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: used) }

    private func grow(toHold n: Int) {
        var cap = capacity
        while cap < n { cap *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
        bigger.copyMemory(from: storage, byteCount: used)
        storage.deallocate()
        storage = bigger
        capacity = cap
    }

    deinit { storage.deallocate() }

    /// Bytes handed to the kernel whose writeback has been started.
    private var writebackStarted = 0
    /// Bytes on disk and dropped from the page cache.
    private var dropped = 0
    private var flushed = 0

    public func flush() throws {
        guard fd >= 0 else { return }  // a memory buffer keeps everything
        defer { startWriteback() }
        var off = 0
        while off < used {
            let n = Glibc.write(fd, storage + off, used - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError.cannotWrite(path: path, reason: IOError.systemReason())
            }
            off += n
        }
        flushed += used
        used = 0
    }

    /// Asks the kernel to start writing what is flushed (every 8 MiB), without waiting, so
    /// the `fsync` at `close` has little left to do: a large output's durability then costs
    /// almost nothing on top of writing it.
    ///
    /// With `dropBehind`, it then waits for the 8 MiB before (whose writeback started one
    /// step earlier) and drops them from the page cache, so the next writes reuse those
    /// pages. For large final outputs no later stage reads back: on a virtual machine that
    /// backs guest memory lazily (the benchmark's, bench/README.md), filling the page cache
    /// with fresh pages cost ~2.4 s of kernel time per GB, against ~0.3 s when the same few
    /// pages are written, dropped and reused. The data must reach the disk anyway (`close`
    /// syncs), so only the cached copy is given up.
    private func startWriteback() {
        let pending = flushed - writebackStarted
        guard pending >= 8 << 20 else { return }
        _ = retain_start_writeback(fd, Int64(writebackStarted), Int64(pending))
        if dropBehind && writebackStarted > dropped {
            _ = retain_drop_written(fd, Int64(dropped), Int64(writebackStarted - dropped))
            dropped = writebackStarted
        }
        writebackStarted = flushed
    }

    @inline(__always) private func ensure(_ n: Int) throws {
        if used + n > capacity {
            if fd < 0 { grow(toHold: used + n) } else { try flush() }
        }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if hashing { hasher.update(bytes) }
        bytesWritten += bytes.count
        if bytes.count > capacity && fd >= 0 {
            try flush()
            // In slices of at most 8 MiB, so writeback (and dropping) keeps pace.
            var off = 0
            while off < bytes.count {
                let n = Glibc.write(fd, base + off, min(bytes.count - off, 8 << 20))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IOError.cannotWrite(path: path, reason: IOError.systemReason())
                }
                off += n
                flushed += n
                startWriteback()
            }
            return
        }
        try ensure(bytes.count)
        (storage + used).copyMemory(from: base, byteCount: bytes.count)
        used += bytes.count
    }

    public func append(_ s: String) throws {
        var s = s
        try s.withUTF8 { u throws in try append(UnsafeRawBufferPointer(u)) }
    }

    @inline(__always) public func append(byte: UInt8) throws {
        try ensure(1)
        storage.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        if hashing { hasher.update(UnsafeRawBufferPointer(start: storage + used, count: 1)) }
        used += 1
        bytesWritten += 1
    }

    /// Appends raw binary values (the ledger's typed columns).
    public func append<T: BitwiseCopyable>(contentsOf values: UnsafeBufferPointer<T>) throws {
        try append(UnsafeRawBufferPointer(values))
    }

    public func append<T: BitwiseCopyable>(value: T) throws {
        var v = value
        try withUnsafeBytes(of: &v) { b throws in try append(b) }
    }

    /// Appends a decimal integer.
    public func append(integer v: Int64) throws {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch
        try withUnsafeMutableBytes(of: &digits) { d throws in
            var n = v.magnitude
            var i = 24
            repeat {
                i -= 1
                d[i] = UInt8(ascii: "0") &+ UInt8(n % 10)
                n /= 10
            } while n > 0
            if v < 0 { i -= 1; d[i] = UInt8(ascii: "-") }
            try append(UnsafeRawBufferPointer(rebasing: d[i..<24]))
        }
    }

    /// Appends `v` with exactly `decimals` digits after the point (0...9), correctly
    /// rounded from the double's exact value (ties to even), as `printf("%.*f")` and Python
    /// format it, so an analyst's tool prints the same text. A non-finite value writes
    /// nothing (an empty CSV field); negative zero is written as zero; values too large for
    /// the fixed-point path use the shortest round-trip form. No allocation per number.
    public func appendFixed(_ v: Double, decimals: Int) throws {
        guard v.isFinite else { return }
        let d = min(max(decimals, 0), 9)
        guard let scaled = Self.scaledRounded(v, d) else { try append("\(v)"); return }
        try appendScaled(scaled.magnitude, decimals: d, negative: scaled < 0)
    }

    /// Appends `v` correctly rounded to at most `maxDecimals` digits after the point,
    /// without trailing zeros ("27.19", "0.333333333", "5"): full precision for analysts
    /// to reproduce, short for common values. NaN writes nothing (an empty field).
    public func appendDecimal(_ v: Double, maxDecimals: Int = 9) throws {
        guard v.isFinite else { return }
        let d = min(max(maxDecimals, 0), 9)
        guard let scaled = Self.scaledRounded(v, d) else { try append("\(v)"); return }
        let (m, kept) = Self.trimmed(scaled.magnitude, decimals: d)
        try appendScaled(m, decimals: kept, negative: scaled < 0)
    }

    /// Appends `v` so that it reads back as exactly the same double: as `appendDecimal`
    /// when at most 9 decimals hold it exactly (values that came from a log or were
    /// computed in cents), else Swift's shortest round-trip form ("0.6931471805599453",
    /// "1.5e-10"). For matrices another tool must refit to the last digit.
    public func appendExact(_ v: Double) throws {
        guard v.isFinite else { return }
        if let scaled = Self.scaledRounded(v, 9), Double(scaled) / 1e9 == v {
            let (m, kept) = Self.trimmed(scaled.magnitude, decimals: 9)
            try appendScaled(m, decimals: kept, negative: scaled < 0)
        } else {
            try append(v.description)
        }
    }

    /// m / 10^d with trailing zeros of the fraction dropped: (m, d) reduced. At most
    /// 15 zeros go (d <= 9 here), so 8, 4, 2 and 1 at a time in turn drop exactly as many
    /// as one at a time would, in four steps instead of up to nine (a whole number written
    /// with 9 decimals had nine).
    @inline(__always) static func trimmed(_ m: UInt64, decimals: Int) -> (UInt64, Int) {
        var m = m, d = decimals
        if m == 0 { return (0, 0) }
        if d >= 8 && m % 100_000_000 == 0 { m /= 100_000_000; d -= 8 }
        if d >= 4 && m % 10_000 == 0 { m /= 10_000; d -= 4 }
        if d >= 2 && m % 100 == 0 { m /= 100; d -= 2 }
        if d >= 1 && m % 10 == 0 { m /= 10; d -= 1 }
        return (m, d)
    }

    /// v·10^d rounded to an integer as the exact decimal value of v would round (ties to
    /// even), or nil when it is too large for the fixed-point path (|v·10^d| >= 9e15).
    ///
    /// p = v·10^d is the product rounded to a double. Below 2^53 its integer part t (one
    /// truncating conversion) and the remainder p - t are exact, so rounding is integer
    /// work, without a libm call. Only when p sits exactly on a tie can rounding p differ
    /// from rounding the exact product, and the product's exact error (one fused
    /// multiply-add; 10^d is exact) settles it.
    @usableFromInline @inline(__always) static func scaledRounded(_ v: Double, _ d: Int) -> Int64? {
        let p = v * FixedPoint.pow10(d)
        guard abs(p) < 9.0e15 else { return nil }  // NaN fails too
        var t = Int64(p)  // toward zero
        let r = p - Double(t)  // exact, in (-1, 1)
        let away: Int64 = p < 0 ? -1 : 1
        if abs(r) > 0.5 {
            t += away
        } else if abs(r) == 0.5 {
            let exactError = fmaError(v, FixedPoint.pow10(d), p)
            if exactError == 0 {
                if t & 1 != 0 { t += away }  // a true tie: to even
            } else if (exactError > 0) == (p > 0) {
                t += away  // the exact product lies beyond the tie
            }
        }
        return t
    }

    /// Writes m / 10^decimals with exactly `decimals` digits after the point, two digits
    /// per step from a pair table, straight into the buffer.
    @inline(__always) private func appendScaled(_ m: UInt64, decimals d: Int, negative: Bool) throws {
        try ensure(24)
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes
        let n = withUnsafeMutableBytes(of: &scratch) { b -> Int in
            let digits = UnsafeMutableRawPointer(b.baseAddress!)  // a tuple's storage always has an address
            var i = 32
            var m = m
            var left = d  // fraction digits still to write
            while left >= 2 {
                i -= 2
                digits.storeBytes(of: Self.digitPair(Int(m % 100)), toByteOffset: i, as: UInt16.self)
                m /= 100
                left -= 2
            }
            if left == 1 {
                i -= 1
                digits.storeBytes(of: UInt8(ascii: "0") &+ UInt8(m % 10), toByteOffset: i, as: UInt8.self)
                m /= 10
            }
            if d > 0 { i -= 1; digits.storeBytes(of: UInt8(ascii: "."), toByteOffset: i, as: UInt8.self) }
            // Integer part: at least one digit.
            while m >= 100 {
                i -= 2
                digits.storeBytes(of: Self.digitPair(Int(m % 100)), toByteOffset: i, as: UInt16.self)
                m /= 100
            }
            if m >= 10 {
                i -= 2
                digits.storeBytes(of: Self.digitPair(Int(m)), toByteOffset: i, as: UInt16.self)
            } else {
                i -= 1
                digits.storeBytes(of: UInt8(ascii: "0") &+ UInt8(m), toByteOffset: i, as: UInt8.self)
            }
            if negative { i -= 1; digits.storeBytes(of: UInt8(ascii: "-"), toByteOffset: i, as: UInt8.self) }
            let count = 32 - i
            (storage + used).copyMemory(from: digits + i, byteCount: count)
            return count
        }
        if hashing { hasher.update(UnsafeRawBufferPointer(start: storage + used, count: n)) }
        used += n
        bytesWritten += n
    }

    /// The two ASCII digits of 0...99 as one little-endian 16-bit store. The table is a
    /// string literal: static storage, no lazy initialisation to check on every number.
    @inline(__always) static func digitPair(_ k: Int) -> UInt16 {
        let table: StaticString = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
        return UnsafeRawPointer(table.utf8Start).loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)
    }

    /// Flushes, `fsync`s and closes the descriptor.
    public func close(sync: Bool = true) throws {
        try flush()
        if sync && fsync(fd) != 0 && errno != EINVAL {
            throw IOError.cannotWrite(path: path, reason: IOError.systemReason())
        }
        if sync && dropBehind { _ = retain_drop_cached(fd, Int64(dropped), 0) }  // the rest is on disk now: drop it too
        if Glibc.close(fd) != 0 { throw IOError.cannotWrite(path: path, reason: IOError.systemReason()) }
    }
}

/// The exact rounding error of the product a·b computed as p (a·b = p + error).
@usableFromInline @inline(__always) func fmaError(_ a: Double, _ b: Double, _ p: Double) -> Double {
    (-p).addingProduct(a, b)  // one fused multiply-add: a·b - p without intermediate rounding
}

public enum FixedPoint {
    /// `v` correctly rounded to `decimals` (0...9) digits after the point, as the double
    /// nearest that decimal (what reading `appendFixed`'s text gives back). Inlinable: the
    /// trainer rounds every logged value, and as a call it cost more than the log itself.
    @inlinable public static func rounded(_ v: Double, decimals: Int) -> Double {
        let d = min(max(decimals, 0), 9)
        guard v.isFinite, let m = OutputBuffer.scaledRounded(v, d) else { return v }
        return Double(m) / pow10(d)
    }

    /// 10^k for k in 0...22, exact (each is a double without rounding). A switch over
    /// literals for the common small k: no global table whose lazy initialisation is
    /// checked on every number. Inlinable, so the parsers of other modules (five numbers
    /// per ingested row) do not call it: as a call it was 2% of ingest.
    @inlinable @inline(__always) public static func pow10(_ k: Int) -> Double {
        switch k {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        default: return powersOfTen[k]
        }
    }

    public static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }
}
