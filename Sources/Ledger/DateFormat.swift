import RetainIO

/// A compiled date pattern, parsed on bytes without allocation.
///
/// Pattern letters follow the Unicode/Java convention people already write:
/// `yyyy` year, `MM`/`M` month, `dd`/`d` day, `HH` hour, `mm` minute, `ss` second,
/// `S...` fraction of a second; anything else (or text in single quotes) must appear
/// literally. The special pattern `iso8601` accepts `YYYY-MM-DD` optionally followed by
/// `T` or a space and a time with optional fraction and zone. Only the calendar date is
/// kept: a transaction's day is the day as written in the log, whatever its zone.
public struct DateFormat: Sendable, Equatable {
    enum Op: Sendable, Equatable {
        case year4, month2, day2, month12, day12, hour2, minute2, second2, fraction
        case literal(UInt8)
        case isoRest
    }

    public let pattern: String
    let ops: [Op]
    /// The two layouts most logs use get a fixed-offset path (no op interpretation).
    enum Fast: Sendable, Equatable { case none, dashed, compact }
    let fast: Fast

    public static let iso = DateFormat(compiled: "yyyy-MM-dd", ops: [.year4, .literal(45), .month2, .literal(45), .day2])

    private init(compiled pattern: String, ops: [Op]) {
        self.pattern = pattern
        self.ops = ops
        fast = Self.classify(ops)
    }

    static func classify(_ ops: [Op]) -> Fast {
        if ops == [.year4, .literal(45), .month2, .literal(45), .day2] { return .dashed }
        if ops == [.year4, .month2, .day2] { return .compact }
        return .none
    }

    /// Compiles a pattern; `nil` when it has no year, month and day.
    public init?(pattern: String) {
        self.pattern = pattern
        if pattern.lowercased() == "iso8601" || pattern.lowercased() == "iso" {
            ops = [.year4, .literal(45), .month2, .literal(45), .day2, .isoRest]
            fast = .none
            return
        }
        var ops: [Op] = []
        let chars = Array(pattern.utf8)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            var run = 1
            while i + run < chars.count && chars[i + run] == c { run += 1 }
            switch (c, run) {
            case (UInt8(ascii: "y"), 4): ops.append(.year4)
            case (UInt8(ascii: "M"), 2): ops.append(.month2)
            case (UInt8(ascii: "M"), 1): ops.append(.month12)
            case (UInt8(ascii: "d"), 2): ops.append(.day2)
            case (UInt8(ascii: "d"), 1): ops.append(.day12)
            case (UInt8(ascii: "H"), 2): ops.append(.hour2)
            case (UInt8(ascii: "m"), 2): ops.append(.minute2)
            case (UInt8(ascii: "s"), 2): ops.append(.second2)
            case (UInt8(ascii: "S"), _): ops.append(.fraction)
            case (UInt8(ascii: "'"), _):
                var j = i + 1
                while j < chars.count && chars[j] != UInt8(ascii: "'") { ops.append(.literal(chars[j])); j += 1 }
                guard j < chars.count else { return nil }
                i = j + 1
                continue
            case (let ch, _) where (ch >= 0x41 && ch <= 0x5A) || (ch >= 0x61 && ch <= 0x7A):
                return nil  // an unknown pattern letter (e.g. `yy`, `MMM`) is an error, not a literal
            default:
                for _ in 0..<run { ops.append(.literal(c)) }
            }
            i += run
        }
        let has = { (o: Op) in ops.contains(o) }
        guard has(.year4), has(.month2) || has(.month12), has(.day2) || has(.day12) else { return nil }
        self.ops = ops
        fast = Self.classify(ops)
    }

    @inline(__always) private static func digit(_ p: UnsafeRawPointer, _ i: Int) -> Int? {
        let v = Int(p.load(fromByteOffset: i, as: UInt8.self)) &- 48
        return (v >= 0 && v <= 9) ? v : nil
    }

    /// Day number of the text at `p`, or `nil` when it does not match or names no real day.
    @inline(__always)
    public func parse(_ p: UnsafeRawPointer, count n: Int) -> Int32? {
        switch fast {
        case .dashed:
            guard n == 10, p.load(fromByteOffset: 4, as: UInt8.self) == 45, p.load(fromByteOffset: 7, as: UInt8.self) == 45 else { return nil }
            return Self.fixedDate(p, year: 0, month: 5, day: 8)
        case .compact:
            guard n == 8 else { return nil }
            return Self.fixedDate(p, year: 0, month: 4, day: 6)
        case .none:
            return interpret(p, count: n)
        }
    }

    /// `parse` with a one-entry cache on the text's first 8 bytes: logs arrive mostly in
    /// date order, so nearly every row repeats the previous row's date. For the fixed
    /// layouts only (their dates are 8 or 10 bytes; the cache key is the first 8 plus the
    /// length, and 10-byte dates are checked in full on a hit through the last 2 bytes).
    @inline(__always)
    public func parse(_ p: UnsafeRawPointer, count n: Int, cache: inout DateCache) -> Int32? {
        guard fast != .none, n >= 8 else { return parse(p, count: n) }
        let head = p.loadUnaligned(as: UInt64.self)
        let tail: UInt16 = n >= 10 ? p.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self) : 0
        if cache.valid && cache.head == head && cache.tail == tail && cache.count == n { return cache.day }
        guard let d = parse(p, count: n) else { return nil }
        cache = DateCache(valid: true, head: head, tail: tail, count: n, day: d)
        return d
    }

    @inline(__always) static func fixedDate(_ p: UnsafeRawPointer, year: Int, month: Int, day: Int) -> Int32? {
        @inline(__always) func d(_ i: Int) -> Int { Int(p.load(fromByteOffset: i, as: UInt8.self)) &- 48 }
        let y0 = d(year), y1 = d(year + 1), y2 = d(year + 2), y3 = d(year + 3)
        let m0 = d(month), m1 = d(month + 1), d0 = d(day), d1 = d(day + 1)
        // One unsigned comparison per digit: a non-digit wraps to a large value.
        guard UInt(bitPattern: y0) <= 9, UInt(bitPattern: y1) <= 9, UInt(bitPattern: y2) <= 9, UInt(bitPattern: y3) <= 9,
              UInt(bitPattern: m0) <= 9, UInt(bitPattern: m1) <= 9, UInt(bitPattern: d0) <= 9, UInt(bitPattern: d1) <= 9 else { return nil }
        return CivilDate.day(year: y0 * 1000 + y1 * 100 + y2 * 10 + y3, month: m0 * 10 + m1, day: d0 * 10 + d1)
    }

    private func interpret(_ p: UnsafeRawPointer, count n: Int) -> Int32? {
        var i = 0
        var y = 0, m = 0, d = 0
        func fixed(_ width: Int, _ limit: Int) -> Int? {
            guard i + width <= n else { return nil }
            var v = 0
            for k in 0..<width { guard let dg = Self.digit(p, i + k) else { return nil }; v = v * 10 + dg }
            i += width
            return v <= limit ? v : nil
        }
        func oneOrTwo() -> Int? {
            guard i < n, let a = Self.digit(p, i) else { return nil }
            i += 1
            if i < n, let b = Self.digit(p, i) { i += 1; return a * 10 + b }
            return a
        }
        for op in ops {
            switch op {
            case .year4: guard let v = fixed(4, 9999) else { return nil }; y = v
            case .month2: guard let v = fixed(2, 12) else { return nil }; m = v
            case .day2: guard let v = fixed(2, 31) else { return nil }; d = v
            case .month12: guard let v = oneOrTwo() else { return nil }; m = v
            case .day12: guard let v = oneOrTwo() else { return nil }; d = v
            case .hour2: guard fixed(2, 23) != nil else { return nil }
            case .minute2: guard fixed(2, 59) != nil else { return nil }
            case .second2: guard fixed(2, 60) != nil else { return nil }
            case .fraction:
                let start = i
                while i < n, Self.digit(p, i) != nil { i += 1 }
                guard i > start else { return nil }
            case .literal(let c):
                guard i < n, p.load(fromByteOffset: i, as: UInt8.self) == c else { return nil }
                i += 1
            case .isoRest:
                guard i < n else { break }
                let sep = p.load(fromByteOffset: i, as: UInt8.self)
                guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: " ") else { return nil }
                i += 1
                // HH:mm[:ss[.fff]][Z|±hh[:mm]]
                guard fixed(2, 23) != nil, i < n, p.load(fromByteOffset: i, as: UInt8.self) == 58 else { return nil }
                i += 1
                guard fixed(2, 59) != nil else { return nil }
                while i < n {
                    let c = p.load(fromByteOffset: i, as: UInt8.self)
                    let ok = (c >= 48 && c <= 57) || c == 58 || c == 46 || c == 43 || c == 45 || c == UInt8(ascii: "Z")
                    guard ok else { return nil }
                    i += 1
                }
            }
        }
        guard i == n else { return nil }
        return CivilDate.day(year: y, month: m, day: d)
    }
}

