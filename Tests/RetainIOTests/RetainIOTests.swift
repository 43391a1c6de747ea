import Testing
import Foundation
import RetainIO
import RetainTestSupport

@Suite("XXH64")
struct XXH64Tests {
    /// Expected values from the reference implementation: Python's `xxhash` package,
    /// `xxhash.xxh64_intdigest(data, seed)`.
    static let vectors: [(String, UInt64, UInt64)] = [
        ("", 0xEF46_DB37_51D8_E999, 0x98B1_582B_0977_E704),
        ("a", 0xD24E_C4F1_A98C_6E5B, 0x88E4_FE59_ADF7_B0CC),
        ("abc", 0x44BC_2CF5_AD77_0999, 0x13C1_D910_7027_70E6),
        ("customer-00001", 0x8DAB_D4A0_8BDA_2848, 0xBED3_99BE_9B3E_494E),
        ("Nobody inspects the spammish repetition", 0xFBCE_A83C_8A37_8BF1, 0x4458_2824_CA10_18B5),
    ]

    @Test("known answers, seed 0 and 42")
    func known() {
        for (s, h0, h42) in Self.vectors {
            #expect(XXH64.hash(s) == h0, "\(s)")
            #expect(XXH64.hash(s, seed: 42) == h42, "\(s)")
        }
        #expect(XXH64.hash((0..<100).map { UInt8($0) }) == 0x6AC1_E580_3216_6597)
    }

    @Test("streaming in any pieces equals one shot")
    func streaming() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for piece in [1, 3, 7, 31, 32, 33, 100, 999] {
            var h = XXH64()
            var i = 0
            while i < data.count {
                let n = min(piece, data.count - i)
                data[i..<(i + n)].withUnsafeBytes { h.update($0) }
                i += n
            }
            #expect(h.finish() == XXH64.hash(data), "pieces of \(piece)")
        }
    }
}

/// What `body` writes to a file, as text.
func render(_ body: (OutputBuffer) throws -> Void) throws -> String {
    let dir = TemporaryFolder()
    try AtomicFile.write(dir.file("o")) { try body($0) }
    return try dir.read("o")
}

@Suite("Output formatting")
struct OutputTests {

    @Test("fixed-point numbers")
    func fixed() throws {
        let cases: [(Double, Int, String)] = [
            (0, 2, "0.00"), (1.5, 2, "1.50"), (-1.005, 2, "-1.00"), (2.675, 2, "2.67"), (1234567.891, 3, "1234567.891"),
            (-0.004, 2, "0.00"), (0.125, 2, "0.12"), (0.375, 2, "0.38"), (0.5, 0, "0"), (1.5, 0, "2"), (99.995, 2, "100.00"), (1e300, 2, "1e+300"), (5, 0, "5"),
            (0.000001, 6, "0.000001"), (-12.5, 1, "-12.5"),
        ]
        // Expected strings are Python's f"{v:.{d}f}" (correctly rounded, ties to even:
        // 2.675 is really 2.67499999... so 2.67; 0.125 is exact so 0.12), except that
        // negative zero is written "0.00" on purpose.
        for (v, d, s) in cases {
            #expect(try render { try $0.appendFixed(v, decimals: d) } == s, "\(v) with \(d) decimals")
        }
        #expect(try render { try $0.appendFixed(.nan, decimals: 2) } == "")
        // Every cent value and some awkward halves agree with C's printf.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let v = Double(Int.random(in: -10_000_000...10_000_000, using: &rng)) / 1000
            #expect(try render { try $0.appendFixed(v, decimals: 2) } == String(format: "%.2f", v).replacingOccurrences(of: "-0.00", with: "0.00"), "\(v)")
        }
        #expect(try render { try $0.append(integer: Int64.min + 1) } == String(Int64.min + 1))
        // Shortest form up to 9 decimals.
        let short: [(Double, String)] = [(27.19, "27.19"), (5, "5"), (1.0 / 3, "0.333333333"), (-0.5, "-0.5"), (0, "0"),
                                         (-1e-12, "0"), (2.0 / 3, "0.666666667"), (100, "100"), (-12.3400001, "-12.3400001")]
        for (v, text) in short { #expect(try render { try $0.appendDecimal(v) } == text, "\(v)") }
    }

