#if canImport(Glibc)
import Glibc
#endif
import Ledger
import RetainIO

/// Writes a snapshot as CSV (docs/CONTRACT.md `features.csv`): customer_id, the features in
/// order, and `churned` when labelled; one row per customer, in customer_id order.
/// Counts are integers; other values are correctly rounded to 9 decimals with trailing
/// zeros dropped; an empty field is a value that does not exist (see `Feature`).
public enum SnapshotWriter {
    public static let integerFeatures: Set<Feature> = [.recencyDays, .frequency, .tenureDays, .ordersLastWindow, .ordersPreviousWindow]

    /// Customers and churners of a snapshot written.
    public struct Written: Sendable {
        public let customers: Int
        public let churned: Int
    }

    /// Writes the three snapshots of `sums` (taken at a run's `SnapshotDates`), each to its
    /// `file` where `staging` puts it, one in memory at a time: taken, written, dropped.
    /// `written` is called after each.
    public static func writeAll(_ sums: SnapshotSums, customerIDs: [String], staging: (String) throws -> String,
                                written: (SnapshotDates.Snapshot) -> Void = { _ in }) throws -> (training: Written, validation: Written, scoring: Written) {
        func one(_ named: SnapshotDates.Snapshot) throws -> Written {
            let snap = sums.snapshot(named)
            try AtomicFile.write(try staging(named.file)) { out in try write(snap, customerIDs: customerIDs, to: out) }
            written(named)
            return Written(customers: snap.customers.count, churned: snap.churned?.reduce(0) { $0 + Int($1) } ?? 0)
        }
        // In `SnapshotDates.Snapshot` order.
        let training = try one(.training), validation = try one(.validation), scoring = try one(.scoring)
        return (training, validation, scoring)
    }

    /// Rows are formatted by every worker (`ParallelRows`).
    public static func write(_ s: Snapshot, customerIDs: [String], to out: OutputBuffer) throws {
        var header = ["customer_id"] + s.features.map(\.rawValue)
        if s.churned != nil { header.append("churned") }
        try CSVText.appendHeader(header, to: out)
        // About 6 bytes per value is typical.
        try ParallelRows.write(rows: s.customers.count, bytesPerRow: 6 * (s.features.count + 2), to: out) { lo, hi, buffer in
            try formatRows(s, customerIDs: customerIDs, from: lo, to: hi, into: buffer)
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

extension SnapshotDates.Snapshot {
    /// The snapshot's file in the output folder (the training snapshot is the one analysts
    /// open first, hence its short name).
    public var file: String {
        switch self {
        case .training: return "features.csv"
        case .validation: return "snapshots/validation.csv"
        case .scoring: return "snapshots/scoring.csv"
        }
    }
}
