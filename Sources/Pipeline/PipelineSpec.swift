import ChurnModel
import Features
import Lifetime
import Plans
import Segmentation
import Foundation
import Ledger
import RetainIO
import SparkEngine

/// Which engine does the row-level work (`[engine]`): retain itself, or Apache Spark.
public enum Engine: Sendable, Equatable {
    case retain
    case spark(SparkSettings)

    public var kind: String {
        switch self {
        case .retain: return "retain"
        case .spark: return "spark"
        }
    }
}

/// A pipeline file, read and checked. Paths in it are relative to the file's folder.
///
/// ```toml
/// [input]
/// paths = ["../datasets/cdnow/CDNOW_master.txt"]  # files or globs; .gz is read directly
/// delimiter = "whitespace"                        # ",", ";", "\t", "|" or "whitespace"
/// header = true
/// date_format = "yyyyMMdd"                        # or "yyyy-MM-dd", "iso8601", "dd/MM/yyyy", ...
/// decimal_mark = "."
///
/// [input.columns]                                 # role = header name, or 1-based position
/// customer_id = "customer_id"
/// date = "date"
/// amount = "dollar_value"
///
/// [validation]
/// max_reject_share = 0.01
///
/// [output]
/// dir = "../out/cdnow"
/// ```
public struct PipelineSpec: Sendable {
    /// The pipeline file as given, and its folder (absolute).
    public let file: String
    public let folder: String
    /// XXH64 of the pipeline file's bytes.
    public let fileHash: String
    /// Input patterns, absolute (a URI, for the Spark engine, as given).
    public let inputPatterns: [String]
    /// `input.table`: a table of Spark's catalogue instead of files (Spark engine only).
    public var inputTable: String? = nil
    /// `[engine]`: who reads the rows.
    public var engine: Engine = .retain
    public var format: InputFormat
    /// Share of rows (0...1) that may be rejected before the run fails with exit 65.
    public var maxRejectShare: Double
    /// Output folder, absolute (nil when the file sets none; `--out` must then be given).
    public var outputDir: String?
    /// The features stage's horizon and windows.
    public var features: FeatureSettings
    /// The train stage's model: features, transforms, penalty, weights, stopping rule.
    public var model: ModelSettings
    /// The value stage's CLV horizon and discount rate.
    public var value: ValueSettings = ValueSettings()
    /// The segment stage's value, rules, targets and retention history.
    public var segment: SegmentSettings
    /// The control arms and the plan archive.
    public var plan: PlanSettings = PlanSettings()

    /// Every key the file may set, for "did you mean" suggestions and the README.
    public static let knownKeys: [String] = [
        "input.paths", "input.table", "input.delimiter", "input.header", "input.date_format", "input.decimal_mark",
    ] + Role.allCases.map { "input.columns.\($0.rawValue)" } + [
        "validation.max_reject_share", "validation.earliest_date", "validation.latest_date", "validation.max_abs_amount",
        "features.horizon_days", "features.active_window_days", "features.trend_window_days",
        "model.features", "model.l2", "model.class_weight", "model.tolerance", "model.max_iterations",
        "model.clip_quantiles", "model.separation_l2", "model.choice",
    ] + transformKeys + [
        "value.horizon_months", "value.annual_discount_rate",
        "segment.target_days", "segment.default_margin_rate", "segment.strategic_value_quantile", "segment.strategic_accounts",
        "segment.high_volume_quantile", "segment.costly_cost_share", "segment.switcher_discount_share",
        "segment.minimum_tenure_days", "segment.history_period", "segment.history_periods",
    ] + Segment.allCases.map { "segment.target_churn_reduction.\($0.rawValue)" } + [
        "plan.control_share", "plan.reshuffle", "plan.keep", "plan.key", "plan.every",
        "output.dir",
        "engine.kind", "engine.submit", "engine.master", "engine.scratch", "engine.scratch_mount",
    ]

