import RetainIO

/// The compact encodings of a ledger chunk's columns (`LedgerFormat`).
///
/// Each column of a chunk is one stream of 8-byte words: a head of two words, then a body.
/// ```
/// head   kind u8 | width u8 | scale u8 | flags u8 | runs u32 | base i64
/// body   packed, decimal: the codes, `width` bits each, little-endian bit order, then
///                         one zero word (a reader loads 8 bytes at any code's first byte)
///        raw:             one 8-byte value per row
///        runs:            a bit per row (1 = the row starts a run), then `runs` values
/// ```
/// - `packed` (customer slots, days, channels): integers as `base + code`;
/// - `decimal` (amounts and the other numbers): `Double(base + code) / 10^scale`, scale 0
///   to 4 (whole units, cents, ...); with flag 1, the all-ones code is NaN (an empty cell);
/// - `raw`: numbers that are not such decimals, as their bits;
/// - `runs` (order id hashes): the lines of an order sit together in a log, so an id is
///   stored once per run of rows that share it.
/// The writer checks that every number decodes to the same bits, else stores the column
/// raw: reading a chunk gives back exactly the values ingest parsed. Widths are at most
/// 56 bits (wider ranges are stored raw), so one unaligned load and a shift read a code.
enum ColumnCodec {
    enum Kind: UInt8 { case packed = 1, decimal = 2, raw = 3, runs = 4 }

    static let headWords = 2
    static let maxWidth = 56
    /// Powers of ten the decimal kind divides by (exact doubles, so the division is the
    /// same correctly rounded one the parser made: `DecimalText`).
    static let pow10: [Double] = [1, 10, 100, 1000, 10_000]
    static let nanFlag: UInt8 = 1

    // MARK: Writing

    /// The bits a code up to `range` needs.
    @inline(__always) static func width(_ range: UInt64) -> Int { range == 0 ? 0 : 64 - range.leadingZeroBitCount }

    static func head(_ kind: Kind, width: Int = 0, scale: Int = 0, flags: UInt8 = 0, runs: Int = 0, base: Int64 = 0) -> [UInt64] {
        [UInt64(kind.rawValue) | UInt64(width) << 8 | UInt64(scale) << 16 | UInt64(flags) << 24 | UInt64(runs) << 32,
         UInt64(bitPattern: base)]
    }

    /// Words of a packed body of `n` codes of `width` bits.
    @inline(__always) static func packedWords(_ n: Int, width w: Int) -> Int { w == 0 ? 0 : (n * w + 63) / 64 + 1 }

