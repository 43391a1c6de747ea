import Testing
import Foundation
@testable import Ledger
import RetainIO
import RetainTestSupport

/// The ledger's column encodings give back every value bit for bit, pick the compact form
/// where it holds, and refuse a damaged stream with a `LedgerError`, never a trap.
@Suite("Column codec")
struct ColumnCodecTests {
    static func corrupt(_ reason: String) -> LedgerError { .corrupt(path: "test", reason: reason) }

    /// Encodes `values` with `encode`, then reads the stream back with `decode`.
    func roundTrip<T>(_ values: [T], zero: T, _ encode: (UnsafeBufferPointer<T>) -> [UInt64],
                      _ decode: (ColumnCodec.Stream, Int, UnsafeMutablePointer<T>) throws -> Void) throws -> (ColumnCodec.Stream, [T]) {
        let words = values.withUnsafeBufferPointer(encode)
        return try words.withUnsafeBytes { raw in
            let s = try ColumnCodec.stream(raw, at: 0, rows: values.count, corrupt: Self.corrupt)
            var back = [T](repeating: zero, count: values.count)
            try back.withUnsafeMutableBufferPointer { b in
                if let p = b.baseAddress { try decode(s, values.count, p) }
            }
            return (s, back)
        }
    }

    func roundTrip<T: FixedWidthInteger>(_ values: [T]) throws -> (kind: ColumnCodec.Kind, width: Int, back: [T]) {
        let (s, back) = try roundTrip(values, zero: 0, ColumnCodec.encodeIntegers) {
            try ColumnCodec.decodeIntegers($0, rows: $1, into: $2, corrupt: Self.corrupt)
        }
        return (s.kind, s.width, back)
    }

    func roundTrip(_ values: [Double]) throws -> (kind: ColumnCodec.Kind, width: Int, scale: Int, back: [Double]) {
        let (s, back) = try roundTrip(values, zero: 0, ColumnCodec.encodeNumbers) {
            try ColumnCodec.decodeNumbers($0, rows: $1, into: $2, corrupt: Self.corrupt)
        }
        return (s.kind, s.width, s.scale, back)
    }

    func roundTripOrders(_ values: [UInt64]) throws -> (runs: Int, back: [UInt64]) {
        let (s, back) = try roundTrip(values, zero: 0, ColumnCodec.encodeOrders) {
            try ColumnCodec.decodeOrders($0, rows: $1, into: $2, corrupt: Self.corrupt)
        }
        return (s.runs, back)
    }

    @Test("integers come back exactly, in the narrowest width of their range")
    func integers() throws {
        var rng = SplitMix(seed: 3)
        let slots = (0..<5000).map { _ in UInt32(truncatingIfNeeded: rng.next() % 2_000_000) + 7 }
        let r = try roundTrip(slots)
        #expect(r.back == slots && r.kind == .packed && r.width == 21)
        // One value repeated: no body at all.
        let same = try roundTrip([Int32](repeating: -20_000, count: 300))
        #expect(same.back == [Int32](repeating: -20_000, count: 300) && same.width == 0)
        // The whole range of a 32-bit type, and of a 16-bit one.
        let extremes: [Int32] = [.min, .max, 0, -1, 1, .min + 1]
        #expect(try roundTrip(extremes).back == extremes)
        let channels: [UInt16] = [0, 65_535, 3, 3, 0]
        #expect(try roundTrip(channels).back == channels)
        #expect(try roundTrip([UInt32]()).back.isEmpty)
    }

    @Test("numbers come back bit for bit: short decimals packed, NaN kept, anything else raw")
    func numbers() throws {
        let cents = [46.99, 38.97, 0.01, -12.5, 1_000_000.25, 0]
        let c = try roundTrip(cents)
        #expect(c.back.map(\.bitPattern) == cents.map(\.bitPattern) && c.kind == .decimal && c.scale == 2)
        let whole = [3.0, 1, 12, 0, 2]
        let w = try roundTrip(whole)
        #expect(w.back == whole && w.scale == 0 && w.width == 4)
        let tenths = [0.5, 1.5, 2.0, 10.1]
        #expect(try roundTrip(tenths).scale == 1)
        let fourths = [0.0001, 2.5, 3.1416]
        let f = try roundTrip(fourths)
        #expect(f.back == fourths && f.kind == .decimal && f.scale == 4)
        // Empty cells (NaN) beside values; a column of empty cells only.
        let gaps = [4.5, .nan, 0, .nan, 9.99]
        let g = try roundTrip(gaps)
        #expect(g.back.map(\.bitPattern) == gaps.map(\.bitPattern) && g.kind == .decimal)
        let empty = [Double](repeating: .nan, count: 40)
        #expect(try roundTrip(empty).back.allSatisfy { $0.bitPattern == Double.nan.bitPattern })
        // Not short decimals: each is stored as its bits.
        let odds: [[Double]] = [[Double.pi, 1], [-0.0, 1], [1e300, 2], [0.1 + 0.2], [9_007_199_254_740_993.0 / 100]]
        for odd in odds {
            let r = try roundTrip(odd)
            #expect(r.back.map(\.bitPattern) == odd.map(\.bitPattern) && r.kind == .raw, "\(odd)")
        }
        // Values parsed as the ingest parses them (m / 10^k) are all short decimals.
        var rng = SplitMix(seed: 11)
        let parsed = (0..<4000).map { _ in Double(Int64(rng.next() % 2_000_000) - 1_000_000) / 100 }
        let p = try roundTrip(parsed)
        #expect(p.back.map(\.bitPattern) == parsed.map(\.bitPattern) && p.kind == .decimal && p.width == 21)
    }