    /// `[engine.conf]` takes any Spark setting: its keys are not listed.
    static let engineConfPrefix = "engine.conf."

    static let transformKeys: [String] = Feature.allCases.map { "model.transforms.\($0.rawValue)" }

    public static let knownTables: Set<String> = ["input", "input.columns", "validation", "features", "model", "model.transforms",
                                                  "value", "segment", "segment.target_churn_reduction", "plan", "output",
                                                  "engine", "engine.conf"]

    /// Reads and checks `path`. `today` fixes the default plausible-date limit (tests).
    public static func load(_ path: String, today: Int32? = nil) throws -> PipelineSpec {
        let bytes: [UInt8]
        do { bytes = try FilePath.readAll(path) } catch let e as IOError {
            if case .cannotRead(_, let reason) = e { throw PipelineError.pipelineUnreadable(file: path, reason: reason) }
            throw e
        }
        // A byte-order mark (editors on Windows write one) is not part of the TOML.
        let text = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        let doc = try TOMLReader(file: path, text: text)
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        let folder = absolute.deletingLastPathComponent().path
        let keys = KeyReader(file: path, doc: doc)
        // Unknown keys first: a typo is the cause of whatever would go wrong after it.
        try keys.rejectUnknown()
        // Then each section, in the order the file is usually written.
        let engine = try engineSettings(keys, file: path, folder: folder)
        let table = try keys.string("input.table")
        if let (_, line) = table, engine == .retain {
            throw PipelineError.invalidValue(file: path, key: "input.table", line: line,
                                             message: "a table of Spark's catalogue needs [engine] kind = \"spark\"; for files, use input.paths")
        }
        let patterns: [String]
        if let (_, line) = table {
            guard try keys.stringArray("input.paths") == nil else {
                throw PipelineError.invalidValue(file: path, key: "input.table", line: line, message: "give input.paths or input.table, not both")
            }
            patterns = []
        } else {
            patterns = try inputPatterns(keys, file: path, folder: folder, uris: engine != .retain)
        }
        let dates = try dateFormat(keys, file: path)
        let (earliest, latest) = try plausibleDays(keys, file: path, today: today ?? Self.today())
        let format = try inputFormat(keys, file: path, base: InputFormat(dateFormat: dates, earliestDay: earliest, latestDay: latest))
        let maxShare = try maxRejectShare(keys, file: path)
        var features = FeatureSettings()
        if let d = try keys.days("features.horizon_days") { features.horizonDays = d }
        if let d = try keys.days("features.active_window_days") { features.activeWindowDays = d }
        if let d = try keys.days("features.trend_window_days") { features.trendWindowDays = d }
        let model = try Self.modelSettings(keys, file: path)
        let segment = try Self.segmentSettings(keys, file: path, folder: folder, horizon: features.horizonDays)
        let value = try Self.valueSettings(keys, file: path)
        let plan = try Self.planSettings(keys, file: path)
        let out = try outputDir(keys, file: path, folder: folder)
        if engine != .retain, format.hasHeader, !format.columns.values.contains(where: { if case .name = $0 { return true }; return false }) {
            throw PipelineError.invalidValue(file: path, key: "input.header", line: (try keys.bool("input.header"))?.1 ?? 0,
                                             message: "with [engine] kind = \"spark\", a header is found by the column names: name at least one column in [input.columns], or set header = false")
        }
        var spec = PipelineSpec(file: path, folder: folder, fileHash: XXH64.hex(XXH64.hash(bytes)),
                                inputPatterns: patterns, format: format, maxRejectShare: maxShare, outputDir: out, features: features, model: model,
                                value: value, segment: segment, plan: plan)
        spec.inputTable = table?.0
        spec.engine = engine
        return spec
    }