    /// `n` codes of `w` bits, each from `code(i)`, appended to `out` after its head.
    @inline(__always)
    static func pack(_ n: Int, width w: Int, into out: inout [UInt64], _ code: (Int) -> UInt64) {
        let words = packedWords(n, width: w)
        guard words > 0 else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: words))
        out.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress.map({ $0 + start }) else { return }
            for i in 0..<n {
                let v = code(i), bit = i &* w, k = bit >> 6, off = bit & 63
                p[k] |= v << UInt64(off)
                if off + w > 64 { p[k + 1] |= v >> UInt64(64 - off) }
            }
        }
    }

    /// Integers (slots, days, channels) as a packed stream; their range always fits.
    static func encodeIntegers<T: FixedWidthInteger>(_ v: UnsafeBufferPointer<T>) -> [UInt64] {
        var lo = Int64.max, hi = Int64.min
        for x in v { let x = Int64(x); lo = min(lo, x); hi = max(hi, x) }
        if v.isEmpty { lo = 0; hi = 0 }
        let w = width(UInt64(hi - lo))
        var out = head(.packed, width: w, base: lo)
        pack(v.count, width: w, into: &out) { UInt64(Int64(v[$0]) - lo) }
        return out
    }

    /// Numbers as a decimal stream when each is an integer over 10^scale (scale 2, then 4,
    /// reduced to 1 or 0 when every code allows), else raw.
    static func encodeNumbers(_ v: UnsafeBufferPointer<Double>) -> [UInt64] {
        for scale in [2, 4] {
            if let s = decimal(v, scale: scale) { return s }
        }
        var out = head(.raw)
        out.append(contentsOf: v.lazy.map(\.bitPattern))
        return out
    }

    /// The decimal stream of `v` at `scale`, or nil if a value is not `c / 10^scale` for an
    /// integer |c| < 2^53 (or a NaN of a pattern other than `Double.nan`'s).
    static func decimal(_ v: UnsafeBufferPointer<Double>, scale: Int) -> [UInt64]? {
        let n = v.count, f = pow10[scale]
        var codes = [Int64](repeating: 0, count: n)
        var lo = Int64.max, hi = Int64.min, hasNaN = false
        var tenths = true, whole = true
        let nanBits = Double.nan.bitPattern
        let ok = codes.withUnsafeMutableBufferPointer { c -> Bool in
            for i in 0..<n {
                let x = v[i]
                if x.isNaN {
                    guard x.bitPattern == nanBits else { return false }
                    hasNaN = true
                    continue
                }
                let m = (x * f).rounded()
                guard abs(m) < 9_007_199_254_740_992 else { return false }
                let k = Int64(m)
                guard (Double(k) / f).bitPattern == x.bitPattern else { return false }
                c[i] = k
                lo = min(lo, k); hi = max(hi, k)
                if k % 10 != 0 { tenths = false; whole = false } else if k % 100 != 0 { whole = false }
            }
            return true
        }
        guard ok else { return nil }
        // Fewer decimals when every code ends in zeros (2 -> 1 or 0; 4 -> 3 or 2).
        let drop = whole ? 2 : tenths ? 1 : 0
        let divisor: Int64 = drop == 2 ? 100 : drop == 1 ? 10 : 1
        if lo > hi { lo = 0; hi = 0 }  // every value NaN, or none
        lo /= divisor; hi /= divisor
        let range = UInt64(hi - lo) + (hasNaN ? 1 : 0)
        let w = max(width(range), hasNaN ? 1 : 0)
        guard w <= maxWidth else { return nil }
        let nanCode: UInt64 = w == 0 ? 0 : (UInt64.max >> UInt64(64 - w))
        var out = head(.decimal, width: w, scale: scale - drop, flags: hasNaN ? nanFlag : 0, base: lo)
        codes.withUnsafeBufferPointer { c in
            pack(n, width: w, into: &out) { i in v[i].isNaN ? nanCode : UInt64(c[i] / divisor - lo) }
        }
        return out
    }

    /// Order id hashes as runs.
    static func encodeOrders(_ v: UnsafeBufferPointer<UInt64>) -> [UInt64] {
        let n = v.count
        var bits = [UInt64](repeating: 0, count: (n + 63) / 64)
        var runs: [UInt64] = []
        for i in 0..<n where i == 0 || v[i] != v[i - 1] {
            bits[i >> 6] |= 1 << UInt64(i & 63)
            runs.append(v[i])
        }
        return head(.runs, runs: runs.count) + bits + runs
    }

    // MARK: Reading

    /// One column's stream inside a chunk's payload, its sizes checked.
    struct Stream {
        let kind: Kind
        let width: Int
        let scale: Int
        let flags: UInt8
        let runs: Int
        let base: Int64
        let body: UnsafeRawPointer
        /// Bytes from the head's start to the next stream.
        let bytes: Int
    }

    /// The stream at byte `at` of `payload`, for a chunk of `n` rows; `corrupt` for a head
    /// or a size that does not fit.
    static func stream(_ payload: UnsafeRawBufferPointer, at: Int, rows n: Int, corrupt: (String) -> LedgerError) throws -> Stream {
        guard let base = payload.baseAddress, at >= 0, at + 16 <= payload.count else { throw corrupt("a column runs past its chunk") }
        let h0 = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        let b = Int64(bitPattern: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)))
        guard let kind = Kind(rawValue: UInt8(truncatingIfNeeded: h0)) else { throw corrupt("a column has an unknown encoding") }
        let w = Int(UInt8(truncatingIfNeeded: h0 >> 8)), scale = Int(UInt8(truncatingIfNeeded: h0 >> 16))
        let flags = UInt8(truncatingIfNeeded: h0 >> 24), runs = Int(UInt32(truncatingIfNeeded: h0 >> 32))
        guard w <= maxWidth, scale < pow10.count, runs <= n else { throw corrupt("a column's encoding is out of range") }
        let bodyWords: Int
        switch kind {
        case .packed, .decimal: bodyWords = packedWords(n, width: w)
        case .raw: bodyWords = n
        case .runs: bodyWords = (n + 63) / 64 + runs
        }
        let bytes = 16 + bodyWords * 8
        guard bytes <= payload.count - at else { throw corrupt("a column runs past its chunk") }
        return Stream(kind: kind, width: w, scale: scale, flags: flags, runs: runs, base: b, body: UnsafeRawPointer(base + at + 16), bytes: bytes)
    }

    /// The code of row `i` in a packed body (`mask` = width's low bits).
    @inline(__always) static func code(_ body: UnsafeRawPointer, _ i: Int, _ w: Int, _ mask: UInt64) -> UInt64 {
        let bit = i &* w
        return (UInt64(littleEndian: body.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self)) >> UInt64(bit & 7)) & mask
    }

    @inline(__always) static func mask(_ w: Int) -> UInt64 { w == 0 ? 0 : UInt64.max >> UInt64(64 - w) }

    /// Decodes a packed stream into `out` (values truncated to `T`: a damaged part's values
    /// are wrong, never a trap; the checksum reports it).
    static func decodeIntegers<T: FixedWidthInteger>(_ s: Stream, rows n: Int, into out: UnsafeMutablePointer<T>,
                                                    corrupt: (String) -> LedgerError) throws {
        guard s.kind == .packed else { throw corrupt("an integer column has a number encoding") }
        let w = s.width, m = mask(w), body = s.body, base = s.base
        if w == 0 { out.update(repeating: T(truncatingIfNeeded: base), count: n); return }  // no body to read
        for i in 0..<n { out[i] = T(truncatingIfNeeded: base &+ Int64(bitPattern: code(body, i, w, m))) }
    }

    /// Decodes a decimal or raw stream into `out`.
    static func decodeNumbers(_ s: Stream, rows n: Int, into out: UnsafeMutablePointer<Double>, corrupt: (String) -> LedgerError) throws {
        switch s.kind {
        case .raw:
            for i in 0..<n { out[i] = Double(bitPattern: UInt64(littleEndian: s.body.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        case .decimal:
            let w = s.width, m = mask(w), body = s.body, base = s.base, f = pow10[s.scale]
            if w == 0 {
                out.update(repeating: s.flags & nanFlag != 0 ? .nan : Double(base) / f, count: n)  // no body to read
            } else if s.flags & nanFlag != 0 {
                for i in 0..<n {
                    let c = code(body, i, w, m)
                    out[i] = c == m ? .nan : Double(base &+ Int64(bitPattern: c)) / f
                }
            } else {
                for i in 0..<n { out[i] = Double(base &+ Int64(bitPattern: code(body, i, w, m))) / f }
            }
        default:
            throw corrupt("a number column has an integer encoding")
        }
    }

    /// Decodes a runs stream into `out`: the bit count must equal the runs, the first row
    /// must start one, and no bit may follow the last row.
    static func decodeOrders(_ s: Stream, rows n: Int, into out: UnsafeMutablePointer<UInt64>, corrupt: (String) -> LedgerError) throws {
        guard s.kind == .runs else { throw corrupt("the order column is not run-encoded") }
        let words = (n + 63) / 64
        var set = 0
        for k in 0..<words {
            var word = UInt64(littleEndian: s.body.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self))
            if k == words - 1, n & 63 != 0 { guard word >> UInt64(n & 63) == 0 else { throw corrupt("the order runs are inconsistent") }; word &= mask(n & 63) }
            set += word.nonzeroBitCount
        }
        guard set == s.runs, n == 0 || s.body.loadUnaligned(as: UInt8.self) & 1 == 1 else { throw corrupt("the order runs are inconsistent") }
        let values = s.body + 8 * words
        var r = -1
        var current: UInt64 = 0
        for i in 0..<n {
            if (s.body.loadUnaligned(fromByteOffset: (i >> 6) * 8, as: UInt64.self) >> UInt64(i & 63)) & 1 == 1 {
                r += 1
                current = UInt64(littleEndian: values.loadUnaligned(fromByteOffset: 8 * r, as: UInt64.self))
            }
            out[i] = current
        }
    }
}