    /// glibc's printf rounds the double's exact binary value correctly (ties to even), so
    /// it is the reference for every precision; values span cents to 10^15 and include
    /// exact ties (k/2^n) where the fixed-point path takes its tie branch.
    @Test("fixed-point numbers agree with printf at every precision, and appendExact round-trips")
    func fixedAgainstPrintf() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = []
        for _ in 0..<1000 {
            let magnitude = Double.random(in: -3...7, using: &rng)
            values.append((Bool.random(using: &rng) ? -1 : 1) * pow(10, magnitude) * Double.random(in: 1..<10, using: &rng))
            values.append(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 1024)  // exact binary fractions: ties
        }
        for v in values {
            let d = Int.random(in: 0...9, using: &rng)
            guard abs(v) * pow(10, Double(d)) < 9e15 else { continue }
            var expected = String(format: "%.\(d)f", v)
            if expected.hasPrefix("-"), expected.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { expected.removeFirst() }
            #expect(try render { try $0.appendFixed(v, decimals: d) } == expected, "\(v) with \(d) decimals")
            let exact = try render { try $0.appendExact(v) }
            #expect(Double(exact) == v, "\(v) written as \(exact)")
        }
    }

    /// appendDecimal is printf's "%.{d}f" with the fraction's trailing zeros (and a bare
    /// point) dropped; the values have from 0 to 9 such zeros, whole numbers included.
    @Test("short decimals drop exactly the trailing zeros, however many")
    func trailingZeros() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let zeros = Int.random(in: 0...9, using: &rng)
            let digits = Int64.random(in: -99_999...99_999, using: &rng)
            let v = Double(digits) * pow(10, Double(zeros)) / 1e9  // up to 9 - zeros decimals
            let d = Int.random(in: 0...9, using: &rng)
            var expected = String(format: "%.\(d)f", v)
            if expected.contains(".") {
                while expected.hasSuffix("0") { expected.removeLast() }
                if expected.hasSuffix(".") { expected.removeLast() }
            }
            if expected == "-0" { expected = "0" }
            #expect(try render { try $0.appendDecimal(v, maxDecimals: d) } == expected, "\(v) with at most \(d) decimals")
        }
    }

    /// Integers are written eight digits at a time below 10^8 and two at a time above:
    /// both paths, their boundaries and both signs, against Swift's own `String(n)`.
    @Test("integers of every length, and whole parts around 10^8, as Swift writes them")
    func integers() throws {
        var rng = SystemRandomNumberGenerator()
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 9_999_999, 10_000_000, 99_999_999, 100_000_000, 100_000_001,
                               -99_999_999, -100_000_000, Int64.max, Int64.min + 1, 1_000_000_000_000_000_000]
        for digits in 1...18 {
            for _ in 0..<50 { values.append(Int64.random(in: -(Int64(pow(10, Double(digits))) - 1)...(Int64(pow(10, Double(digits))) - 1), using: &rng)) }
        }
        let text = try render { b in for v in values { try b.append(integer: v); try b.append(byte: 0x0A) } }
        #expect(text == values.map { "\($0)\n" }.joined())
        // Whole parts on both sides of 10^8 with a fraction, and a fraction with leading zeros.
        let cases: [(Double, Int, String)] = [(99_999_999.5, 1, "99999999.5"), (100_000_000.25, 2, "100000000.25"),
                                              (123_456_789.000001, 6, "123456789.000001"), (0.000000001, 9, "0.000000001"),
                                              (-7.05, 9, "-7.050000000"), (100_000_000, 0, "100000000")]
        for (v, d, s) in cases {
            #expect(try render { try $0.appendFixed(v, decimals: d) } == s, "\(v) with \(d) decimals")
            #expect(try render { try $0.appendDecimal(v, maxDecimals: d) } == String(format: "%.\(d)f", v).trimmingTrailingZeros, "\(v)")
        }
    }

    /// Rows formatted on two cores in sixteen pieces: the main file holds every row in
    /// order, and each side file exactly the rows sent to it, in order.
    @Test("rows written in parallel pieces, each also copied into its side file")
    func parallelRowsWithSides() throws {
        let dir = TemporaryFolder()
        let n = 50_000
        try AtomicFile.write([dir.file("all"), dir.file("s0"), dir.file("s1"), dir.file("s2")]) { outs in
            try ParallelRows.write(rows: n, bytesPerRow: 12, to: outs[0], alsoTo: Array(outs.dropFirst())) { i, b in
                try b.append(integer: Int64(i)); try b.append(byte: 0x0A)
                return i % 4 == 3 ? nil : i % 4
            }
        }
        #expect(try dir.read("all") == (0..<n).map { "\($0)\n" }.joined())
        for k in 0..<3 {
            #expect(try dir.read("s\(k)") == (0..<n).filter { $0 % 4 == k }.map { "\($0)\n" }.joined(), "side \(k)")
        }
    }

    /// What a parallel write holds is workers + 2 pieces, so a piece must stay near
    /// `pieceBytes` however long the file: 16 pieces of 20 M rows of 228 bytes (a
    /// training_matrix.csv) would be 285 MB each.
    @Test("parallel pieces stay near pieceBytes for any number of rows", arguments: [1, 2, 8, 64])
    func parallelRowsPieceSize(workers: Int) {
        #expect(ParallelRows.pieces(rows: 4095, bytesPerRow: 200, workers: workers) == 1)
        for (rows, bytesPerRow) in [(4096, 12), (50_000, 12), (1_028_796, 228), (20_575_920, 228), (100_000_000, 228), (10_000, 1 << 30)] {
            let pieces = ParallelRows.pieces(rows: rows, bytesPerRow: bytesPerRow, workers: workers)
            #expect(pieces >= min(rows, max(16, 4 * workers)) && pieces <= rows, "\(rows) rows")
            // The largest piece (rows are cut evenly, so ceil(rows / pieces)).
            let largest = (rows + pieces - 1) / pieces
            #expect(largest == 1 || largest * bytesPerRow <= ParallelRows.pieceBytes + bytesPerRow, "\(rows) rows of \(bytesPerRow) bytes: \(largest) a piece")
        }
    }

    /// Many pieces (rows planned at 1000 bytes: 200,000 of them are 24 pieces of 8 MiB)
    /// come out in order, as a serial write.
    @Test("a body of many pieces is written in order")
    func parallelRowsManyPieces() throws {
        let dir = TemporaryFolder()
        let n = 200_000
        #expect(ParallelRows.pieces(rows: n, bytesPerRow: 1000, workers: 2) == 24)
        try AtomicFile.write(dir.file("all")) { out in
            try ParallelRows.write(rows: n, bytesPerRow: 1000, to: out) { lo, hi, b in
                for i in lo..<hi { try b.append(integer: Int64(i)); try b.append(byte: 0x0A) }
            }
        }
        let expected = (0..<n).map { "\($0)\n" }.joined()
        #expect(firstDifference(Array(try dir.read("all").utf8), Array(expected.utf8)) == nil)
    }

    /// A piece that fails: its error comes out, after every other piece has stopped
    /// writing into its buffer, and the file is not created.
    @Test("an error while formatting a piece is thrown and nothing is written")
    func parallelRowsFailure() throws {
        struct Broken: Error {}
        let dir = TemporaryFolder()
        #expect(throws: Broken.self) {
            try AtomicFile.write(dir.file("all")) { out in
                try ParallelRows.write(rows: 50_000, bytesPerRow: 12, to: out) { lo, hi, b in
                    for i in lo..<hi {
                        if i == 30_000 { throw Broken() }
                        try b.append(integer: Int64(i)); try b.append(byte: 0x0A)
                    }
                }
            }
        }
        #expect(!FilePath.exists(dir.file("all")))
    }

    @Test("CSV fields: RFC 4180 quoting and formula neutralising")
    func csv() throws {
        let cases: [(String, String)] = [
            ("plain", "plain"), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""), ("+1", "\"'+1\""), ("-2", "\"'-2\""), ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tx", "\"'\tx\""), ("é", "é"),
        ]
        for (raw, expected) in cases {
            #expect(try render { try CSVText.appendField(raw, to: $0) } == expected, "\(raw)")
        }
        #expect(try render { try CSVText.appendField("-2", to: $0, neutralise: false) } == "-2")
        #expect(String(decoding: CSVText.field("a,b"), as: UTF8.self) == "\"a,b\"")
    }

    @Test("an atomic write that fails leaves the old file and no temporary")
    func atomic() throws {
        let dir = TemporaryFolder()
        try AtomicFile.write(dir.file("f"), contents: "old")
        struct Boom: Error {}
        #expect(throws: Boom.self) { try AtomicFile.write(dir.file("f")) { out in try out.append("new, half"); throw Boom() } }
        #expect(try dir.read("f") == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f"])
    }

    @Test("several files written at once, dropped from the page cache as they go: whole, or none if the body fails")
    func atomicSeveral() throws {
        let dir = TemporaryFolder()
        try AtomicFile.write(dir.file("a"), contents: "old a")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try AtomicFile.write([dir.file("a"), dir.file("b")], dropBehind: true) { outs in
                try outs[0].append("new a"); try outs[1].append("new b"); throw Boom()
            }
        }
        #expect(try dir.read("a") == "old a")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a"])
        // 20 MiB through one append and through many: past the 8 MiB steps that drop behind.
        let big = [UInt8](repeating: 0x41, count: 20 << 20)
        try AtomicFile.write([dir.file("a"), dir.file("b")], dropBehind: true) { outs in
            try big.withUnsafeBytes { try outs[0].append($0) }
            for k in 0..<(20 << 10) { try outs[1].append(byte: UInt8(65 + k % 26)) ; for _ in 0..<1023 { try outs[1].append(byte: 0x2E) } }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a", "b"])
        #expect(firstDifference(try FilePath.readAll(dir.file("a")), big) == nil)
        let b = try FilePath.readAll(dir.file("b"))
        #expect(b.count == 20 << 20 && b[0] == 65 && b[1024] == 66 && b[(20 << 20) - 1024] == UInt8(65 + ((20 << 10) - 1) % 26))
    }
}