    @Test("order ids: one per run of lines, back in every row")
    func orders() throws {
        let ids: [UInt64] = [7, 7, 7, 9, 9, 7, 1, 1, .max]
        let r = try roundTripOrders(ids)
        #expect(r.back == ids && r.runs == 5)
        var rng = SplitMix(seed: 5)
        let scattered = (0..<1000).map { _ in rng.next() }
        #expect(try roundTripOrders(scattered).back == scattered)
        #expect(try roundTripOrders([42]).back == [42])
        #expect(try roundTripOrders([]).back.isEmpty)
    }

    @Test("a damaged stream is a LedgerError: unknown kind, width, scale, sizes, runs")
    func damaged() throws {
        let good = (0..<10).map { UInt32($0) }
        let words = good.withUnsafeBufferPointer { ColumnCodec.encodeIntegers($0) }
        func expectRefused(_ w: [UInt64], rows: Int = 10, _ why: String) {
            #expect(throws: LedgerError.self, "\(why)") {
                try w.withUnsafeBytes { raw in
                    let s = try ColumnCodec.stream(raw, at: 0, rows: rows, corrupt: Self.corrupt)
                    var out = [UInt64](repeating: 0, count: rows)
                    try out.withUnsafeMutableBufferPointer { b in
                        if let p = b.baseAddress { try ColumnCodec.decodeOrders(s, rows: rows, into: p, corrupt: Self.corrupt) }
                    }
                }
            }
        }
        var unknown = words; unknown[0] = (unknown[0] & ~0xFF) | 9
        expectRefused(unknown, "unknown kind")
        var wide = words; wide[0] = (wide[0] & ~0xFF00) | (57 << 8)
        expectRefused(wide, "width 57")
        var scale = words; scale[0] |= 7 << 16
        expectRefused(scale, "scale 7")
        expectRefused(Array(words.dropLast()), "body cut short")
        expectRefused(words, rows: 1_000, "more rows than the body holds")
        expectRefused(words, "an integer stream read as orders")
        // Runs: a count that disagrees with the bits, a first row that starts none, a bit past the last row.
        let orders = [UInt64]([1, 1, 2]).withUnsafeBufferPointer { ColumnCodec.encodeOrders($0) }
        var count = orders; count[0] += 1 << 32
        expectRefused(count + [0], rows: 3, "runs count")
        var first = orders; first[2] = 0b110
        expectRefused(first, rows: 3, "first row starts no run")
        var past = orders; past[2] |= 1 << 5
        expectRefused(past, rows: 3, "a bit past the last row")
    }

    @Test("a generated log's part is at most 35% of its CSV (the bundled sample), and reads back the rows it accepted")
    func compact() throws {
        let dir = TemporaryFolder()
        let input = RepoPaths.path("datasets/sample/transactions.csv")
        var format = RejectTests.format(order: true, quantity: true)
        for role in [Role.cost, .discount, .serviceCost, .channel] { format.columns[role] = .name(role.rawValue) }
        let s = try Ingestor(format: format).ingest(inputPath: input, partPath: dir.file("p"), rejectsPath: dir.file("r"))
        let share = Double(s.partBytes) / Double(s.inputBytes)
        #expect(share <= 0.35, "the part is \(s.partBytes) bytes, \(share) of the CSV's \(s.inputBytes)")
        var rows = 0
        let part = try LedgerPart(path: dir.file("p"))
        try part.forEachChunk { rows += $0.count }
        #expect(rows == s.rowsAccepted && rows > 10_000)
        // The chunk heads count the order-id runs: here, with each order's lines together,
        // exactly the distinct order ids of the log (its first column).
        let text = try String(contentsOfFile: input, encoding: .utf8)
        let orders = Set(text.split(separator: "\n").dropFirst().map { $0.prefix { $0 != "," } })
        #expect(part.orderRuns() == orders.count)
    }
}