/// The last date `DateFormat.parse(_:count:cache:)` parsed, per worker.
public struct DateCache: Sendable {
    var valid = false
    var head: UInt64 = 0
    var tail: UInt16 = 0
    var count = 0
    var day: Int32 = 0
    public init() {}
    init(valid: Bool, head: UInt64, tail: UInt16, count: Int, day: Int32) {
        self.valid = valid; self.head = head; self.tail = tail; self.count = count; self.day = day
    }
}

extension DateFormat {
    /// The pattern as a regular expression (the syntax Java and ICU share) matching the
    /// whole text where `parse` accepts its shape, with the year, month and day captured in
    /// the pattern's order (`groups` says which is which). Whether the day exists is left
    /// to the engine that uses it, as `parse` checks it. For engines that validate dates
    /// themselves (Spark SQL): one definition of a format, two engines.
    public var regularExpression: String {
        var out = "^"
        for op in ops {
            switch op {
            case .year4: out += "([0-9]{4})"
            case .month2: out += "([0-9]{2})"
            case .month12: out += "([0-9]{1,2})"
            case .day2: out += "([0-9]{2})"
            case .day12: out += "([0-9]{1,2})"
            case .hour2: out += "(?:[01][0-9]|2[0-3])"
            case .minute2: out += "[0-5][0-9]"
            case .second2: out += "(?:[0-5][0-9]|60)"
            case .fraction: out += "[0-9]+"
            case .literal(let c): out += "\\x" + (c < 16 ? "0" : "") + String(c, radix: 16)
            case .isoRest: out += "(?:[T ](?:[01][0-9]|2[0-3]):[0-5][0-9][0-9:.+Z-]*)?"
            }
        }
        return out + "$"
    }

    /// The capture group (1-based) of the year, month and day in `regularExpression`.
    public var groups: (year: Int, month: Int, day: Int) {
        var order: [Character] = []
        for op in ops {
            switch op {
            case .year4: order.append("y")
            case .month2, .month12: order.append("m")
            case .day2, .day12: order.append("d")
            default: break
            }
        }
        func at(_ c: Character) -> Int { (order.firstIndex(of: c) ?? 0) + 1 }
        return (at("y"), at("m"), at("d"))
    }
}