@Suite("Reading CSV tables back")
struct CSVTableTests {
    /// Rows of a table over 1 MiB, so it is parsed in two ranges on two cores. Every 97th
    /// key is quoted and holds a comma, a doubled quote and a line break: the line count
    /// then over-estimates the rows, and the second range's rows must close up the gap.
    func text(rows: Int) -> (String, [String], [[Double]]) {
        var out = "customer_id,a,b,c\n"
        var keys: [String] = [], a: [Double] = [], b: [Double] = [], c: [Double] = []
        for i in 0..<rows {
            let key = i % 97 == 0 ? "id,\"\(i)\"\nx" : "id\(i)"
            keys.append(i % 97 == 0 ? "\"id,\"\"\(i)\"\"\nx\"" : key)
            // Expected values are what strtod makes of the text (Double(String) is correctly rounded).
            let ta = String(Double(i) / 8), tb = String(format: "%.3f", -Double(i % 1000) * 0.001)
            let tc = i % 5 == 0 ? "" : String(format: "%.4e", 1.5e3 * Double(i % 7) + 0.1)
            a.append(Double(ta) ?? 0); b.append(Double(tb) ?? 0); c.append(tc.isEmpty ? .nan : Double(tc) ?? 0)
            out += keys[i] + "," + ta + "," + tb + "," + tc + "\n"
        }
        return (out, keys, [a, b, c])
    }

