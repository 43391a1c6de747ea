import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// The rows one worker parsed from one half of a block (pass 1), plus what pass 2 adds
/// (customer slots, channel codes, duplicate marks). Reused for every block.
final class Batch: @unchecked Sendable {
    var lines = 0          // physical lines in this half
    var touched: UInt64 = 0  // sum of prefetch loads (kept so they are not optimised away)
    var blankLines = 0
    var minDay = Int32.max, maxDay = Int32.min
    let customerHash = Column<UInt64>()
    /// Where the id's bytes are: >= 0 an offset in the block, < 0 `-(offset + 1)` in `side`.
    let customerAt = Column<Int32>()
    let customerLength = Column<Int32>()
    let day = Column<Int32>()
    let amount = Column<Double>()
    let order = Column<UInt64>()
    let lineHash = Column<UInt64>()
    let numbers = (0..<4).map { _ in Column<Double>() }
    let channelAt = Column<Int32>()
    let channelLength = Column<Int32>()
    let localLine = Column<Int32>()
    let lineStart = Column<Int32>()
    let lineLength = Column<Int32>()
    // Pass 2:
    let slot = Column<UInt32>()
    let channel = Column<UInt16>()
    let keep = Column<Bool>()
    /// Unescaped text of quoted fields that held `""`.
    let side = Column<UInt8>()
    /// Rejects found in pass 1: local line, reason, line start/length in the block, detail.
    var rejects: [(line: Int32, reason: RejectReason, start: Int32, length: Int32, detail: String)] = []

    var count: Int { day.count }

    func reset() {
        lines = 0; blankLines = 0; minDay = .max; maxDay = .min
        for c in [customerAt, customerLength, day, channelAt, channelLength, localLine, lineStart, lineLength] as [Column<Int32>] { c.removeAll() }
        customerHash.removeAll(); order.removeAll(); lineHash.removeAll()
        amount.removeAll(); for c in numbers { c.removeAll() }
        slot.removeAll(); channel.removeAll(); keep.removeAll(); side.removeAll()
        rejects.removeAll(keepingCapacity: true)
    }