    /// `[engine]`: kind (default retain) and, for Spark, how to submit and where results go.
    static func engineSettings(_ keys: KeyReader, file path: String, folder: String) throws -> Engine {
        let kind = try keys.string("engine.kind")
        let sparkKeys = ["engine.submit", "engine.master", "engine.scratch", "engine.scratch_mount"]
        switch kind?.0 ?? "retain" {
        case "retain":
            for k in sparkKeys { if let (_, line) = try keys.string(k) {
                throw PipelineError.invalidValue(file: path, key: k, line: line, message: "is read only with [engine] kind = \"spark\"")
            } }
            if let (k, line) = keys.entries(prefix: engineConfPrefix).first {
                throw PipelineError.invalidValue(file: path, key: k, line: line, message: "is read only with [engine] kind = \"spark\"")
            }
            return .retain
        case "spark":
            guard let (scratch, line) = try keys.string("engine.scratch"), !scratch.isEmpty else {
                throw PipelineError.missingKey(file: path, key: "engine.scratch",
                                               hint: "name the folder Spark writes its results to (a path, or a URI with engine.scratch_mount)")
            }
            let local = !scratch.contains("://") || scratch.hasPrefix("file://")
            func absolute(_ p: String) -> String {
                p.hasPrefix("/") ? p : URL(fileURLWithPath: folder).appendingPathComponent(p).standardizedFileURL.path
            }
            let mount: String
            if let (m, _) = try keys.string("engine.scratch_mount") { mount = absolute(m) } else {
                guard local else {
                    throw PipelineError.invalidValue(file: path, key: "engine.scratch", line: line,
                                                     message: "\(scratch) is not a local path: set engine.scratch_mount to where this machine reads the same folder")
                }
                mount = absolute(scratch.hasPrefix("file://") ? String(scratch.dropFirst(7)) : scratch)
            }
            var settings = SparkSettings(scratch: local ? (scratch.hasPrefix("file://") ? scratch : absolute(scratch)) : scratch, scratchMount: mount)
            if let (submit, line) = try keys.string("engine.submit") {
                let words = submit.split(separator: " ").map(String.init)
                guard !words.isEmpty else { throw PipelineError.invalidValue(file: path, key: "engine.submit", line: line, message: "name the command, e.g. \"spark-sql\"") }
                settings.submit = words
            }
            if let (m, _) = try keys.string("engine.master") { settings.master = m }
            settings.conf = try keys.entries(prefix: engineConfPrefix).compactMap { key, _ in
                try keys.anyScalar(key).map { SparkSettings.Conf(String(key.dropFirst(engineConfPrefix.count)), $0.0) }
            }.sorted { $0.key < $1.key }
            return .spark(settings)
        case let other:
            throw PipelineError.invalidValue(file: path, key: "engine.kind", line: kind?.1 ?? 0, message: "'\(other)' is not an engine; use \"retain\" or \"spark\"")
        }
    }

    /// `[plan]`.
    static func planSettings(_ keys: KeyReader, file path: String) throws -> PlanSettings {
        var p = PlanSettings()
        if let (v, line) = try keys.number("plan.control_share") {
            guard v >= 0, v < 1 else {
                throw PipelineError.invalidValue(file: path, key: "plan.control_share", line: line,
                                                 message: "must be a share from 0 to below 1 (1 would leave no one to act on), e.g. 0.10")
            }
            p.controlShare = v
        }
        if let (b, _) = try keys.bool("plan.reshuffle") { p.reshuffle = b }
        if let (k, line) = try keys.number("plan.keep") {
            guard k == k.rounded(), k >= 1, k <= 1000 else {
                throw PipelineError.invalidValue(file: path, key: "plan.keep", line: line, message: "must be a whole number of plans from 1 to 1000")
            }
            p.keep = Int(k)
        }
        if let (s, line) = try keys.string("plan.every") {
            if s != "run" {
                guard let period = HistoryPeriod(rawValue: s) else {
                    throw PipelineError.invalidValue(file: path, key: "plan.every", line: line,
                                                     message: "must be \"run\", \"week\", \"month\", \"quarter\" or \"year\"")
                }
                p.every = period
            }
        }
        if let (s, line) = try keys.string("plan.key") {
            guard !s.isEmpty else { throw PipelineError.invalidValue(file: path, key: "plan.key", line: line, message: "must not be empty") }
            p.key = s
        }
        return p
    }

