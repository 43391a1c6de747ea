import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RetainIO
import Segmentation

/// `plans/<as-of>/plan.json`: what a plan was made from, and the checksum of each of its files.
public struct PlanRecord: Codable, Sendable, Equatable {
    public var asOf: String
    /// The churn horizon H the plan's probabilities speak about (days after as-of).
    public var horizonDays: Int
    /// as-of + H: the plan can be judged once the data reaches this day.
    public var horizonEnd: String
    public var createdAt: String
    public var retainVersion: String
    /// XXH64 of the pipeline file, and of the settings that shaped the plan (features,
    /// model, value, segment and plan keys).
    public var pipelineHash: String
    public var settingsHash: String
    /// The arms' draw (see `ArmDraw`): any tool with XXH64 redraws them from this.
    public var drawKey: String
    public var controlShare: Double
    public var reshuffle: Bool
    public var customers: Int
    /// XXH64 (hex) of each of the plan's files, by name.
    public var files: [String: String]

    public init(asOf: String, horizonDays: Int, horizonEnd: String, createdAt: String, retainVersion: String, pipelineHash: String,
                settingsHash: String, drawKey: String, controlShare: Double, reshuffle: Bool, customers: Int, files: [String: String]) {
        self.asOf = asOf; self.horizonDays = horizonDays; self.horizonEnd = horizonEnd; self.createdAt = createdAt
        self.retainVersion = retainVersion; self.pipelineHash = pipelineHash; self.settingsHash = settingsHash; self.drawKey = drawKey
        self.controlShare = controlShare; self.reshuffle = reshuffle; self.customers = customers; self.files = files
    }
}

/// A plan as the archive holds it: per customer its group, arm, churn probability and CLV.
public struct Plan: Sendable {
    public let folder: String
    public let record: PlanRecord
    public let asOf: Int32
    public let horizonDays: Int32
    /// Per customer, by customer_id (byte order): id as in the log, group, arm, p, CLV (NaN without).
    public var ids: [String]
    public var segments: [Segment]
    public var arms: [Arm]
    public var probabilities: [Double]
    public var clv: [Double]
    /// Per group: the targeted share of expected churners to keep (0: no action).
    public var targetChurnReduction: [Segment: Double]

    public var horizonEnd: Int32 { asOf + horizonDays }
}

/// The plan archive in an output folder: `plans/<as-of>/` with `plan.json`,
/// `customers.csv` (customer_id, segment, treatment, churn_probability, clv) and
/// `targets.csv` (one row per group, its arms' sizes and targets). Plain CSV and JSON,
/// so an analyst reads a plan with any tool; the checksums in plan.json make a damaged
/// or edited plan an error, not a wrong evaluation.
public enum PlanArchive {
    public static let folder = "plans"
    public static let recordFile = "plan.json"
    public static let customersFile = "customers.csv"
    public static let targetsFile = "targets.csv"

    /// `plans/<as-of>`, relative to the output folder.
    public static func relative(_ asOf: Int32) -> String { "\(folder)/\(CivilDate.iso(asOf))" }

    /// What the segment stage hands over to be archived.
    public struct Draft {
        public var scores: CSVTable
        public var segments: [Segment]
        public var arms: [Arm]
        public var clv: [Double]?
        public var targets: [SegmentTarget]
        public var record: PlanRecord

        public init(scores: CSVTable, segments: [Segment], arms: [Arm], clv: [Double]?, targets: [SegmentTarget], record: PlanRecord) {
            self.scores = scores; self.segments = segments; self.arms = arms; self.clv = clv; self.targets = targets; self.record = record
        }
    }

