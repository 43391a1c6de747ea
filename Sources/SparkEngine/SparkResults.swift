import Features
import Foundation
import Ledger
import RetainIO
import Segmentation

/// What the generated script writes (`SparkSQL`), read back from the scratch folder as
/// retain sees it: each result a folder of CSV part files with Spark's `_SUCCESS` marker,
/// read one part file at a time in name order (Spark's order of the sorted output).
public struct SparkResults: Sendable {
    /// The results' folder, as a local or mounted path.
    public let root: String

    public init(root: String) { self.root = root }

    /// The folders the script writes under its output URI.
    public enum Folder: Sendable, Equatable {
        case counts, rejects, span
        case snapshot(SnapshotDates.Snapshot)
        /// Every line with its reason and typed values (Parquet; the script's own input).
        case checked
        /// The retention history, a row per period, and its cohort table.
        case history, cohorts
        /// A plan's customers' purchases and revenue in its horizon (the plan's as-of day).
        case outcome(Int32)

        public var rawValue: String {
            switch self {
            case .checked: return "checked"
            case .history: return "history"
            case .cohorts: return "cohorts"
            case .outcome(let day): return "outcome_\(day)"
            case .counts: return "counts"
            case .rejects: return "rejects"
            case .span: return "span"
            case .snapshot(let s): return "snapshot_\(s.rawValue)"
            }
        }
    }