    /// `[value]`.
    static func valueSettings(_ keys: KeyReader, file path: String) throws -> ValueSettings {
        var v = ValueSettings()
        if let (m, line) = try keys.number("value.horizon_months") {
            guard m == m.rounded(), m >= 1, m <= 600 else {
                throw PipelineError.invalidValue(file: path, key: "value.horizon_months", line: line, message: "must be a whole number of months from 1 to 600")
            }
            v.horizonMonths = Int(m)
        }
        if let (r, line) = try keys.number("value.annual_discount_rate") {
            guard r >= 0, r <= 1, r.isFinite else {
                throw PipelineError.invalidValue(file: path, key: "value.annual_discount_rate", line: line, message: "must be a yearly rate from 0 to 1, e.g. 0.10")
            }
            v.annualDiscountRate = r
        }
        return v
    }

    /// `input.paths`, each made absolute against the pipeline file's folder.
    static func inputPatterns(_ keys: KeyReader, file path: String, folder: String, uris: Bool = false) throws -> [String] {
        guard let (paths, pathsLine) = try keys.stringArray("input.paths") else {
            throw PipelineError.missingKey(file: path, key: "input.paths", hint: "list the transaction log files or globs, e.g. paths = [\"data/*.csv.gz\"]")
        }
        guard !paths.isEmpty else {
            throw PipelineError.invalidValue(file: path, key: "input.paths", line: pathsLine, message: "list at least one file or glob")
        }
        // A URI (hdfs://, s3a://) is Spark's to read, as given.
        let patterns = paths.map { p in
            p.hasPrefix("/") || (uris && p.contains("://")) ? p : URL(fileURLWithPath: folder).appendingPathComponent(p).standardizedFileURL.path
        }
        return patterns
    }

    /// `input.date_format` (default `yyyy-MM-dd`).
    static func dateFormat(_ keys: KeyReader, file path: String) throws -> DateFormat {
        let dateFormat: DateFormat
        if let (pattern, line) = try keys.string("input.date_format") {
            guard let f = DateFormat(pattern: pattern) else {
                throw PipelineError.invalidValue(file: path, key: "input.date_format", line: line,
                    message: "'\(pattern)' is not a date pattern; use letters yyyy, MM, dd (and HH, mm, ss), e.g. \"yyyy-MM-dd\", \"yyyyMMdd\" or \"iso8601\"")
            }
            dateFormat = f
        } else {
            dateFormat = .iso
        }
        return dateFormat
    }

    /// `validation.earliest_date` and `latest_date` as day numbers (defaults: 1970-01-01 and
    /// the day after `today`), earliest first.
    static func plausibleDays(_ keys: KeyReader, file path: String, today: Int32) throws -> (Int32, Int32) {
        var earliest = CivilDate.day(year: 1970, month: 1, day: 1) ?? 0
        var latest = today + 1
        if let (s, line) = try keys.string("validation.earliest_date") {
            guard let d = CivilDate.parseISO(s) else {
                throw PipelineError.invalidValue(file: path, key: "validation.earliest_date", line: line, message: "'\(s)' is not a date YYYY-MM-DD")
            }
            earliest = d
        }
        var latestLine = 0
        if let (s, line) = try keys.string("validation.latest_date") {
            guard let d = CivilDate.parseISO(s) else {
                throw PipelineError.invalidValue(file: path, key: "validation.latest_date", line: line, message: "'\(s)' is not a date YYYY-MM-DD")
            }
            latest = d
            latestLine = line
        }
        guard earliest <= latest else {
            throw PipelineError.invalidValue(file: path, key: latestLine > 0 ? "validation.latest_date" : "validation.earliest_date",
                                             line: latestLine > 0 ? latestLine : (try keys.string("validation.earliest_date"))?.1 ?? 0,
                                             message: "the plausible dates run from \(CivilDate.iso(earliest)) to \(CivilDate.iso(latest)): "
                                                + "earliest_date must not be after latest_date")
        }
        return (earliest, latest)
    }

