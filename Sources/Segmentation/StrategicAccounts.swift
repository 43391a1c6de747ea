import RetainIO

/// The optional list of strategic accounts (`segment.strategic_accounts`): customers who
/// matter beyond their own spend, kept whatever their value.
///
/// ```csv
/// customer_id,role
/// C1042,door-opener
/// C77,benchmark
/// ```
public struct StrategicAccounts: Sendable {
    /// customer_id (as in the log) to its role.
    public let roles: [String: StrategicRole]

    public init(roles: [String: StrategicRole]) { self.roles = roles }

    public static func load(_ path: String) throws(SegmentationError) -> StrategicAccounts {
        var bytes: [UInt8]
        do { bytes = try FilePath.readAll(path) } catch { throw .strategicAccountsUnreadable(path: path, reason: "\(error)") }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a byte-order mark, as spreadsheets save one
        let records: [(line: Int, fields: [String])]
        switch CSVRecords.parse(bytes) {
        case .success(let r): records = r
        case .failure(let e): throw .strategicAccountsMalformed(path: path, line: e.line, message: "a quoted field is not closed")
        }
        guard let header = records.first else { throw .strategicAccountsMalformed(path: path, line: 1, message: "the file is empty") }
        let names = header.fields.map { $0.trimmingSpaces.lowercased() }
        guard let idColumn = names.firstIndex(of: "customer_id"), let roleColumn = names.firstIndex(of: "role") else {
            throw .strategicAccountsMalformed(path: path, line: header.line, message: "the header must name customer_id and role")
        }
        var roles: [String: StrategicRole] = [:]
        for r in records.dropFirst() {
            guard r.fields.count > max(idColumn, roleColumn) else {
                throw .strategicAccountsMalformed(path: path, line: r.line, message: "has \(r.fields.count) fields, the header \(names.count)")
            }
            let id = r.fields[idColumn]
            let text = r.fields[roleColumn].trimmingSpaces.lowercased()
            guard !id.isEmpty else { throw .strategicAccountsMalformed(path: path, line: r.line, message: "customer_id is empty") }
            guard let role = StrategicRole(rawValue: text) else {
                throw .strategicAccountsMalformed(path: path, line: r.line, message: "role '\(text)' is not one of "
                    + StrategicRole.allCases.map(\.rawValue).joined(separator: ", "))
            }
            roles[id] = role
        }
        return StrategicAccounts(roles: roles)
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