    @Test("a large table with quoted multi-line keys, empty fields and exponents reads back exactly, in order")
    func largeTable() throws {
        let dir = TemporaryFolder()
        let (csv, keys, columns) = text(rows: 40_000)
        #expect(csv.utf8.count > 1 << 20)
        let t = try CSVTable.read(try dir.write("t.csv", csv))
        #expect(t.count == keys.count && t.names == ["a", "b", "c"])
        var wrongKeys = 0, wrongValues = 0
        for i in 0..<t.count where String(decoding: t.rawKey(i), as: UTF8.self) != keys[i] { wrongKeys += 1 }
        for c in 0..<3 {
            for i in 0..<t.count {
                let (x, y) = (t.columns[c][i], columns[c][i])
                if !(x == y || (x.isNaN && y.isNaN)) { wrongValues += 1 }
            }
        }
        #expect(wrongKeys == 0 && wrongValues == 0)
        #expect(t.key(97) == "id,\"97\"\nx")
    }

    @Test("a header without rows, and one row without a final newline")
    func small() throws {
        let dir = TemporaryFolder()
        let empty = try CSVTable.read(try dir.write("e.csv", "customer_id,a,b\n"))
        #expect(empty.count == 0 && empty.names == ["a", "b"] && empty.columns.allSatisfy(\.isEmpty))
        let one = try CSVTable.read(try dir.write("o.csv", "customer_id,a,b\nx,1.5,"))
        #expect(one.count == 1 && one.columns[0] == [1.5] && one.columns[1][0].isNaN && one.key(0) == "x")
    }

