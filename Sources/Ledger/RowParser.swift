import CSupport
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// The columns of a batch as raw pointers sharing one row capacity. The hot loops hold a
/// copy of this struct in locals, so storing a value is one move: no reference counting,
/// no exclusivity check, no capacity check per column (one per row, for all of them).
struct RowColumns {
    private(set) var capacity: Int
    var customerHash: UnsafeMutablePointer<UInt64>
    /// The duplicate-check key of an order line (see `DuplicateLog.key`).
    var dedupKey: UnsafeMutablePointer<UInt64>
    var order: UnsafeMutablePointer<UInt64>
    /// >= 0: offset of the id in the block; < 0: `-(offset + 1)` in the batch's side text.
    var customerAt: UnsafeMutablePointer<Int32>
    var customerLength: UnsafeMutablePointer<Int32>
    var day: UnsafeMutablePointer<Int32>
    var localLine: UnsafeMutablePointer<Int32>
    var lineStart: UnsafeMutablePointer<Int32>
    var lineLength: UnsafeMutablePointer<Int32>
    var amount: UnsafeMutablePointer<Double>
    /// quantity, cost, discount, service cost.
    var n0, n1, n2, n3: UnsafeMutablePointer<Double>
    var channel: UnsafeMutablePointer<UInt16>
    var slot: UnsafeMutablePointer<UInt32>

    init(capacity: Int) {
        self.capacity = capacity
        customerHash = .allocate(capacity: capacity); dedupKey = .allocate(capacity: capacity); order = .allocate(capacity: capacity)
        customerAt = .allocate(capacity: capacity); customerLength = .allocate(capacity: capacity); day = .allocate(capacity: capacity)
        localLine = .allocate(capacity: capacity); lineStart = .allocate(capacity: capacity); lineLength = .allocate(capacity: capacity)
        amount = .allocate(capacity: capacity)
        n0 = .allocate(capacity: capacity); n1 = .allocate(capacity: capacity); n2 = .allocate(capacity: capacity); n3 = .allocate(capacity: capacity)
        channel = .allocate(capacity: capacity); slot = .allocate(capacity: capacity)
    }

    func free() {
        customerHash.deallocate(); dedupKey.deallocate(); order.deallocate()
        customerAt.deallocate(); customerLength.deallocate(); day.deallocate()
        localLine.deallocate(); lineStart.deallocate(); lineLength.deallocate()
        amount.deallocate(); n0.deallocate(); n1.deallocate(); n2.deallocate(); n3.deallocate()
        channel.deallocate(); slot.deallocate()
    }

    /// A copy with twice the capacity holding the first `count` rows; frees `self`.
    func grown(keeping count: Int) -> RowColumns {
        let g = RowColumns(capacity: capacity * 2)
        func move<T>(_ from: UnsafeMutablePointer<T>, _ to: UnsafeMutablePointer<T>) { to.update(from: from, count: count) }
        move(customerHash, g.customerHash); move(dedupKey, g.dedupKey); move(order, g.order)
        move(customerAt, g.customerAt); move(customerLength, g.customerLength); move(day, g.day)
        move(localLine, g.localLine); move(lineStart, g.lineStart); move(lineLength, g.lineLength)
        move(amount, g.amount); move(n0, g.n0); move(n1, g.n1); move(n2, g.n2); move(n3, g.n3)
        move(channel, g.channel); move(slot, g.slot)
        free()
        return g
    }

    /// The optional numeric column `k` (0 quantity, 1 cost, 2 discount, 3 service cost).
    func number(_ k: Int) -> UnsafeMutablePointer<Double> {
        switch k { case 0: return n0; case 1: return n1; case 2: return n2; default: return n3 }
    }
}

/// The rows one worker parsed from one half of a block (pass 1), plus what pass 2 adds
/// (customer slots). Reused for every block.
final class Batch: @unchecked Sendable {
    var lines = 0          // physical lines in this half
    var blankLines = 0
    var minDay = Int32.max, maxDay = Int32.min
    var count = 0
    var rows: RowColumns
    /// Unescaped text of quoted fields that held `""` (rare); a stable address.
    let side = Column<UInt8>()
    /// Rejects found in pass 1: local line, reason, line start/length in the block, detail.
    var rejects: [(line: Int32, reason: RejectReason, start: Int32, length: Int32, detail: String)] = []

