import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Ledger
import RetainIO

/// Writes a snapshot as CSV (CONTRACT.md `features.csv`): customer_id, the features in
/// order, and `churned` when labelled; one row per customer, in customer_id order.
/// Counts are integers; other values are correctly rounded to 9 decimals with trailing
/// zeros dropped; an empty field is a value that does not exist (see `Feature`).
public enum SnapshotWriter {
    public static let integerFeatures: Set<Feature> = [.recencyDays, .frequency, .tenureDays, .ordersLastWindow, .ordersPreviousWindow]

    /// Rows are formatted in pieces on both cores into memory, then written in order.
    public static func write(_ s: Snapshot, customerIDs: [String], to out: OutputBuffer) throws {
        var header = ["customer_id"] + s.features.map(\.rawValue)
        if s.churned != nil { header.append("churned") }
        try CSVText.appendHeader(header, to: out)
        // Pieces are formatted two at a time (one per core) and written before the next two,
        // so only a quarter of the text is ever in memory.
        let m = s.customers.count
        let pieces = m < 4096 ? 1 : 8
        let width = min(2, pieces)
        for round in stride(from: 0, to: pieces, by: width) {
            // About 6 bytes per value is typical; a buffer grows if a piece needs more.
            let buffers = (0..<width).map { _ in OutputBuffer(memoryCapacity: max(4096, m / pieces * 6 * (s.features.count + 2))) }
            let failures = FailureBox()
            DispatchQueue.concurrentPerform(iterations: width) { k in
                let p = round + k
                do {
                    try formatRows(s, customerIDs: customerIDs, from: m * p / pieces, to: m * (p + 1) / pieces, into: buffers[k])
                } catch { failures.record(error) }
            }
            if let e = failures.first { throw e }
            for b in buffers { try out.append(b.contents) }
        }
    }

    private static func formatRows(_ s: Snapshot, customerIDs: [String], from lo: Int, to hi: Int, into out: OutputBuffer) throws {
        let integer = s.features.map { integerFeatures.contains($0) }
        for row in lo..<hi {
            try CSVText.appendField(customerIDs[Int(s.customers[row])], to: out)
            for f in 0..<s.features.count {
                try out.append(byte: UInt8(ascii: ","))
                let v = s.values[f][row]
                if integer[f] { try out.append(integer: Int64(v)) } else { try out.appendDecimal(v) }
            }
            if let churned = s.churned {
                try out.append(byte: UInt8(ascii: ","))
                try out.append(byte: churned[row] == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            }
            try out.append(byte: 0x0A)
        }
    }
}

/// The first error raised by concurrent workers.
final class FailureBox: @unchecked Sendable {
    private var error: (any Error)?
    private let lock = Mutex()
    func record(_ e: any Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    var first: (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}