    /// Every field shape against what strtod makes of it: digits read eight at a time and
    /// one at a time, at the 19-digit and 2^53 limits of the fast path and past them, signs,
    /// bare points, exponents; and the shapes that are not numbers.
    @Test("numeric fields of every shape read as strtod reads them; non-numbers are errors")
    func fieldShapes() throws {
        let dir = TemporaryFolder()
        var good = ["0", "-0", "5.", ".5", "+5", "-12.5", "0.000000001", "12345678", "123456789", "1234567.12345678",
                    "0.281051677", "9007199254740992", "9007199254740993", "90071992547409.93", "1234567890123456789",
                    "12345678901234567890", "0.00000000000000000000001", "00000000000000000000012.5", "1e5", "-2.5E-3",
                    "3.14159265358979323846", "99999999.99999999", "18446744073709551616"]
        var rng = SplitMix(seed: 3)
        for _ in 0..<2000 {  // random lengths on both sides of the point
            let whole = String(rng.next() % 1_000_000_000_000), frac = String(rng.next() % 10_000_000_000)
            good.append((rng.next() % 2 == 0 ? "-" : "") + whole + (rng.next() % 3 == 0 ? "" : "." + frac))
        }
        let csv = "customer_id,x\n" + good.enumerated().map { "k\($0.offset),\($0.element)\n" }.joined()
        let t = try CSVTable.read(try dir.write("g.csv", csv))
        var wrong: [String] = []
        for (i, text) in good.enumerated() where t.columns[0][i].bitPattern != (strtod(text, nil)).bitPattern { wrong.append(text) }
        #expect(wrong.isEmpty, "\(wrong)")
        for bad in ["-", ".", "-.", "1.2.3", "12a", "--1", "1-"] {
            #expect(throws: IOError.self, "\(bad)") { try CSVTable.read(try dir.write("b.csv", "customer_id,x\nk,\(bad)\n")) }
        }
    }

    /// A stage copies a kept row's fields instead of formatting its numbers again: for a
    /// file written as Retain writes (9 decimals at most, integers, empty fields, quoted
    /// multi-line keys, CRLF or LF, two ranges), the copy is byte for byte what formatting
    /// the parsed values with `appendExact` gives.
    @Test("numeric fields copied from a kept row equal the values formatted again")
    func keptRows() throws {
        let dir = TemporaryFolder()
        var rng = SplitMix(seed: 5)
        for lineEnd in ["\n", "\r\n"] {
            let path = dir.file("k.csv")
            try AtomicFile.write(path) { out in
                try out.append("customer_id,a,b,c" + lineEnd)
                for i in 0..<30_000 {
                    try out.append(i % 101 == 0 ? "\"id \(i)\nsecond\"" : "id\(i)")
                    try out.append(",")
                    try out.appendDecimal(Double(Int64(rng.next() % 2_000_000_000) - 1_000_000_000) / 1e9 * pow(10, Double(i % 7)))
                    try out.append(",")
                    if i % 3 != 0 { try out.append(integer: Int64(rng.next() % 1000)) }
                    try out.append(",")
                    try out.appendDecimal(Double(rng.next() % 100_000) / 100)
                    try out.append(lineEnd)
                }
            }
            let kept = try CSVTable.read(path, keepingRows: true), plain = try CSVTable.read(path)
            #expect(kept.count == 30_000 && plain.count == 30_000)
            let copied = try render { b in for i in 0..<kept.count { try kept.appendNumericFields(i, to: b); try b.append(byte: 0x0A) } }
            let formatted = try render { b in for i in 0..<plain.count { try plain.appendNumericFields(i, to: b); try b.append(byte: 0x0A) } }
            #expect(copied == formatted, "line end \(lineEnd.debugDescription)")
        }
    }

    @Test("a malformed field in the second range is reported with its line in the file")
    func errorLine() throws {
        let dir = TemporaryFolder()
        var (csv, _, _) = text(rows: 40_000)
        csv += "late,1,2,x3\n"
        let lines = csv.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        #expect {
            _ = try CSVTable.read(try dir.write("t.csv", csv))
        } throws: { error in
            String(describing: error).contains("t.csv:\(lines):") && String(describing: error).contains("x3")
        }
    }
}