    /// Where the current line's field of each role starts and ends in the block, and
    /// whether it held `""`: scratch for the parser, one slot per role. Allocated here,
    /// freed in `deinit`: the batch outlives every parse into it.
    let fieldStart = UnsafeMutablePointer<Int32>.allocate(capacity: Role.allCases.count)
    let fieldEnd = UnsafeMutablePointer<Int32>.allocate(capacity: Role.allCases.count)
    let fieldEscaped = UnsafeMutablePointer<Bool>.allocate(capacity: Role.allCases.count)

    init(rows capacity: Int) {
        rows = RowColumns(capacity: max(capacity, 1))
        fieldStart.initialize(repeating: 0, count: Role.allCases.count)
        fieldEnd.initialize(repeating: 0, count: Role.allCases.count)
        fieldEscaped.initialize(repeating: false, count: Role.allCases.count)
    }

    deinit {
        rows.free()
        fieldStart.deallocate(); fieldEnd.deallocate(); fieldEscaped.deallocate()
    }

    func reset() {
        lines = 0; blankLines = 0; minDay = .max; maxDay = .min; count = 0
        side.removeAll()
        rejects.removeAll(keepingCapacity: true)
    }

    /// Where the text at `at` (block offset or side offset) starts.
    @inline(__always) func textPointer(block: UnsafeRawPointer, at: Int32) -> UnsafeRawPointer {
        if at >= 0 { return block + Int(at) }
        return UnsafeRawPointer(side.base) + Int(-(at + 1))
    }
}

/// Turns lines into typed, validated rows (pass 1 of ingest). Works on bytes only: no
/// String, no allocation per row (rejects, which are rare, build a detail string).
struct RowParser: @unchecked Sendable {
    let format: InputFormat
    /// For each field position, the role ordinal stored there (or -1).
    let fieldRole: [Int8]
    /// Fields a row must have (header width; without a header, the highest mapped position).
    let expectedFields: Int
    let strictWidth: Bool
    let hasOrder: Bool
    let hasChannel: Bool
    let numberRoles: [Role]   // present optional numeric roles, in ledger order
    let numberSlots: [Int]    // their index among the four optional numbers
    /// Where each mapped role was found (0-based field index).
    let positions: [Role: Int]
    let channels: ChannelRegistry
    /// Split quote-free ranges by `retain_match2_64` (see `parseUnquoted`); off only to
    /// test it against the general path.
    var unquotedFastPath = true

    static let roleOrder: [Role] = Role.allCases

    init(format: InputFormat, positions: [Role: Int], fieldCount: Int?, channels: ChannelRegistry) {
        self.format = format
        self.positions = positions
        self.channels = channels
        let maxPos = positions.values.max() ?? 0
        var table = [Int8](repeating: -1, count: maxPos + 1)
        for (role, pos) in positions {
            if let k = Self.roleOrder.firstIndex(of: role) { table[pos] = Int8(k) }
        }
        fieldRole = table
        expectedFields = fieldCount ?? (maxPos + 1)
        strictWidth = fieldCount != nil
        hasOrder = positions[.orderID] != nil
        hasChannel = positions[.channel] != nil
        var roles: [Role] = [], slots: [Int] = []
        for (k, role) in Role.optionalNumbers.enumerated() where positions[role] != nil { roles.append(role); slots.append(k) }
        numberRoles = roles
        numberSlots = slots
    }

    /// A record may run over at most this many extra lines inside a quoted field.
    static let maxLinesPerRecord: Int32 = 1000

    /// Parses the lines in `[from, to)` of `block` (`to` is just past a newline, or the
    /// end of the data) into `b`. Line numbers are local: 1 is the first line of the range.
    /// The block must have 64 readable bytes after `to` (short ids are loaded as words,
    /// quote-free ranges scanned 64 bytes at a time).
    func parse(block: UnsafeMutableRawPointer, from: Int, to: Int, into b: Batch) {
        var channelCache = ChannelRegistry.Cache()
        var dateCache = DateCache()
        let base = UnsafeRawPointer(block)
        fieldRole.withUnsafeBufferPointer { roleOf in
            if case .byte(let d) = format.delimiter, unquotedFastPath, d != 0x0A, d != 0x0D, d != 0x22,
               to > from, memchr(base + from, 0x22, to - from) == nil {
                parseUnquoted(base: base, from: from, to: to, delimiter: d, into: b, fs: b.fieldStart, fe: b.fieldEnd,
                              fx: b.fieldEscaped, roleOf: roleOf, channelCache: &channelCache, dateCache: &dateCache)
            } else {
                parseGeneral(base: base, from: from, to: to, into: b, roleOf: roleOf, channelCache: &channelCache, dateCache: &dateCache)
            }
        }
    }

