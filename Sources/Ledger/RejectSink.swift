import RetainIO

/// Why a row was set aside. The raw value is a stable code (rejects.csv `reason`);
/// `detail` in the same file says it in words with the offending value.
public enum RejectReason: String, CaseIterable, Sendable, Codable {
    case missingField = "missing_field"
    case tooManyFields = "too_many_fields"
    case unterminatedQuote = "unterminated_quote"
    case emptyCustomerID = "empty_customer_id"
    case invalidText = "invalid_utf8"
    case unparsableDate = "unparsable_date"
    case implausibleDate = "implausible_date"
    case unparsableAmount = "unparsable_amount"
    case implausibleAmount = "implausible_amount"
    case unparsableNumber = "unparsable_number"
    case missingOrderID = "missing_order_id"
    case duplicateLine = "duplicate_line"
}

/// Streams rejected rows of one input to a CSV side file (`line,reason,raw,detail`), so
/// a file of garbage costs disk, not memory. The pipeline prefixes each row with the
/// input's path when it assembles `rejects.csv`.
public final class RejectSink: @unchecked Sendable {
    private let out: OutputBuffer
    private(set) var counts: [RejectReason: Int] = [:]
    private(set) var total = 0

    init(out: OutputBuffer) { self.out = out }

    func add(line: Int, reason: RejectReason, raw: UnsafeRawBufferPointer, detail: String) throws {
        counts[reason, default: 0] += 1
        total += 1
        try Self.appendRow(line: line, reason: reason, raw: raw, detail: detail, to: out)
    }

    /// One reject record, `line,reason,raw,detail` and a newline: the one place that
    /// writes this format (the pipeline puts the input's path in front for rejects.csv).
    public static func appendRow(line: Int, reason: RejectReason, raw: UnsafeRawBufferPointer, detail: String,
                                 to out: OutputBuffer) throws {
        try out.append(integer: Int64(line))
        try out.append(byte: UInt8(ascii: ","))
        try out.append(reason.rawValue)
        try out.append(byte: UInt8(ascii: ","))
        try CSVText.appendField(raw, to: out)
        try out.append(byte: UInt8(ascii: ","))
        try CSVText.appendField(detail, to: out)
        try out.append(byte: 0x0A)
    }
}

/// A value from a row, shown in a reject's detail (at most 40 bytes, lossy UTF-8).
func shown(_ p: UnsafeRawPointer, _ n: Int) -> String {
    let s = String(decoding: UnsafeRawBufferPointer(start: p, count: min(n, 40)), as: UTF8.self)
    return n > 40 ? "\"\(s)...\"" : "\"\(s)\""
}