    /// The part files of `folder`, in name order; empty ones (an empty partition) left out.
    func parts(_ folder: Folder) throws -> [String] {
        let dir = root + "/" + folder.rawValue
        guard FileManager.default.fileExists(atPath: dir + "/_SUCCESS") else {
            throw SparkError.badResult(path: dir, detail: "no _SUCCESS marker: Spark did not finish writing it")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("part-") }.sorted().map { dir + "/" + $0 }.filter { path in
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0) > 0
        }
    }

    /// Every part of `folder` as one table (the same columns in each).
    func table(_ folder: Folder) throws -> (names: [String], ids: [String], columns: [[Double]]) {
        var names: [String]? = nil
        var ids: [String] = []
        var columns: [[Double]] = []
        for part in try parts(folder) {
            let t: CSVTable
            do { t = try CSVTable.read(part) } catch { throw SparkError.badResult(path: part, detail: "\(error)") }
            if let n = names, n != t.names { throw SparkError.badResult(path: part, detail: "columns \(t.names) where the other parts have \(n)") }
            if names == nil { names = t.names; columns = [[Double]](repeating: [], count: t.names.count) }
            ids.reserveCapacity(ids.count + t.count)
            for i in 0..<t.count { ids.append(t.key(i)) }
            for c in 0..<t.names.count { columns[c] += t.columns[c] }
        }
        return (names ?? [], ids, columns)
    }

    /// The rows read and how they ended, per input, and the customers with an accepted row.
    public struct Counts: Sendable, Equatable {
        public struct Input: Sendable, Equatable {
            public var path: String
            public var headerFound = true
            public var accepted = 0
            public var rejected: [RejectReason: Int] = [:]
            public var read: Int { accepted + rejected.values.reduce(0, +) }
        }

        public var inputs: [Input] = []
        public var customers = 0
        public var accepted: Int { inputs.reduce(0) { $0 + $1.accepted } }
        public var rejected: [RejectReason: Int] {
            inputs.reduce(into: [:]) { all, i in for (r, n) in i.rejected { all[r, default: 0] += n } }
        }
        public var read: Int { inputs.reduce(0) { $0 + $1.read } }
    }

    public func counts() throws -> Counts {
        let t = try table(.counts)
        let path = root + "/" + Folder.counts.rawValue
        guard let rows = t.names.firstIndex(of: "rows") else { throw SparkError.badResult(path: path, detail: "no rows column") }
        var c = Counts()
        var at: [String: Int] = [:]
        for (i, key) in t.ids.enumerated() {
            let n = Int(t.columns[rows][i])
            guard let space = key.firstIndex(of: " ") else { throw SparkError.badResult(path: path, detail: "row \(key) names no input") }
            let what = String(key[..<space]), input = String(key[key.index(after: space)...])
            if what == "customers" { c.customers = n; continue }
            let k = at[input] ?? { c.inputs.append(Counts.Input(path: input)); at[input] = c.inputs.count - 1; return c.inputs.count - 1 }()
            switch what {
            case "accepted": c.inputs[k].accepted = n
            case "header": c.inputs[k].headerFound = n == 1
            default:
                guard let r = RejectReason(rawValue: what) else { throw SparkError.badResult(path: path, detail: "unknown reason \(what)") }
                c.inputs[k].rejected[r] = n
            }
        }
        return c
    }

    /// The accepted rows' first and last day; nil when none was accepted.
    public func span() throws -> (first: Int32, last: Int32)? {
        var fields: [[String]] = []
        for part in try parts(.span) { try CSVRecords.forEach(part) { fields.append($0) } }
        guard fields.count == 2, let first = Int32(fields[1][0]), let last = Int32(fields[1][1]) else { return nil }
        return (first, last)
    }

    /// A snapshot read back: its customers (`customerIDs`, every customer with a purchase on
    /// or before its date, in customer_id order), their customer-base summary, and the
    /// active ones' features (`Snapshot.customers` index `customerIDs`).
    public struct SnapshotRead: Sendable {
        public let snapshot: Snapshot
        public let base: CustomerBase
        public let customerIDs: [String]
    }

    /// The snapshot as of `asOf`; `labelled`: whether its label is known (the data reaches
    /// A + H), else it has none.
    public func snapshot(_ named: SnapshotDates.Snapshot, asOf: Int32, labelled: Bool, features: [Feature]) throws -> SnapshotRead {
        let t = try table(.snapshot(named))
        let path = root + "/" + Folder.snapshot(named).rawValue
        func column(_ name: String) throws -> [Double] {
            guard let i = t.names.firstIndex(of: name) else { throw SparkError.badResult(path: path, detail: "no \(name) column") }
            return t.columns[i]
        }
        // Spark's sort is by the ids' bytes, as the ledger's order is: checked, since every
        // later stage relies on it.
        for i in 1..<max(t.ids.count, 1) where !t.ids[i - 1].utf8.lexicographicallyPrecedes(t.ids[i].utf8) {
            throw SparkError.badResult(path: path, detail: "customer \(MessageText.excerpt(t.ids[i], limit: 40)) is out of customer_id order")
        }
        var base = CustomerBase(asOf: asOf)
        base.customers = (0..<t.ids.count).map(Int32.init)
        base.repeatPurchases = try column("x").map { Int32($0) }
        base.repeatSpanDays = try column("t_x")
        base.ageDays = try column("T")
        base.repeatMeanSpend = try column("zbar")
        let active = try column("active")
        let members = (0..<t.ids.count).filter { active[$0] == 1 }
        let values = try features.map { f in let c = try column(f.rawValue); return members.map { c[$0] } }
        let churnedColumn = try column("churned")
        let churned = labelled ? members.map { UInt8(churnedColumn[$0]) } : nil
        let snap = Snapshot(asOf: asOf, features: features, customers: members.map(Int32.init), values: values, churned: churned)
        return SnapshotRead(snapshot: snap, base: base, customerIDs: t.ids)
    }

    /// The retention history and its cohorts; `basis` says what profit was computed from.
    public func history(basis: String) throws -> RetentionHistory {
        let h = try table(.history), c = try table(.cohorts)
        func column(_ t: (names: [String], ids: [String], columns: [[Double]]), _ name: String, _ folder: Folder) throws -> [Double] {
            guard let i = t.names.firstIndex(of: name) else { throw SparkError.badResult(path: root + "/" + folder.rawValue, detail: "no \(name) column") }
            return t.columns[i]
        }
        let start = try column(h, "start", .history), end = try column(h, "end", .history)
        let s = try column(h, "customers_start", .history), e = try column(h, "customers_end", .history)
        let n = try column(h, "new_customers", .history), kept = try column(h, "retained", .history), lost = try column(h, "lost", .history)
        let sr = try column(h, "sales_retained", .history), sb = try column(h, "sales_base", .history)
        let pr = try column(h, "profit_retained", .history), pb = try column(h, "profit_base", .history)
        var rows: [RetentionHistory.Row] = []
        for i in 0..<h.ids.count {
            var r = RetentionHistory.Row(start: Int32(start[i]), end: Int32(end[i]))
            r.customersStart = Int(s[i]); r.customersEnd = Int(e[i]); r.newCustomers = Int(n[i]); r.retained = Int(kept[i]); r.lost = Int(lost[i])
            r.salesRetained = sr[i]; r.salesBase = sb[i]; r.profitRetained = pr[i]; r.profitBase = pb[i]
            rows.append(r)
        }
        // Every (cohort, later period) cell, empty cohorts included, as RetentionHistory lists them.
        let size = try column(c, "customers", .cohorts), retained = try column(c, "retained", .cohorts)
        var cells: [String: (Int, Int)] = [:]
        for (i, key) in c.ids.enumerated() { cells[key] = (Int(size[i]), Int(retained[i])) }
        var cohorts: [RetentionHistory.CohortRow] = []
        for a in 0..<rows.count {
            let cohortSize = cells["\(a) \(a)"]?.0 ?? 0
            for b in a..<rows.count {
                cohorts.append(RetentionHistory.CohortRow(cohortStart: rows[a].start, periodStart: rows[b].start,
                                                          customers: cohortSize, retained: cells["\(a) \(b)"]?.1 ?? 0))
            }
        }
        return RetentionHistory(rows: rows, cohorts: cohorts, profitBasis: basis)
    }

    /// Whether the results hold the horizon figures of the plan made on `asOf`.
    public func hasOutcome(_ asOf: Int32) -> Bool {
        FileManager.default.fileExists(atPath: root + "/" + Folder.outcome(asOf).rawValue + "/_SUCCESS")
    }

    /// The plan made on `asOf`'s horizon: customers with a row in it, whether each bought,
    /// and its net revenue.
    public func outcome(_ asOf: Int32) throws -> (ids: [String], bought: [Double], revenue: [Double]) {
        let t = try table(.outcome(asOf))
        guard let b = t.names.firstIndex(of: "bought"), let r = t.names.firstIndex(of: "revenue") else {
            throw SparkError.badResult(path: root + "/" + Folder.outcome(asOf).rawValue, detail: "no bought and revenue columns")
        }
        return (t.ids, t.columns[b], t.columns[r])
    }

    /// The customers with a purchase on or before the scoring date (the scoring snapshot's
    /// base), in customer_id order.
    public func knownCustomers() throws -> [String] { try table(.snapshot(.scoring)).ids }

    /// Each rejected row: the input it came from, its reason and its text.
    public func forEachReject(_ body: (String, RejectReason, String) throws -> Void) throws {
        for part in try parts(.rejects) {
            var header = true
            try CSVRecords.forEach(part) { f in
                if header { header = false; return }
                guard f.count == 3, let reason = RejectReason(rawValue: f[1]) else {
                    throw SparkError.badResult(path: part, detail: "a reject row is not input,reason,raw")
                }
                try body(f[0], reason, f[2])
            }
        }
    }
}

/// RFC 4180 records of a file, fields unquoted (a quoted field may hold line breaks).
enum CSVRecords {
    static func forEach(_ path: String, _ body: ([String]) throws -> Void) throws {
        let bytes = try FilePath.readAll(path)
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false, i = 0
        func endField() { fields.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true) }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
                    quoted = false
                } else { field.append(b) }
            } else if b == 0x22 && field.isEmpty {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                endField()
            } else if b == 0x0A {
                if field.last == 0x0D { field.removeLast() }
                endField(); try body(fields); fields.removeAll(keepingCapacity: true)
            } else { field.append(b) }
            i += 1
        }
        if !field.isEmpty || !fields.isEmpty { endField(); try body(fields) }
    }
}