    /// Where the text of a record is: it may run over several physical lines.
    struct RecordSpan {
        /// One past the record's end (past its newline); where the next record starts.
        var next: Int
        /// The end of its text (line break excluded).
        var end: Int
        /// Physical lines after the first that the record took.
        var extraLines: Int32 = 0
    }

    /// The physical line from `start` in `[start, to)`: one past its newline, and the end
    /// of its text without CR LF.
    @inline(__always) static func physicalLine(_ base: UnsafeRawPointer, from start: Int, to: Int) -> (next: Int, end: Int) {
        var next = to
        if let nl = memchr(base + start, 0x0A, to - start) { next = base.distance(to: UnsafeRawPointer(nl)) + 1 }
        var end = next
        if end > start && base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0A { end -= 1 }
        if end > start && base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0D { end -= 1 }
        return (next, end)
    }

    /// Any delimiter, quotes, whitespace: line by line, each split into fields
    /// (`splitWhitespace`, `splitDelimited`) and checked (`finishLine`).
    private func parseGeneral(base: UnsafeRawPointer, from: Int, to: Int, into b: Batch, roleOf: UnsafeBufferPointer<Int8>,
                              channelCache: inout ChannelRegistry.Cache, dateCache: inout DateCache) {
        var delimPattern: UInt64 = 0
        if case .byte(let d) = format.delimiter { delimPattern = UInt64(d) &* 0x0101_0101_0101_0101 }
        var pos = from
        var line: Int32 = 0
        var extraLines: Int32 = 0  // lines the previous record ran over (quoted line breaks)
        while pos < to {
            let lineStart = pos
            let (next, lineEnd) = Self.physicalLine(base, from: pos, to: to)
            pos = next
            line += 1 + extraLines
            extraLines = 0
            if lineEnd == lineStart { b.blankLines += 1; continue }
            var record = RecordSpan(next: next, end: lineEnd)
            let fields: Int, bad: (RejectReason, String)?
            switch format.delimiter {
            case .whitespace:
                fields = splitWhitespace(base, from: lineStart, to: lineEnd, roleOf: roleOf, into: b)
                bad = nil
            case .byte(let delim):
                (fields, bad) = splitDelimited(base, delim, pattern: delimPattern, from: lineStart, record: &record, limit: to,
                                               roleOf: roleOf, into: b)
            }
            pos = record.next
            extraLines = record.extraLines
            finishLine(base: base, b: b, fields: fields, fs: b.fieldStart, fe: b.fieldEnd, fx: b.fieldEscaped, line: line,
                       lineStart: lineStart, lineEnd: record.end, split: bad, channelCache: &channelCache, dateCache: &dateCache)
        }
        b.lines = Int(line + extraLines)
    }

    /// Fields separated by runs of spaces and tabs; returns how many there were.
    @inline(__always)
    private func splitWhitespace(_ base: UnsafeRawPointer, from lineStart: Int, to lineEnd: Int, roleOf: UnsafeBufferPointer<Int8>,
                                 into b: Batch) -> Int {
        let fs = b.fieldStart, fe = b.fieldEnd, fx = b.fieldEscaped
        var fields = 0
        var i = lineStart
        while true {
            while i < lineEnd {
                let c = base.load(fromByteOffset: i, as: UInt8.self)
                if c != 0x20 && c != 0x09 { break }
                i += 1
            }
            if i >= lineEnd { break }
            let s = i
            while i < lineEnd {
                let c = base.load(fromByteOffset: i, as: UInt8.self)
                if c == 0x20 || c == 0x09 { break }
                i += 1
            }
            if fields < roleOf.count, roleOf[fields] >= 0 {
                let r = Int(roleOf[fields]); fs[r] = Int32(s); fe[r] = Int32(i); fx[r] = false
            }
            fields += 1
        }
        return fields
    }