    /// Writes the plan's three files into the folder `dir` (a staging path); plan.json last,
    /// with the others' checksums.
    public static func write(_ draft: Draft, to dir: String) throws {
        try FilePath.makeDirectories(dir)
        guard let p = draft.scores.column("churn_probability") else {
            throw SegmentationError.missingColumn(file: draft.scores.path, column: "churn_probability")
        }
        let scores = draft.scores, segments = draft.segments, arms = draft.arms, clv = draft.clv
        // Each file's XXH64 is taken as it is written (`hashing`), not by reading it back.
        let customersPath = FilePath.join(dir, customersFile)
        let customersHash = try AtomicFile.write(customersPath, hashing: true) { out -> UInt64 in
            try CSVText.appendHeader(["customer_id", "segment", "treatment", "churn_probability", "clv"], to: out)
            try ParallelRows.write(rows: scores.count, bytesPerRow: 64, to: out, alsoTo: []) { i, b in
                try scores.appendRawKey(i, to: b)
                try b.append(byte: UInt8(ascii: ","))
                try b.append(segments[i].rawValue)
                try b.append(byte: UInt8(ascii: ","))
                try b.append(arms[i].rawValue)
                try b.append(byte: UInt8(ascii: ","))
                try b.appendExact(p[i])
                try b.append(byte: UInt8(ascii: ","))
                if let clv, clv[i].isFinite { try b.appendFixed(clv[i], decimals: 2) }
                try b.append(byte: 0x0A)
                return nil
            }
            return out.hasher.finish()
        }
        var armCounts: [Segment: (target: Int, control: Int)] = [:]
        for i in 0..<segments.count {
            var c = armCounts[segments[i]] ?? (0, 0)
            if arms[i] == .control { c.control += 1 } else { c.target += 1 }
            armCounts[segments[i]] = c
        }
        let targetsPath = FilePath.join(dir, targetsFile)
        let targetsHash = try AtomicFile.write(targetsPath, hashing: true) { out -> UInt64 in
            try CSVText.appendHeader(["segment", "customers", "target_customers", "control_customers", "expected_churners",
                                      "target_churn_reduction", "target_retained_customers", "target_retained_revenue",
                                      "max_spend_per_customer"], to: out)
            for t in draft.targets {
                let c = armCounts[t.segment] ?? (0, 0)
                try out.append("\(t.segment.rawValue),\(t.customers),\(c.target),\(c.control),")
                try out.appendFixed(t.expectedChurners, decimals: 4)
                try out.append(byte: UInt8(ascii: ","))
                try out.appendDecimal(t.targetChurnReduction)
                for v in [t.targetRetainedCustomers, t.targetRetainedRevenue, t.maxSpendPerCustomer] {
                    try out.append(byte: UInt8(ascii: ","))
                    try out.appendFixed(v, decimals: 2)
                }
                try out.append(byte: 0x0A)
            }
            return out.hasher.finish()
        }
        var record = draft.record
        record.customers = scores.count
        record.files = [customersFile: XXH64.hex(customersHash), targetsFile: XXH64.hex(targetsHash)]
        let json = try ResultJSON.encoder().encode(record)
        try AtomicFile.write(FilePath.join(dir, recordFile), contents: String(decoding: json, as: UTF8.self) + "\n")
    }

    /// The as-of dates of the plans under `outputDir/plans/`, oldest first (folders not
    /// named by a date are not plans and are left alone).
    public static func list(in outputDir: String) -> [Int32] {
        FilePath.contents(of: FilePath.join(outputDir, folder)).compactMap { name in
            guard let d = CivilDate.parseISO(name), CivilDate.iso(d) == name else { return nil }
            return d
        }.sorted()
    }

    /// The plan.json of the plan in `dir`, with its as-of and horizon end as day numbers
    /// (without reading the plan's customers).
    public static func loadRecord(_ dir: String) throws(PlansError) -> (record: PlanRecord, asOf: Int32, horizonEnd: Int32) {
        let recordPath = FilePath.join(dir, recordFile)
        let record: PlanRecord
        do { record = try ResultJSON.decoder().decode(PlanRecord.self, from: Data(try FilePath.readAll(recordPath))) } catch {
            throw .damagedPlan(path: recordPath, detail: "not a plan record (\(error))")
        }
        guard let asOf = CivilDate.parseISO(record.asOf), record.horizonDays > 0, record.horizonDays <= 36_500 else {
            throw .damagedPlan(path: recordPath, detail: "as_of \(record.asOf) or horizon_days \(record.horizonDays) is not valid")
        }
        return (record, asOf, asOf + Int32(record.horizonDays))
    }

    /// Reads the plan in `dir`, checking each file against plan.json's checksum.
    public static func load(_ dir: String) throws(PlansError) -> Plan {
        let (record, asOf, _) = try loadRecord(dir)
        var texts: [String: [UInt8]] = [:]
        for name in [customersFile, targetsFile] {
            let path = FilePath.join(dir, name)
            let bytes: [UInt8]
            do { bytes = try FilePath.readAll(path) } catch { throw .damagedPlan(path: path, detail: "cannot be read (\(error))") }
            let hash = XXH64.hex(XXH64.hash(bytes))
            guard record.files[name] == hash else {
                throw .damagedPlan(path: path, detail: "its checksum \(hash) is not the \(record.files[name] ?? "(none)") plan.json recorded: the file was changed or damaged")
            }
            texts[name] = bytes
        }
        var reduction: [Segment: Double] = [:]
        let targetsPath = FilePath.join(dir, targetsFile)
        switch CSVRecords.parse(texts[targetsFile] ?? []) {
        case .failure(let e): throw .damagedPlan(path: targetsPath, detail: "line \(e.line): a quoted field is not closed")
        case .success(let rows):
            guard let header = rows.first?.fields, let s = header.firstIndex(of: "segment"),
                  let r = header.firstIndex(of: "target_churn_reduction") else {
                throw .damagedPlan(path: targetsPath, detail: "no segment or target_churn_reduction column")
            }
            for row in rows.dropFirst() {
                guard row.fields.count == header.count, let seg = Segment(rawValue: row.fields[s]), let v = Double(row.fields[r]) else {
                    throw .damagedPlan(path: targetsPath, detail: "line \(row.line) is not a group's row")
                }
                reduction[seg] = v
            }
        }
        let customersPath = FilePath.join(dir, customersFile)
        let rows = try parseCustomers(texts[customersFile] ?? [], path: customersPath)
        return Plan(folder: dir, record: record, asOf: asOf, horizonDays: Int32(record.horizonDays), ids: rows.ids, segments: rows.segments,
                    arms: rows.arms, probabilities: rows.p, clv: rows.clv, targetChurnReduction: reduction)
    }