    /// `base` with the delimiter, header, decimal mark, column mapping and largest
    /// plausible amount of `[input]` and `[validation]`.
    static func inputFormat(_ keys: KeyReader, file path: String, base: InputFormat) throws -> InputFormat {
        var format = base
        if let (d, line) = try keys.string("input.delimiter") {
            switch d {
            case "whitespace", "spaces": format.delimiter = .whitespace
            case "\\t", "tab": format.delimiter = .byte(0x09)
            default:
                guard d.utf8.count == 1, let b = d.utf8.first, b != 0x22, b != 0x0A, b != 0x0D else {
                    throw PipelineError.invalidValue(file: path, key: "input.delimiter", line: line,
                        message: "'\(d)' is not a delimiter; use one character such as \",\", \";\", \"\\t\", \"|\", or \"whitespace\"")
                }
                format.delimiter = .byte(b)
            }
        }
        if let (h, _) = try keys.bool("input.header") { format.hasHeader = h }
        if let (m, line) = try keys.string("input.decimal_mark") {
            guard m == "." || m == "," else {
                throw PipelineError.invalidValue(file: path, key: "input.decimal_mark", line: line, message: "use \".\" or \",\"")
            }
            format.decimalMark = m.utf8.first ?? UInt8(ascii: ".")
            if case .byte(let b) = format.delimiter, b == format.decimalMark {
                throw PipelineError.invalidValue(file: path, key: "input.decimal_mark", line: line, message: "the decimal mark cannot also be the delimiter")
            }
        }
        for role in Role.allCases {
            let key = "input.columns.\(role.rawValue)"
            guard let (ref, line) = try keys.column(key) else {
                if role.isRequired {
                    throw PipelineError.missingKey(file: path, key: key, hint: "map the log's \(role.rawValue) column (its header name, or its 1-based position)")
                }
                continue
            }
            if case .position(let p) = ref, p < 1 {
                throw PipelineError.invalidValue(file: path, key: key, line: line, message: "positions start at 1")
            }
            if case .name = ref, !format.hasHeader {
                throw PipelineError.invalidValue(file: path, key: key, line: line, message: "a column name needs input.header = true; give the 1-based position instead")
            }
            // One column for two roles (amount and cost the same) is a mapping mistake.
            if let (other, _) = format.columns.first(where: { $0.value == ref }) {
                throw PipelineError.invalidValue(file: path, key: key, line: line,
                    message: "names the same column as input.columns.\(other.rawValue); each role needs a column of its own")
            }
            format.columns[role] = ref
        }
        if let (v, line) = try keys.number("validation.max_abs_amount") {
            guard v > 0 else { throw PipelineError.invalidValue(file: path, key: "validation.max_abs_amount", line: line, message: "must be positive") }
            format.maxAbsAmount = v
        }
        return format
    }

    /// `validation.max_reject_share` (default 0.01).
    static func maxRejectShare(_ keys: KeyReader, file path: String) throws -> Double {
        var maxShare = 0.01
        if let (v, line) = try keys.number("validation.max_reject_share") {
            guard v >= 0, v <= 1 else {
                throw PipelineError.invalidValue(file: path, key: "validation.max_reject_share", line: line, message: "must be a share between 0 and 1 (0.01 = 1%)")
            }
            maxShare = v
        }
        return maxShare
    }