/// `MappedColumns` reads what `CSVTable.read` reads, block by block: the same keys, the
/// same bits in every column, the same messages, whatever the block size.
@Suite("Mapped snapshot columns")
struct MappedColumnsTests {
    /// True when both tables hold the same names, keys and bit patterns (NaN included).
    func same(_ m: MappedColumns, _ t: CSVTable) -> Bool {
        guard m.count == t.count, m.names == t.names, m.keyName == t.keyName else { return false }
        for i in 0..<t.count where !m.rawKey(i).elementsEqual(t.rawKey(i)) { return false }
        for (c, name) in t.names.enumerated() {
            guard let column = m.column(name) else { return false }
            for i in 0..<t.count where column[i].bitPattern != t.columns[c][i].bitPattern { return false }
        }
        return true
    }

    /// Blocks far smaller than the file (4096 is the floor, 5000 cuts records mid-line at odd
    /// places) and larger, with LF and CRLF; quoted keys span lines and hold commas.
    @Test("any block size reads back what CSVTable reads, bit for bit, with a derived column beside its source")
    func blocks() throws {
        let dir = TemporaryFolder()
        let (lf, _, _) = CSVTableTests().text(rows: 20_000)
        for (name, csv) in [("lf.csv", lf), ("crlf.csv", lf.replacingOccurrences(of: "\n", with: "\r\n"))] {
            let path = try dir.write(name, csv)
            let table = try CSVTable.read(path)
            for blockBytes in [4096, 5000, 1 << 16, 1 << 25] {
                let scratch = dir.file("scratch-\(blockBytes)")
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                let m = try MappedColumns.read(path, scratch: scratch, deriving: ["a": { log1p($0) }], blockBytes: blockBytes)
                #expect(same(m, table), "\(name), blocks of \(blockBytes)")
                let derived = try #require(m.derived("a"))
                #expect(derived.indices.allSatisfy { derived[$0].bitPattern == log1p(table.columns[0][$0]).bitPattern })
                #expect(m.derived("b") == nil && m.column("zz") == nil)
                #expect(m.key(97) == "id,\"97\"\nx" || name == "crlf.csv")
                // Unlinked at creation: nothing in the folder, during the read's life or after.
                #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
            }
        }
    }

    @Test("a header without rows, a last row without a newline, a record longer than a block")
    func edges() throws {
        let dir = TemporaryFolder()
        let empty = try MappedColumns.read(try dir.write("e.csv", "customer_id,a,b\n"), scratch: dir.path, blockBytes: 4096)
        #expect(empty.count == 0 && empty.names == ["a", "b"] && empty.column("a")?.isEmpty == true)
        let one = try MappedColumns.read(try dir.write("o.csv", "customer_id,a,b\nx,1.5,"), scratch: dir.path, blockBytes: 4096)
        #expect(one.count == 1 && one.column("a")?[0] == 1.5 && one.column("b")?[0].isNaN == true && one.key(0) == "x")
        let long = "\"" + String(repeating: "k,\n", count: 5000) + "\""
        let csv = "customer_id,a\nfirst,1\n" + long + ",2\nlast,3\n"
        let path = try dir.write("l.csv", csv)
        let m = try MappedColumns.read(path, scratch: dir.path, blockBytes: 4096)
        #expect(same(m, try CSVTable.read(path)) && m.count == 3 && m.column("a")?.array == [1, 2, 3])
        #expect(throws: IOError.self) { try MappedColumns.read(try dir.write("n.csv", ""), scratch: dir.path) }
        #expect(throws: IOError.self) { try MappedColumns.read(dir.file("missing.csv"), scratch: dir.path) }
        #expect(throws: IOError.self) { try MappedColumns.read(path, scratch: dir.file("no-such-folder")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { $0.hasSuffix(".csv") })
    }

    @Test("a malformed field many blocks in is reported with its line in the file")
    func errorLine() throws {
        let dir = TemporaryFolder()
        var (csv, _, _) = CSVTableTests().text(rows: 20_000)
        csv += "late,1,2,x3\n"
        let lines = csv.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let path = try dir.write("t.csv", csv)
        for blockBytes in [4096, 5000] {
            #expect {
                _ = try MappedColumns.read(path, scratch: dir.path, blockBytes: blockBytes)
            } throws: { error in
                String(describing: error).contains("t.csv:\(lines):") && String(describing: error).contains("x3")
            }
        }
    }
}

@Suite("Radix sort")
struct RadixSortTests {
    /// The reference: Swift's stable sort of (key, index) by key.
    func reference(_ keys: [UInt64]) -> [Int32] {
        let indices: [Int] = keys.indices.sorted { (a: Int, b: Int) -> Bool in keys[a] != keys[b] ? keys[a] < keys[b] : a < b }
        return indices.map { Int32($0) }
    }

