import RetainIO

/// The roles a transaction log's columns can play (docs/CONTRACT.md, "Input").
public enum Role: String, CaseIterable, Sendable, Codable {
    case customerID = "customer_id"
    case date
    case amount
    case orderID = "order_id"
    case quantity
    case cost
    case discount
    case serviceCost = "service_cost"
    case channel

    public var isRequired: Bool { self == .customerID || self == .date || self == .amount }
    /// Optional numeric roles stored as `Double` columns in the ledger.
    public static let optionalNumbers: [Role] = [.quantity, .cost, .discount, .serviceCost]
}

/// Where a role's value is in a row: by header name, or by 1-based position.
public enum ColumnRef: Sendable, Equatable, CustomStringConvertible {
    case name(String)
    case position(Int)

    public var description: String {
        switch self {
        case .name(let n): return "'\(n)'"
        case .position(let p): return "column \(p)"
        }
    }
}

/// How fields are separated.
public enum Delimiter: Sendable, Equatable {
    /// One byte (`,`, `;`, tab, `|`); RFC 4180 quoting with `"` is understood.
    case byte(UInt8)
    /// Runs of spaces and tabs, leading ones ignored (the CDNOW layout).
    case whitespace
}

/// Everything needed to turn one input file's bytes into ledger rows. Built by the
/// pipeline file reader; its `fingerprint` is part of a parsed file's cache key, so a
/// change of format settings re-reads files that were parsed under the old ones.
public struct InputFormat: Sendable {
    public var delimiter: Delimiter = .byte(UInt8(ascii: ","))
    public var hasHeader = true
    public var columns: [Role: ColumnRef] = [:]
    public var dateFormat: DateFormat
    public var decimalMark: UInt8 = UInt8(ascii: ".")
    /// Dates outside [earliestDay, latestDay] (days since 1970-01-01) are implausible.
    public var earliestDay: Int32
    public var latestDay: Int32
    /// |amount| above this is implausible (a typo or a unit error), in the log's currency.
    public var maxAbsAmount: Double = 1e9

    public init(dateFormat: DateFormat, earliestDay: Int32, latestDay: Int32) {
        self.dateFormat = dateFormat
        self.earliestDay = earliestDay
        self.latestDay = latestDay
    }

    /// A stable text of the settings that change how bytes become rows.
    public var fingerprint: String {
        let delim: String
        switch delimiter {
        case .byte(let b): delim = "byte:\(b)"
        case .whitespace: delim = "whitespace"
        }
        let cols = Role.allCases.compactMap { r in columns[r].map { "\(r.rawValue)=\($0)" } }.joined(separator: ";")
        return "v1|\(delim)|header:\(hasHeader)|\(cols)|date:\(dateFormat.pattern)|mark:\(decimalMark)|"
            + "days:\(earliestDay)..\(latestDay)|max:\(maxAbsAmount)"
    }
}