    /// Fields separated by `delim`, RFC 4180 quotes allowed: a quoted field may hold line
    /// breaks, so the record may go on over the next lines (`record`), up to a limit, so
    /// that one stray quote cannot swallow the rest of the file. Returns how many fields
    /// there were, and why the split failed if it did.
    @inline(__always)
    private func splitDelimited(_ base: UnsafeRawPointer, _ delim: UInt8, pattern delimPattern: UInt64, from lineStart: Int,
                                record: inout RecordSpan, limit to: Int, roleOf: UnsafeBufferPointer<Int8>,
                                into b: Batch) -> (Int, (RejectReason, String)?) {
        let fs = b.fieldStart, fe = b.fieldEnd, fx = b.fieldEscaped
        let firstNext = record.next, firstEnd = record.end
        var fields = 0
        var i = lineStart
        while true {
            var s = i, e: Int
            var escaped = false
            if i < record.end && base.load(fromByteOffset: i, as: UInt8.self) == 0x22 {
                i += 1; s = i
                var closed = false
                while true {
                    while i < record.end {
                        if base.load(fromByteOffset: i, as: UInt8.self) == 0x22 {
                            if i + 1 < record.end && base.load(fromByteOffset: i + 1, as: UInt8.self) == 0x22 {
                                escaped = true; i += 2; continue
                            }
                            closed = true; break
                        }
                        i += 1
                    }
                    guard !closed, record.next < to, record.extraLines < Self.maxLinesPerRecord else { break }
                    let (next, end) = Self.physicalLine(base, from: record.next, to: to)
                    record.end = end
                    record.next = next
                    record.extraLines += 1
                }
                if !closed {
                    // Not closed within the limit: only the first line is rejected.
                    record = RecordSpan(next: firstNext, end: firstEnd)
                    return (fields, (.unterminatedQuote, "field \(fields + 1) opens a quote that is not closed on this line"))
                }
                e = i
                i += 1
                if i < record.end && base.load(fromByteOffset: i, as: UInt8.self) != delim {
                    return (fields, (.unterminatedQuote, "field \(fields + 1) has text after its closing quote"))
                }
            } else {
                i = nextByte(delim, in: base, from: i, to: record.end, pattern: delimPattern)
                e = i
            }
            if fields < roleOf.count, roleOf[fields] >= 0 {
                let r = Int(roleOf[fields]); fs[r] = Int32(s); fe[r] = Int32(e); fx[r] = escaped
            }
            fields += 1
            if i < record.end { i += 1 } else { break }  // past the delimiter
        }
        return (fields, nil)
    }

    /// A line whose fields are split (or whose split failed, `split`): checks the field
    /// count, then stores the row or its reject.
    @inline(__always)
    private func finishLine(base: UnsafeRawPointer, b: Batch, fields: Int, fs: UnsafeMutablePointer<Int32>,
                            fe: UnsafeMutablePointer<Int32>, fx: UnsafeMutablePointer<Bool>, line: Int32,
                            lineStart: Int, lineEnd: Int, split: (RejectReason, String)?,
                            channelCache: inout ChannelRegistry.Cache, dateCache: inout DateCache) {
        var bad = split
        if bad == nil {
            if fields < expectedFields {
                bad = (.missingField, "expected \(expectedFields) fields, found \(fields)")
            } else if strictWidth && fields > expectedFields {
                bad = (.tooManyFields, "expected \(expectedFields) fields, found \(fields) (an unquoted delimiter inside a value?)")
            }
        }
        if bad == nil {
            if b.count == b.rows.capacity { b.rows = b.rows.grown(keeping: b.count) }
            bad = store(base: base, b: b, row: b.count, fs: fs, fe: fe, fx: fx, line: line,
                        lineStart: lineStart, lineEnd: lineEnd, channelCache: &channelCache, dateCache: &dateCache)
            if bad == nil { b.count += 1 }
        }
        if let (reason, detail) = bad {
            b.rejects.append((line, reason, Int32(lineStart), Int32(lineEnd - lineStart), detail))
        }
    }