    @Test("keys with shared bytes and many ties come out ascending, ties in their given order")
    func keys() {
        var state: UInt64 = 11
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 11 }
        // Few distinct values in bytes 0, 3 and 7, the others shared: skipped passes and ties.
        var keys: [UInt64] = []
        for _ in 0..<20_000 {
            let low: UInt64 = next() % 5, middle: UInt64 = (next() % 3) << 24, high: UInt64 = (next() % 2) << 56
            keys.append(low | middle | high | 0x4100_0000_0000_0000)
        }
        #expect(RadixSort.sorted(keys).map(\.index) == reference(keys))
        #expect(RadixSort.sorted([]).isEmpty && RadixSort.sorted([7]).map(\.index) == [0])
    }

    /// Probabilities as a model gives them: spread over (0, 1), a crowd in a range narrower
    /// than one of the first cut's buckets (so that bucket is cut again), a block of equal
    /// values (left in index order), and 0 and 1 exactly.
    @Test("the order by buckets equals the stable sort's, for crowded, tied and spread keys")
    func orderByBuckets() {
        var rng = SplitMix(seed: 21)
        func unit() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var p: [Double] = []
        for i in 0..<400_000 {  // 80,000 in the crowd, 80,000 at 0.25: both over one bucket's 65,536
            switch i % 5 {
            case 0, 1: p.append(unit())
            case 2: p.append(0.7 + unit() * 1e-9)
            case 3: p.append(0.25)
            default: p.append(i % 2 == 0 ? 0 : 1)
            }
        }
        let keys = p.map(RadixSort.key)
        let expected = reference(keys)
        #expect(firstDifference(RadixSort.order(count: keys.count) { keys[$0] }, expected) == nil)
        #expect(firstDifference(RadixSort.sorted(keys).map(\.index), expected) == nil)
        #expect(RadixSort.order(count: 0) { _ in 0 }.isEmpty && RadixSort.order(count: 1) { _ in 9 } == [0])
        let same = [UInt64](repeating: 5, count: 70_000)
        #expect(firstDifference(RadixSort.order(count: same.count) { same[$0] }, Array(0..<Int32(70_000))) == nil)
    }

    @Test("the key of a double orders as the doubles do")
    func doubles() {
        let xs: [Double] = [3, -1, 0.5, -0.25, 1e-300, -1e300, .infinity, -.infinity, 0, 2.5, 0.5, -1]
        let order = RadixSort.sorted(xs.map(RadixSort.key)).map { Int($0.index) }
        let sorted = order.map { xs[$0] }
        #expect(sorted == xs.sorted())
        #expect(order.firstIndex(of: 1)! < order.firstIndex(of: 11)!)  // equal values keep their order
    }
}

extension String {
    /// "12.500" → "12.5", "3.000" → "3", "100" → "100": printf's text with the fraction's
    /// trailing zeros and a bare point dropped.
    var trimmingTrailingZeros: String {
        guard contains(".") else { return self }
        var t = self
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}

@Suite("Zeroed memory")
struct ZeroedMemoryTests {
    /// Regions of 4 MiB and more are populated in two halves by two threads: every byte of
    /// an odd-sized region (the second half ends mid-page) reads zero, and all of it takes
    /// writes. Regions under 64 KiB come from the heap, the rest are mapped: both sides of
    /// that edge, and reuse after `free` (under AddressSanitizer a `munmap` of heap memory
    /// or a `free` of a mapping is reported).
    @Test("large and small regions come zeroed and writable, to the last byte")
    func zeroedAndWritable() {
        for count in [(6 << 20) + 12_345, 100, 1, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 100, 64 << 10] {
            let p = ZeroedMemory.allocate(UInt8.self, count: count)
            var nonZero = 0
            for i in 0..<count where p[i] != 0 { nonZero += 1 }
            #expect(nonZero == 0, "\(count) bytes")
            for i in stride(from: 0, to: count - 1, by: 4093) { p[i] = UInt8(truncatingIfNeeded: i % 251 + 1) }
            p[count - 1] = 7
            var lost = 0
            for i in stride(from: 0, to: count - 1, by: 4093) where p[i] != UInt8(truncatingIfNeeded: i % 251 + 1) { lost += 1 }
            #expect(lost == 0 && p[count - 1] == 7)
            ZeroedMemory.free(p, count: count)
        }
    }
}