    @inline(__always) func textPointer(block: UnsafeRawPointer, at: Int32) -> UnsafeRawPointer {
        at >= 0 ? block + Int(at) : UnsafeRawPointer(side.base) + Int(-(at + 1))
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
    let numberSlots: [Int]    // their index into Batch.numbers
    let path: String
    /// Where each mapped role was found (0-based field index).
    let positions: [Role: Int]

    static let roleOrder: [Role] = Role.allCases

    init(format: InputFormat, positions: [Role: Int], fieldCount: Int?, path: String) {
        self.format = format
        self.path = path
        self.positions = positions
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

    /// Parses the lines in `[from, to)` of `block` (`to` is just past a newline, or the
    /// end of the data) into `b`. Line numbers are local: 1 is the first line of the range.
    func parse(block: UnsafeMutableRawPointer, from: Int, to: Int, into b: Batch) {
        var fieldStart = [Int32](repeating: 0, count: 9)
        var fieldEnd = [Int32](repeating: 0, count: 9)
        var fieldEscaped = [Bool](repeating: false, count: 9)
        fieldStart.withUnsafeMutableBufferPointer { fs in
        fieldEnd.withUnsafeMutableBufferPointer { fe in
        fieldEscaped.withUnsafeMutableBufferPointer { fx in
        fieldRole.withUnsafeBufferPointer { roleOf in
            let base = UnsafeRawPointer(block)
            var pos = from
            var line: Int32 = 0
            while pos < to {
                let lineStart = pos
                var next: Int
                if let nl = memchr(base + pos, 0x0A, to - pos) {
                    next = base.distance(to: UnsafeRawPointer(nl)) + 1
                } else {
                    next = to
                }
                var lineEnd = next
                if lineEnd > lineStart && base.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0A { lineEnd -= 1 }
                if lineEnd > lineStart && base.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
                pos = next
                line += 1
                if lineEnd == lineStart { b.blankLines += 1; continue }

                for k in 0..<9 { fs[k] = -1 }
                // Split into fields.
                var fields = 0
                var i = lineStart
                var bad: (RejectReason, String)? = nil
                switch format.delimiter {
                case .whitespace:
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
                case .byte(let delim):
                    while true {
                        var s = i, e: Int
                        var escaped = false
                        if i < lineEnd && base.load(fromByteOffset: i, as: UInt8.self) == 0x22 {
                            i += 1; s = i
                            var closed = false
                            while i < lineEnd {
                                if base.load(fromByteOffset: i, as: UInt8.self) == 0x22 {
                                    if i + 1 < lineEnd && base.load(fromByteOffset: i + 1, as: UInt8.self) == 0x22 {
                                        escaped = true; i += 2; continue
                                    }
                                    closed = true; break
                                }
                                i += 1
                            }
                            if !closed { bad = (.unterminatedQuote, "field \(fields + 1) opens a quote that is not closed on this line"); break }
                            e = i
                            i += 1
                            if i < lineEnd && base.load(fromByteOffset: i, as: UInt8.self) != delim {
                                bad = (.unterminatedQuote, "field \(fields + 1) has text after its closing quote"); break
                            }
                        } else {
                            if let d = memchr(base + i, Int32(delim), lineEnd - i) {
                                i = base.distance(to: UnsafeRawPointer(d))
                            } else {
                                i = lineEnd
                            }
                            e = i
                        }
                        if fields < roleOf.count, roleOf[fields] >= 0 {
                            let r = Int(roleOf[fields]); fs[r] = Int32(s); fe[r] = Int32(e); fx[r] = escaped
                        }
                        fields += 1
                        if i < lineEnd { i += 1 } else { break }  // past the delimiter
                    }
                }
                if bad == nil {
                    if fields < expectedFields {
                        bad = (.missingField, "expected \(expectedFields) fields, found \(fields)")
                    } else if strictWidth && fields > expectedFields {
                        bad = (.tooManyFields, "expected \(expectedFields) fields, found \(fields) (an unquoted delimiter inside a value?)")
                    }
                }
                if bad == nil { bad = validate(base: base, b: b, fs: fs, fe: fe, fx: fx, line: line, lineStart: lineStart, lineEnd: lineEnd) }
                if let (reason, detail) = bad {
                    b.rejects.append((line, reason, Int32(lineStart), Int32(lineEnd - lineStart), detail))
                }
            }
            b.lines = Int(line)
        }}}}
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

    /// Checks and stores one row; returns the reason when it must be rejected.
    @inline(__always)
    private func validate(base: UnsafeRawPointer, b: Batch, fs: UnsafeMutableBufferPointer<Int32>,
                          fe: UnsafeMutableBufferPointer<Int32>, fx: UnsafeMutableBufferPointer<Bool>,
                          line: Int32, lineStart: Int, lineEnd: Int) -> (RejectReason, String)? {
        // Role ordinals follow Role.allCases: 0 customer, 1 date, 2 amount, 3 order,
        // 4 quantity, 5 cost, 6 discount, 7 service cost, 8 channel.
        let (cAt, cLen) = text(base, b, fs[0], fe[0], fx[0])
        if cLen == 0 { return (.emptyCustomerID, "the customer id is empty") }
        let cp = b.textPointer(block: base, at: cAt)
        var high: UInt8 = 0
        for k in 0..<Int(cLen) { high |= cp.load(fromByteOffset: k, as: UInt8.self) }
        if high >= 0x80 && !CSVText.isValidUTF8(UnsafeRawBufferPointer(start: cp, count: Int(cLen))) {
            return (.invalidText, "the customer id is not valid UTF-8")
        }

        let dp = base + Int(fs[1]), dn = Int(fe[1] - fs[1])
        if dn == 0 { return (.missingField, "the date is empty") }
        guard let day = format.dateFormat.parse(dp, count: dn) else {
            return (.unparsableDate, "date \(shown(dp, dn)) does not match \(format.dateFormat.pattern) or is not a real day")
        }
        if day < format.earliestDay || day > format.latestDay {
            return (.implausibleDate, "date \(CivilDate.iso(day)) is outside the plausible range "
                + "\(CivilDate.iso(format.earliestDay))..\(CivilDate.iso(format.latestDay))")
        }

        let ap = base + Int(fs[2]), an = Int(fe[2] - fs[2])
        if an == 0 { return (.missingField, "the amount is empty") }
        guard let amount = Decimal.parse(ap, count: an, mark: format.decimalMark) else {
            return (.unparsableAmount, "amount \(shown(ap, an)) is not a number")
        }
        if !(abs(amount) <= format.maxAbsAmount) {
            return (.implausibleAmount, "amount \(shown(ap, an)) exceeds the plausible maximum \(format.maxAbsAmount)")
        }

        var orderHash: UInt64 = 0
        if hasOrder {
            let (oAt, oLen) = text(base, b, fs[3], fe[3], fx[3])
            if oLen == 0 { return (.missingOrderID, "the order id is empty") }
            orderHash = XXH64.hash(b.textPointer(block: base, at: oAt), count: Int(oLen), seed: 0x6F72)
        }

        var values: (Double, Double, Double, Double) = (.nan, .nan, .nan, .nan)
        for (k, slot) in numberSlots.enumerated() {
            let r = 4 + slot
            let p = base + Int(fs[r]), n = Int(fe[r] - fs[r])
            var v = Double.nan  // an empty optional value is unknown, not zero
            if n > 0 {
                guard let x = Decimal.parse(p, count: n, mark: format.decimalMark), abs(x) <= format.maxAbsAmount else {
                    return (.unparsableNumber, "\(numberRoles[k].rawValue) \(shown(p, n)) is not a plausible number")
                }
                v = x
            }
            switch slot {
            case 0: values.0 = v
            case 1: values.1 = v
            case 2: values.2 = v
            default: values.3 = v
            }
        }

        // Accepted: store.
        b.customerAt.append(cAt)
        b.customerLength.append(cLen)
        b.customerHash.append(XXH64.hash(cp, count: Int(cLen)))
        b.day.append(day)
        b.amount.append(amount)
        if day < b.minDay { b.minDay = day }
        if day > b.maxDay { b.maxDay = day }
        if hasOrder {
            b.order.append(orderHash)
            b.lineHash.append(XXH64.hash(base + lineStart, count: lineEnd - lineStart, seed: 0x6C6E))
        }
        for slot in numberSlots {
            let v: Double
            switch slot { case 0: v = values.0; case 1: v = values.1; case 2: v = values.2; default: v = values.3 }
            b.numbers[slot].append(v)
        }
        if hasChannel {
            let (hAt, hLen) = text(base, b, fs[8], fe[8], fx[8])
            b.channelAt.append(hAt); b.channelLength.append(hLen)
        }
        b.localLine.append(line)
        b.lineStart.append(Int32(lineStart))
        b.lineLength.append(Int32(lineEnd - lineStart))
        return nil
    }
}
