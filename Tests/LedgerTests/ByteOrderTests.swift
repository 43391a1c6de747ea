import Testing
import Ledger

@Suite("Customer numbering")
struct ByteOrderTests {
    /// The reference: a comparison sort on the ids' UTF-8 bytes.
    func reference(_ ids: [String]) -> [Int32] {
        ids.indices.sorted { ids[$0].utf8.lexicographicallyPrecedes(ids[$1].utf8) }.map { Int32($0) }
    }

    @Test("ids sharing 8-byte prefixes, of every length, with NUL and multi-byte characters, sort by their bytes")
    func tricky() {
        let ids = ["C10", "C2", "C1", "", "abcdefgh", "abcdefgh\u{0}", "abcdefgh1", "abcdefgg~", "abcdefgh0zz", "é", "e",
                   "日本", "z", "\u{0}", "\u{0}\u{0}", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOQ", "ABCDEFGH"]
        #expect(LedgerView.byteOrder(ids) == reference(ids))
    }

    @Test("random ids from a small alphabet (many shared prefixes) sort as a comparison sort does")
    func random() {
        var rng = SplitMix(seed: 7)
        let alphabet = Array("AB0é\u{0}9".unicodeScalars)
        var seen = Set<String>()
        var ids: [String] = []
        while ids.count < 5000 {
            let length = Int(rng.next() % 14)
            var s = String.UnicodeScalarView()
            for _ in 0..<length { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let id = String(s)
            if seen.insert(id).inserted { ids.append(id) }
        }
        #expect(LedgerView.byteOrder(ids) == reference(ids))
    }

    @Test("a constant leading letter and numeric tails (the skipped radix passes)")
    func numeric() {
        let ids = (0..<3000).map { "C\(($0 * 7919) % 3001)" }
        let order = LedgerView.byteOrder(ids)
        #expect(order == reference(ids))
        #expect(ids[Int(order[0])] == "C0" && ids[Int(order[1])] == "C1" && ids[Int(order[2])] == "C10")
    }
}

/// A small deterministic generator (SplitMix64) for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