    /// `output.dir`, made absolute against the pipeline file's folder; nil when absent.
    static func outputDir(_ keys: KeyReader, file path: String, folder: String) throws -> String? {
        var out: String? = nil
        if let (d, line) = try keys.string("output.dir") {
            guard !d.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw PipelineError.invalidValue(file: path, key: "output.dir", line: line, message: "is empty; name the output folder")
            }
            out = d.hasPrefix("/") ? d : URL(fileURLWithPath: folder).appendingPathComponent(d).standardizedFileURL.path
        }
        return out
    }

    /// `[segment]` and `[segment.target_churn_reduction]`.
    static func segmentSettings(_ keys: KeyReader, file path: String, folder: String, horizon: Int32) throws -> SegmentSettings {
        var s = SegmentSettings()
        s.targetDays = horizon
        if let d = try keys.days("segment.target_days") { s.targetDays = d }
        if let d = try keys.days("segment.minimum_tenure_days") { s.minimumTenureDays = d }
        if let v = try keys.share("segment.default_margin_rate") { s.defaultMarginRate = v }
        if let v = try keys.share("segment.strategic_value_quantile") { s.strategicValueQuantile = v }
        if let v = try keys.share("segment.high_volume_quantile") { s.highVolumeQuantile = v }
        if let v = try keys.share("segment.costly_cost_share") { s.costlyCostShare = v }
        if let v = try keys.share("segment.switcher_discount_share") { s.switcherDiscountShare = v }
        for seg in Segment.allCases {
            if let v = try keys.share("segment.target_churn_reduction.\(seg.rawValue)") { s.targetChurnReduction[seg] = v }
        }
        if let (v, _) = try keys.string("segment.strategic_accounts") {
            s.strategicAccounts = v.hasPrefix("/") ? v : URL(fileURLWithPath: folder).appendingPathComponent(v).standardizedFileURL.path
        }
        if let (v, line) = try keys.string("segment.history_period") {
            guard let p = HistoryPeriod(rawValue: v) else {
                throw PipelineError.invalidValue(file: path, key: "segment.history_period", line: line,
                                                 message: "use " + HistoryPeriod.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            s.historyPeriod = p
        }
        if let (v, line) = try keys.number("segment.history_periods") {
            guard v >= 1, v <= 62, v == v.rounded() else {
                throw PipelineError.invalidValue(file: path, key: "segment.history_periods", line: line, message: "must be a whole number from 1 to 62")
            }
            s.historyPeriods = Int(v)
        }
        return s
    }

    /// `[model]` and `[model.transforms]`.
    static func modelSettings(_ keys: KeyReader, file path: String) throws -> ModelSettings {
        var m = ModelSettings()
        let featureNames = Feature.allCases.map(\.rawValue)
        if let (names, line) = try keys.stringArray("model.features") {
            for n in names where !featureNames.contains(n) {
                throw PipelineError.invalidValue(file: path, key: "model.features", line: line,
                    message: "'\(n)' is not a feature" + (closest(n, in: featureNames).map { "; did you mean \($0)?" } ?? "; see the features in README.md"))
            }
            guard !names.isEmpty else { throw PipelineError.invalidValue(file: path, key: "model.features", line: line, message: "list at least one feature, or leave the key out for all") }
            m.features = names
        }
        if let (v, line) = try keys.number("model.l2") {
            guard v >= 0, v.isFinite else { throw PipelineError.invalidValue(file: path, key: "model.l2", line: line, message: "must be 0 or more") }
            m.l2 = v
        }
        if let (v, line) = try keys.number("model.separation_l2") {
            guard v > 0, v.isFinite else { throw PipelineError.invalidValue(file: path, key: "model.separation_l2", line: line, message: "must be more than 0") }
            m.separationRidge = v
        }
        if let (v, line) = try keys.string("model.class_weight") {
            guard let w = ClassWeight(rawValue: v) else {
                throw PipelineError.invalidValue(file: path, key: "model.class_weight", line: line, message: "use \"none\" or \"balanced\"")
            }
            m.classWeight = w
        }
        if let (v, line) = try keys.string("model.choice") {
            guard let c = ModelChoice(rawValue: v) else {
                throw PipelineError.invalidValue(file: path, key: "model.choice", line: line,
                                                 message: "use " + ModelChoice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            m.choice = c
        }
        if let (v, line) = try keys.number("model.tolerance") {
            guard v > 0, v < 1 else { throw PipelineError.invalidValue(file: path, key: "model.tolerance", line: line, message: "must be between 0 and 1, e.g. 1e-8") }
            m.tolerance = v
        }
        if let (v, line) = try keys.number("model.max_iterations") {
            guard v >= 1, v <= 10_000, v == v.rounded() else {
                throw PipelineError.invalidValue(file: path, key: "model.max_iterations", line: line, message: "must be a whole number, 1 or more")
            }
            m.maxIterations = Int(v)
        }
        if let (q, line) = try keys.numberArray("model.clip_quantiles") {
            guard q.count == 2, q[0] >= 0, q[0] < q[1], q[1] <= 1 else {
                throw PipelineError.invalidValue(file: path, key: "model.clip_quantiles", line: line, message: "give two quantiles, lower then upper, e.g. [0.01, 0.99]")
            }
            m.clipLower = q[0]; m.clipUpper = q[1]
        }
        for f in featureNames {
            let key = "model.transforms.\(f)"
            guard let (v, line) = try keys.string(key) else { continue }
            guard let t = TermTransform(spec: v) else {
                throw PipelineError.invalidValue(file: path, key: key, line: line, message: "'\(v)' is not a transform; use \"none\", \"log1p\", \"clip\" or \"log1p+clip\"")
            }
            m.transforms[f] = t
        }
        return m
    }

    /// Today as a day number (UTC).
    public static func today() -> Int32 {
        Int32((Date().timeIntervalSince1970 / 86_400).rounded(.down))
    }
}

/// Reads typed keys from a parsed pipeline file. Every key the file sets must be one of
/// `PipelineSpec.knownKeys`, so a typo is reported (with a suggestion) and never silently
/// does nothing.
struct KeyReader {
    let file: String
    let doc: TOMLReader

    init(file: String, doc: TOMLReader) { self.file = file; self.doc = doc }

    private func entry(_ key: String) -> TOMLReader.Entry? {
        assert(PipelineSpec.knownKeys.contains(key) || key.hasPrefix(PipelineSpec.engineConfPrefix), "\(key) is read but not listed in knownKeys")
        return doc.entries[key]
    }

    /// The keys under `prefix` (a table of free-form keys), with their lines, by line.
    func entries(prefix: String) -> [(String, Int)] {
        doc.entries.filter { $0.key.hasPrefix(prefix) }.map { ($0.key, $0.value.line) }.sorted { $0.1 < $1.1 }
    }

    /// A string, number or boolean as text (a Spark setting's value).
    func anyScalar(_ key: String) throws -> (String, Int)? {
        guard let e = entry(key) else { return nil }
        switch e.value {
        case .string(let s): return (s, e.line)
        case .integer(let i): return (String(i), e.line)
        case .float(let d): return (String(d), e.line)
        case .bool(let b): return (String(b), e.line)
        case .array: throw wrong(key, e, "a string, number or true/false")
        }
    }

    private func wrong(_ key: String, _ e: TOMLReader.Entry, _ expected: String) -> PipelineError {
        .wrongType(file: file, key: key, line: e.line, expected: expected, found: "\(e.value.typeName) (\(e.value))")
    }

    func string(_ key: String) throws -> (String, Int)? {
        guard let e = entry(key) else { return nil }
        guard case .string(let s) = e.value else { throw wrong(key, e, "a string in quotes") }
        return (s, e.line)
    }

    func bool(_ key: String) throws -> (Bool, Int)? {
        guard let e = entry(key) else { return nil }
        guard case .bool(let b) = e.value else { throw wrong(key, e, "true or false") }
        return (b, e.line)
    }

    func number(_ key: String) throws -> (Double, Int)? {
        guard let e = entry(key) else { return nil }
        switch e.value {
        case .integer(let i): return (Double(i), e.line)
        case .float(let d): return (d, e.line)
        default: throw wrong(key, e, "a number")
        }
    }

    func stringArray(_ key: String) throws -> ([String], Int)? {
        guard let e = entry(key) else { return nil }
        switch e.value {
        case .string(let s): return ([s], e.line)
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw wrong(key, e, "a list of strings") }
                out.append(s)
            }
            return (out, e.line)
        default: throw wrong(key, e, "a list of strings")
        }
    }

    /// A whole number of days, 1 to 100 years.
    func days(_ key: String) throws -> Int32? {
        guard let (v, line) = try number(key) else { return nil }
        guard v >= 1, v <= 36_500, v == v.rounded() else {
            throw PipelineError.invalidValue(file: file, key: key, line: line, message: "must be a whole number of days, 1 or more")
        }
        return Int32(v)
    }

    /// A share, 0 to 1.
    func share(_ key: String) throws -> Double? {
        guard let (v, line) = try number(key) else { return nil }
        guard v >= 0, v <= 1 else { throw PipelineError.invalidValue(file: file, key: key, line: line, message: "must be a share between 0 and 1") }
        return v
    }

    func numberArray(_ key: String) throws -> ([Double], Int)? {
        guard let e = entry(key) else { return nil }
        guard case .array(let items) = e.value else { throw wrong(key, e, "a list of numbers") }
        var out: [Double] = []
        for item in items {
            switch item {
            case .integer(let i): out.append(Double(i))
            case .float(let d): out.append(d)
            default: throw wrong(key, e, "a list of numbers")
            }
        }
        return (out, e.line)
    }

    func column(_ key: String) throws -> (ColumnRef, Int)? {
        guard let e = entry(key) else { return nil }
        switch e.value {
        case .string(let s): return (.name(s), e.line)
        case .integer(let p): return (.position(p), e.line)
        default: throw wrong(key, e, "a column name in quotes or a 1-based position")
        }
    }

    /// Throws for the first (by line) key or table nobody asked for.
    func rejectUnknown() throws {
        let unknownKeys = doc.entries.filter { !PipelineSpec.knownKeys.contains($0.key) && !$0.key.hasPrefix(PipelineSpec.engineConfPrefix) }.sorted { $0.value.line < $1.value.line }
        let unknownTables = doc.tables.filter { !PipelineSpec.knownTables.contains($0.key) }
        if let (table, line) = unknownTables.min(by: { $0.value < $1.value }),
           unknownKeys.first.map({ $0.value.line > line }) ?? true {
            let known = Array(PipelineSpec.knownTables)
            throw PipelineError.unknownKey(file: file, key: "[\(table)]", line: line, suggestion: closest(table, in: known).map { "[\($0)]" })
        }
        if let (key, e) = unknownKeys.first {
            throw PipelineError.unknownKey(file: file, key: key, line: e.line, suggestion: closest(key, in: PipelineSpec.knownKeys))
        }
    }
}

/// The candidate nearest to `word` by edit distance, if it is plausibly a typo of it.
func closest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var cur = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                cur[j + 1] = min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word)
    let bound = max(2, w.count / 4)
    // The distance is at least the difference in length: a candidate farther off than the
    // bound in length is not compared (a 50,000-letter key costs nothing).
    let best = candidates.filter { abs($0.count - w.count) <= bound }.map { ($0, distance(w, Array($0))) }.min { $0.1 < $1.1 }
    guard let (c, d) = best, d <= bound else { return nil }
    return c
}