    /// customers.csv as `write` made it: an id field (RFC 4180, possibly quoted), then
    /// segment, treatment, churn_probability and clv, none of them quoted. One pass over
    /// the bytes: the words matched as bytes, the numbers read by `strtod` in place (a
    /// plan holds every scored customer, and a String per field would cost more than the
    /// rest of the evaluation).
    static func parseCustomers(_ text: [UInt8], path: String) throws(PlansError) -> (ids: [String], segments: [Segment], arms: [Arm], p: [Double], clv: [Double]) {
        let header = Array("customer_id,segment,treatment,churn_probability,clv\n".utf8)
        guard text.starts(with: header) else { throw .damagedPlan(path: path, detail: "line 1 is not the plan's header") }
        // strtod stops at the comma or line break after a number; a last line without its
        // line break gets one, so no number ends at the buffer's end.
        let bytes = text.last == 0x0A ? text : text + [0x0A]
        let segmentWords = Segment.allCases.map { Array($0.rawValue.utf8) }, armWords = Arm.allCases.map { Array($0.rawValue.utf8) }
        var ids: [String] = [], segments: [Segment] = [], arms: [Arm] = [], p: [Double] = [], clv: [Double] = []
        let estimate = bytes.count / 40
        ids.reserveCapacity(estimate); segments.reserveCapacity(estimate); arms.reserveCapacity(estimate)
        p.reserveCapacity(estimate); clv.reserveCapacity(estimate)
        var failure: Int? = nil
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return }
            let n = b.count, comma = UInt8(ascii: ","), quote = UInt8(ascii: "\"")
            var i = header.count, line = 1
            /// The word at i up to the next comma, as an index into `words`.
            func word(_ words: [[UInt8]]) -> Int? {
                var j = i
                while j < n && b[j] != comma && b[j] != 0x0A { j += 1 }
                let found = words.firstIndex { w in w.count == j - i && zip(w, b[i..<j]).allSatisfy { $0 == $1 } }
                i = j
                return found
            }
            func number() -> Double? {
                var end: UnsafeMutablePointer<CChar>? = nil
                let start = UnsafeMutableRawPointer(mutating: base + i).assumingMemoryBound(to: CChar.self)
                let v = strtod(start, &end)
                guard let end, end != start else { return nil }
                i += start.distance(to: end)
                return v
            }
            while i < n {
                line += 1
                let start = i
                if b[i] == quote {
                    i += 1
                    while i < n && !(b[i] == quote && (i + 1 >= n || b[i + 1] != quote)) { i += b[i] == quote ? 2 : 1 }
                    i += 1
                } else {
                    while i < n && b[i] != comma && b[i] != 0x0A { i += 1 }
                }
                guard i < n, b[i] == comma else { failure = line; return }
                let id = CSVText.decode(bytes[start..<i])
                i += 1
                guard let s = word(segmentWords), i < n, b[i] == comma else { failure = line; return }
                i += 1
                guard let a = word(armWords), i < n, b[i] == comma else { failure = line; return }
                i += 1
                guard let prob = number(), prob >= 0, prob <= 1, i < n, b[i] == comma else { failure = line; return }
                i += 1
                var value = Double.nan
                if b[i] != 0x0A {
                    guard let v = number() else { failure = line; return }
                    value = v
                }
                guard i < n, b[i] == 0x0A else { failure = line; return }
                i += 1
                ids.append(id); segments.append(Segment.allCases[s]); arms.append(Arm.allCases[a]); p.append(prob); clv.append(value)
            }
        }
        if let line = failure { throw .damagedPlan(path: path, detail: "line \(line) is not customer_id,segment,treatment,churn_probability,clv") }
        return (ids, segments, arms, p, clv)
    }
}