    /// `parse` for a range without a quote, fields split by one byte (the usual log): the
    /// delimiters and line breaks of 64 bytes are found at once (`retain_match2_64`) and
    /// walked bit by bit, so each field costs a few instructions instead of a scan, and
    /// lines are not searched for separately. The rows, rejects and line numbers are the
    /// general path's (a test compares the two).
    ///
    /// Why: splitting lines and fields byte-wise was about a fifth of ingest's CPU.
    private func parseUnquoted(base: UnsafeRawPointer, from: Int, to: Int, delimiter d: UInt8, into b: Batch,
                               fs: UnsafeMutablePointer<Int32>, fe: UnsafeMutablePointer<Int32>, fx: UnsafeMutablePointer<Bool>,
                               roleOf: UnsafeBufferPointer<Int8>, channelCache: inout ChannelRegistry.Cache, dateCache: inout DateCache) {
        let roles = roleOf.count
        for r in 0..<Role.allCases.count { fx[r] = false }  // no field is quoted here
        var line: Int32 = 0
        var lineStart = from, fieldStart = from, fields = 0
        @inline(__always) func endLine(_ at: Int) {
            var lineEnd = at
            if lineEnd > lineStart && base.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
            line += 1
            if lineEnd == lineStart {
                b.blankLines += 1
            } else {
                if fields < roles, roleOf[fields] >= 0 {
                    let r = Int(roleOf[fields]); fs[r] = Int32(fieldStart); fe[r] = Int32(lineEnd)
                }
                finishLine(base: base, b: b, fields: fields + 1, fs: fs, fe: fe, fx: fx, line: line, lineStart: lineStart,
                           lineEnd: lineEnd, split: nil, channelCache: &channelCache, dateCache: &dateCache)
            }
            lineStart = at + 1; fieldStart = at + 1; fields = 0
        }
        var window = from
        while window < to {
            var marks = retain_match2_64(base + window, d, 0x0A)
            if to - window < 64 { marks &= (UInt64(1) << UInt64(to - window)) &- 1 }
            while marks != 0 {
                let q = window &+ marks.trailingZeroBitCount
                marks &= marks &- 1
                if base.load(fromByteOffset: q, as: UInt8.self) == d {
                    if fields < roles, roleOf[fields] >= 0 {
                        let r = Int(roleOf[fields]); fs[r] = Int32(fieldStart); fe[r] = Int32(q)
                    }
                    fields += 1
                    fieldStart = q + 1
                } else {
                    endLine(q)
                }
            }
            window += 64
        }
        if lineStart < to { endLine(to) }  // a last line without a line break
        b.lines = Int(line)
    }

    @inline(__always) private func text(_ base: UnsafeRawPointer, _ b: Batch, _ s: Int32, _ e: Int32, _ escaped: Bool) -> (Int32, Int32) {
        guard escaped else { return (s, e - s) }
        let at = b.side.count
        var i = Int(s)
        while i < Int(e) {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            b.side.append(c)
            i += (c == 0x22) ? 2 : 1
        }
        return (-Int32(at) - 1, Int32(b.side.count - at))
    }

