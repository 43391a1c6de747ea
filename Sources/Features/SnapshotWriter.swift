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

        public init(customers: Int, churned: Int) { self.customers = customers; self.churned = churned }
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

    /// `snapshots/summary.csv`: customer_id, x, t_x, T, zbar (`CustomerBase`), one row per
    /// customer with a purchase on or before the date, in customer_id order.
    public static func write(_ base: CustomerBase, customerIDs: [String], to out: OutputBuffer) throws {
        try CSVText.appendHeader(["customer_id"] + CustomerBase.columns, to: out)
        try ParallelRows.write(rows: base.count, bytesPerRow: 32, to: out) { lo, hi, b in
            for i in lo..<hi {
                try CSVText.appendField(customerIDs[Int(base.customers[i])], to: b)
                try b.append(byte: UInt8(ascii: ",")); try b.append(integer: Int64(base.repeatPurchases[i]))
                try b.append(byte: UInt8(ascii: ",")); try b.append(integer: Int64(base.repeatSpanDays[i]))
                try b.append(byte: UInt8(ascii: ",")); try b.append(integer: Int64(base.ageDays[i]))
                try b.append(byte: UInt8(ascii: ",")); try b.appendDecimal(base.repeatMeanSpend[i])
                try b.append(byte: 0x0A)
            }
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

    /// The customer-base summary as of the scoring date (`CustomerBase`), for the value stage.
    public static let summaryFile = "snapshots/summary.csv"
}
