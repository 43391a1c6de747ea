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
    // The buffer's state is visible to inlined code: the small appends and the number
    // formatting are inlined into the writers of other modules (a call per comma and per
    // number was a fifth of formatting a CSV row).
    @usableFromInline var storage: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var used = 0
    /// Bytes handed to the kernel so far plus what is buffered.
    public var bytesWritten: Int { flushed + used }
    /// Running XXH64 of everything written when `hashing` (the ledger's checksum); off
    /// otherwise, since hashing every byte of every CSV costs time for nothing.
    @usableFromInline var runningHash = XXH64()
    public var hasher: XXH64 { runningHash }
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
    /// Bytes handed to the kernel.
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
    /// with fresh pages costs the kernel several times what writing, dropping and reusing
    /// the same few pages does. The data must reach the disk anyway (`close`
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

    @inlinable @inline(__always) func ensure(_ n: Int) throws {
        if used + n > capacity { try makeRoom(n) }
    }

    @usableFromInline func makeRoom(_ n: Int) throws {
        if fd < 0 { grow(toHold: used + n) } else { try flush() }
    }

    /// Hashes the last `n` bytes appended to the buffer (when `hashing`).
    @usableFromInline func hashTail(_ n: Int) {
        runningHash.update(UnsafeRawBufferPointer(start: storage + used - n, count: n))
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if hashing { runningHash.update(bytes) }
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

    @inlinable @inline(__always) public func append(byte: UInt8) throws {
        try ensure(1)
        storage.storeBytes(of: byte, toByteOffset: used, as: UInt8.self)
        used += 1
        if hashing { hashTail(1) }
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
    @inlinable public func append(integer v: Int64) throws {
        try ensure(24)
        var i = 0
        if v < 0 { storage.storeBytes(of: UInt8(ascii: "-"), toByteOffset: used, as: UInt8.self); i = 1 }
        i += Self.writeInteger(v.magnitude, at: storage + used + i)
        used += i
        if hashing { hashTail(i) }
    }

    /// Appends `v` with exactly `decimals` digits after the point (0...9), correctly
    /// rounded from the double's exact value (ties to even), as `printf("%.*f")` and Python
    /// format it, so an analyst's tool prints the same text. A non-finite value writes
    /// nothing (an empty CSV field); negative zero is written as zero; values too large for
    /// the fixed-point path use the shortest round-trip form. No allocation per number.
    @inlinable public func appendFixed(_ v: Double, decimals: Int) throws {
        guard v.isFinite else { return }
        let d = min(max(decimals, 0), 9)
        guard let scaled = Self.scaledRounded(v, d) else { try append("\(v)"); return }
        try appendScaled(scaled.magnitude, decimals: d, trim: false, negative: scaled < 0)
    }

    /// Appends `v` correctly rounded to at most `maxDecimals` digits after the point,
    /// without trailing zeros ("27.19", "0.333333333", "5"): full precision for analysts
    /// to reproduce, short for common values. NaN writes nothing (an empty field).
    @inlinable public func appendDecimal(_ v: Double, maxDecimals: Int = 9) throws {
        guard v.isFinite else { return }
        let d = min(max(maxDecimals, 0), 9)
        guard let scaled = Self.scaledRounded(v, d) else { try append("\(v)"); return }
        try appendScaled(scaled.magnitude, decimals: d, trim: true, negative: scaled < 0)
    }

    /// Appends `v` so that it reads back as exactly the same double: as `appendDecimal`
    /// when at most 9 decimals hold it exactly (values that came from a log or were
    /// computed in cents), else Swift's shortest round-trip form ("0.6931471805599453",
    /// "1.5e-10"). For matrices another tool must refit to the last digit.
    @inlinable public func appendExact(_ v: Double) throws {
        guard v.isFinite else { return }
        if let scaled = Self.scaledRounded(v, 9), Double(scaled) / 1e9 == v {
            try appendScaled(scaled.magnitude, decimals: 9, trim: true, negative: scaled < 0)
        } else {
            try append(v.description)
        }
    }

    /// v·10^d rounded to an integer as the exact decimal value of v would round (ties to
    /// even), or nil when it is too large for the fixed-point path (|v·10^d| >= 9e15).
    ///
    /// p = v·10^d is the product rounded to a double. Below 2^53 its integer part t (one
    /// truncating conversion) and the remainder p - t are exact, so rounding is integer
    /// work, without a libm call. Only when p sits exactly on a tie can rounding p differ
    /// from rounding the exact product, and the product's exact error (one fused
    /// multiply-add; 10^d is exact) settles it.
    @inlinable @inline(__always) static func scaledRounded(_ v: Double, _ d: Int) -> Int64? {
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

    /// Writes m / 10^d (d in 0...9): the integer part, then the fraction with exactly `d`
    /// digits, or with `trim` without its trailing zeros (and without the point when
    /// nothing is left), straight into the buffer.
    ///
    /// The fraction is taken as 9 digits (scaled up when d < 9): its first digit, then the
    /// other 8 as one 64-bit word of digit bytes (`digitBytes8`) stored at once. Its
    /// trailing zeros are the word's zero high bytes, counted with one instruction, so
    /// trimming needs no division loop.
    @inlinable @inline(__always) func appendScaled(_ m: UInt64, decimals d: Int, trim: Bool, negative: Bool) throws {
        try ensure(40)
        let p = storage + used
        var i = 0
        if negative { p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self); i = 1 }
        // m is scaled up to nine decimals first (exact while it fits 64 bits), so the split
        // divides by the constant 10^9: a multiply, not a division by a variable. Larger
        // values go through a call, so that the compiler cannot merge the two divisions
        // into one by a variable.
        let (m9, overflow) = d == 9 ? (m, false) : m.multipliedReportingOverflow(by: Self.integerPower10(9 - d))
        let (whole, f9) = overflow ? Self.split(m, decimals: d) : m9.quotientAndRemainder(dividingBy: 1_000_000_000)
        i += Self.writeInteger(whole, at: p + i)
        if d > 0 && !(trim && f9 == 0) {
            let (first, rest) = f9.quotientAndRemainder(dividingBy: 100_000_000)
            let word = Self.digitBytes8(rest)
            let kept = trim ? (rest == 0 ? 1 : 9 - word.leadingZeroBitCount >> 3) : d
            p.storeBytes(of: UInt8(ascii: "."), toByteOffset: i, as: UInt8.self)
            p.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: first), toByteOffset: i + 1, as: UInt8.self)
            p.storeBytes(of: (word | 0x3030_3030_3030_3030).littleEndian, toByteOffset: i + 2, as: UInt64.self)
            i += 1 + kept
        }
        used += i
        if hashing { hashTail(i) }
    }

    /// m / 10^d: the whole part, and the fraction scaled to nine digits.
    @usableFromInline @inline(never) static func split(_ m: UInt64, decimals d: Int) -> (whole: UInt64, fraction9: UInt64) {
        let (whole, fraction) = m.quotientAndRemainder(dividingBy: integerPower10(d))
        return (whole, fraction &* integerPower10(9 - d))
    }

    /// 10^k for k in 0...9 as an integer (a switch: no global array to initialise lazily).
    @inlinable @inline(__always) static func integerPower10(_ k: Int) -> UInt64 {
        switch k {
        case 0: return 1
        case 1: return 10
        case 2: return 100
        case 3: return 1_000
        case 4: return 10_000
        case 5: return 100_000
        case 6: return 1_000_000
        case 7: return 10_000_000
        case 8: return 100_000_000
        default: return 1_000_000_000
        }
    }

    /// Writes `x` in decimal at `p` (room for 20 bytes; bytes past the digits may be
    /// overwritten), returns the digit count. Below 10^8, one `digitBytes8` word shifted
    /// past its leading zeros and stored at once; larger, two digits per step.
    @inlinable @inline(__always) static func writeInteger(_ x: UInt64, at p: UnsafeMutableRawPointer) -> Int {
        // Most whole parts written are small (days, counts, money): one or two digits take
        // a single store, with no dependency chain.
        if x < 10 {
            p.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: x), as: UInt8.self)
            return 1
        }
        if x < 100 {
            p.storeBytes(of: Self.digitPair(Int(x)), as: UInt16.self)
            return 2
        }
        if x < 100_000_000 {
            let word = digitBytes8(x)
            // Leading zero digits are the word's zero low bytes (x >= 100: at most 5).
            let zeros = word.trailingZeroBitCount >> 3
            p.storeBytes(of: ((word >> (8 * UInt64(zeros))) | 0x3030_3030_3030_3030).littleEndian, as: UInt64.self)
            return 8 - zeros
        }
        var n = 0, t = x
        repeat { n += 1; t /= 10 } while t > 0
        var i = n, m = x
        while m >= 100 {
            i -= 2
            p.storeBytes(of: Self.digitPair(Int(m % 100)), toByteOffset: i, as: UInt16.self)
            m /= 100
        }
        if m >= 10 {
            p.storeBytes(of: Self.digitPair(Int(m)), toByteOffset: 0, as: UInt16.self)
        } else {
            p.storeBytes(of: UInt8(ascii: "0") &+ UInt8(m), as: UInt8.self)
        }
        return n
    }

    /// The 8 decimal digits of `x` (< 10^8, leading zeros included) as byte values 0...9,
    /// the most significant in the lowest byte (first in memory, little-endian): the
    /// halves x / 10^4 and x % 10^4 in two 32-bit lanes, each split by 100 into 16-bit
    /// lanes, each of those by 10 into bytes. Division by 100 is (u·5243) >> 19, exact for
    /// u < 43,699; by 10, (u·103) >> 10, exact for u < 179; no lane overflows into the next.
    @inlinable @inline(__always) static func digitBytes8(_ x: UInt64) -> UInt64 {
        let halves = (x / 10_000) | ((x % 10_000) << 32)
        let hundreds = ((halves &* 5243) >> 19) & 0x0000_007F_0000_007F
        let pairs = hundreds | ((halves &- hundreds &* 100) << 16)
        let tens = ((pairs &* 103) >> 10) & 0x000F_000F_000F_000F
        return tens | ((pairs &- tens &* 10) << 8)
    }

    /// The two ASCII digits of 0...99 as one little-endian 16-bit store. The table is a
    /// string literal: static storage, no lazy initialisation to check on every number.
    @inlinable @inline(__always) static func digitPair(_ k: Int) -> UInt16 {
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
@inlinable @inline(__always) func fmaError(_ a: Double, _ b: Double, _ p: Double) -> Double {
    (-p).addingProduct(a, b)  // one fused multiply-add: a·b - p without intermediate rounding
}

public enum FixedPoint {
    /// `v` correctly rounded to `decimals` (0...9) digits after the point, as the double
    /// nearest that decimal (what reading `appendFixed`'s text gives back). Inlinable: the
    /// trainer rounds every logged value, and as a call it cost more than the log itself.
    @inlinable @inline(__always) public static func rounded(_ v: Double, decimals: Int) -> Double {
        let d = min(max(decimals, 0), 9)
        guard v.isFinite, let m = OutputBuffer.scaledRounded(v, d) else { return v }
        return Double(m) / pow10(d)
    }

    /// 10^k for k in 0...22, exact (each is a double without rounding). A switch over
    /// literals for the common small k: no global table whose lazy initialisation is
    /// checked on every number. Inlinable, so the parsers of other modules (five numbers
    /// per ingested row) do not pay for a call.
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