    /// Checks one row and stores it as row `row` of `b`; returns the reason when it must
    /// be rejected (then nothing is kept).
    @inline(__always)
    private func store(base: UnsafeRawPointer, b: Batch, row: Int, fs: UnsafeMutablePointer<Int32>,
                       fe: UnsafeMutablePointer<Int32>, fx: UnsafeMutablePointer<Bool>,
                       line: Int32, lineStart: Int, lineEnd: Int, channelCache: inout ChannelRegistry.Cache,
                       dateCache: inout DateCache) -> (RejectReason, String)? {
        // Role ordinals follow Role.allCases: 0 customer, 1 date, 2 amount, 3 order,
        // 4 quantity, 5 cost, 6 discount, 7 service cost, 8 channel.
        let (cAt, cLen) = text(base, b, fs[0], fe[0], fx[0])
        if cLen == 0 { return (.emptyCustomerID, "the customer id is empty") }
        let cp = b.textPointer(block: base, at: cAt)
        // Only blanks is no id; a NUL byte would cut the id short in the tools downstream.
        let c0 = cp.load(as: UInt8.self)
        if c0 == 0x20 || c0 == 0x09, (0..<Int(cLen)).allSatisfy({ let c = cp.load(fromByteOffset: $0, as: UInt8.self); return c == 0x20 || c == 0x09 }) {
            return (.emptyCustomerID, "the customer id is only blanks")
        }
        if memchr(cp, 0, Int(cLen)) != nil { return (.invalidText, "the customer id holds a NUL byte") }
        if !isASCII(cp, Int(cLen)) && !CSVText.isValidUTF8(UnsafeRawBufferPointer(start: cp, count: Int(cLen))) {
            return (.invalidText, "the customer id is not valid UTF-8")
        }

        let dp = base + Int(fs[1]), dn = Int(fe[1] - fs[1])
        if dn == 0 { return (.missingField, "the date is empty") }
        guard let day = format.dateFormat.parse(dp, count: dn, cache: &dateCache) else {
            return (.unparsableDate, "date \(shown(dp, dn)) does not match \(format.dateFormat.pattern) or is not a real day")
        }
        if day < format.earliestDay || day > format.latestDay {
            return (.implausibleDate, "date \(CivilDate.iso(day)) is outside the plausible range "
                + "\(CivilDate.iso(format.earliestDay))..\(CivilDate.iso(format.latestDay))")
        }

        let ap = base + Int(fs[2]), an = Int(fe[2] - fs[2])
        if an == 0 { return (.missingField, "the amount is empty") }
        guard let amount = DecimalText.parse(ap, count: an, mark: format.decimalMark) else {
            return (.unparsableAmount, "amount \(shown(ap, an)) is not a number")
        }
        if !(abs(amount) <= format.maxAbsAmount) {
            return (.implausibleAmount, "amount \(shown(ap, an)) exceeds the plausible maximum \(format.maxAbsAmount)")
        }

        let r = b.rows
        if hasOrder {
            let (oAt, oLen) = text(base, b, fs[3], fe[3], fx[3])
            if oLen == 0 { return (.missingOrderID, "the order id is empty") }
            r.order[row] = XXH64.hash(b.textPointer(block: base, at: oAt), count: Int(oLen), seed: 0x6F72)
        }
        for (k, slot) in numberSlots.enumerated() {
            let f = 4 + slot
            let p = base + Int(fs[f]), n = Int(fe[f] - fs[f])
            var v = Double.nan  // an empty optional value is unknown, not zero
            if n > 0 {
                guard let x = DecimalText.parse(p, count: n, mark: format.decimalMark), abs(x) <= format.maxAbsAmount else {
                    return (.unparsableNumber, "\(numberRoles[k].rawValue) \(shown(p, n)) is not a plausible number")
                }
                v = x
            }
            r.number(slot)[row] = v
        }
        if hasChannel {
            let (hAt, hLen) = text(base, b, fs[8], fe[8], fx[8])
            r.channel[row] = channels.code(b.textPointer(block: base, at: hAt), count: Int(hLen), cache: &channelCache)
        }

        // Accepted.
        let customerHash = XXH64.hash(cp, count: Int(cLen))
        r.customerAt[row] = cAt
        r.customerLength[row] = cLen
        r.customerHash[row] = customerHash
        r.day[row] = day
        r.amount[row] = amount
        if day < b.minDay { b.minDay = day }
        if day > b.maxDay { b.maxDay = day }
        if hasOrder {
            let text = XXH64.hash(base + lineStart, count: lineEnd - lineStart, seed: 0x6C6E)
            r.dedupKey[row] = DuplicateLog.key(line: text, customer: customerHash, day: day)
        }
        r.localLine[row] = line
        r.lineStart[row] = Int32(lineStart)
        r.lineLength[row] = Int32(lineEnd - lineStart)
        return nil
    }
}

/// The first index in `[from, to)` holding `byte` (or `to`), eight bytes at a time: XOR
/// with the byte repeated turns matches into zero bytes, and the classic has-zero-byte
/// test finds the first one (its lowest set bit is exact). Reads stay inside the range.
@inline(__always)
func nextByte(_ byte: UInt8, in base: UnsafeRawPointer, from: Int, to: Int, pattern: UInt64) -> Int {
    var i = from
    while i + 8 <= to {
        let x = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ pattern
        let z = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
        if z != 0 { return i + z.trailingZeroBitCount >> 3 }
        i += 8
    }
    while i < to && base.load(fromByteOffset: i, as: UInt8.self) != byte { i += 1 }
    return i
}

/// True when no byte of the `n` bytes at `p` has its high bit set, eight at a time.
@inline(__always)
func isASCII(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
    var acc: UInt64 = 0
    var i = 0
    while i + 8 <= n { acc |= p.loadUnaligned(fromByteOffset: i, as: UInt64.self); i += 8 }
    while i < n { acc |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)); i += 1 }
    return acc & 0x8080_8080_8080_8080 == 0
}
