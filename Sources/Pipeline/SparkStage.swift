import Features
import Foundation
import Ledger
import Plans
import RetainIO
import SparkEngine

/// The ingest stage on Spark (`[engine] kind = "spark"`): the script generated from the
/// pipeline (`SparkSQL`) submitted and waited for, its counts and rejects read back and
/// judged as retain's own ingest judges them. The rows are read once, for every row-level
/// result of the run (the snapshots as of this run's dates), which the later stages read
/// from the results folder the run records (`RunManifest.EngineRecord.results`).
struct SparkIngestStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    let settings: SparkSettings
    let asOf: Int32?

    static let scriptFile = "spark/query.sql"
    static let logFile = "spark/spark.log"

    /// This run's results: under the scratch folder, a folder per output folder (so
    /// pipelines may share a scratch), and in it one per run.
    func resultsFolder() -> (uri: String, mount: String, group: String) {
        let group = "retain-" + XXH64.hex(XXH64.hash(folder.path))
        let run = URL(fileURLWithPath: folder.staging).lastPathComponent
        return (settings.scratch + "/" + group + "/" + run, settings.scratchMount + "/" + group + "/" + run, settings.scratchMount + "/" + group)
    }

    func run() throws -> (result: IngestStage.Result, engine: RunManifest.EngineRecord) {
        let clock = StageClock()
        let (uri, mount, _) = resultsFolder()
        let input: SparkInput = spec.inputTable.map { .table($0) } ?? .paths(spec.inputPatterns)
        // The plans archived so far: their horizons' figures come with this read, for the
        // evaluate stage (a plan this run makes is not due before its horizon has passed).
        let plans = PlanArchive.list(in: folder.path).compactMap { day -> (asOf: Int32, horizonEnd: Int32)? in
            guard let r = try? PlanArchive.loadRecord(folder.publishedPath(PlanArchive.relative(day))) else { return nil }
            return (r.asOf, r.horizonEnd)
        }
        let sql = SparkSQL(input: input, format: spec.format, features: spec.features, segment: spec.segment, asOf: asOf,
                           plans: plans, output: uri)
        let script = sql.script
        let scriptPath = try folder.stagedPath(Self.scriptFile)
        try AtomicFile.write(scriptPath, contents: script)
        let logPath = try folder.stagedPath(Self.logFile)
        try FilePath.makeDirectories(mount)
        reporter.progress("ingest: Spark (\(settings.master))...")
        let job = SparkJob(settings: settings, folder: spec.folder)
        let outcome = try job.run(script: scriptPath, log: logPath, directory: mount)
        let results = SparkResults(root: mount)
        let counts = try results.counts()
        if let missing = counts.inputs.first(where: { !$0.headerFound }) {
            let names = spec.format.columns.values.compactMap { ref -> String? in if case .name(let n) = ref { return n }; return nil }.sorted()
            throw SparkError.noHeader(input: missing.path, names: names)
        }
        try writeRejects(results)
        let read = counts.read, accepted = counts.accepted
        let byReason = counts.rejected
        let rejected = byReason.values.reduce(0, +)
        var c: [String: Int] = ["files": counts.inputs.count, "rows_read": read, "rows_accepted": accepted,
                                "rows_rejected": rejected, "customers": counts.customers]
        for (r, n) in byReason { c["rejected_\(r.rawValue)"] = n }
        var dates: [String: String] = [:]
        if let span = try results.span() {
            dates["first_transaction"] = CivilDate.iso(span.first)
            dates["last_transaction"] = CivilDate.iso(span.last)
        }
        var record = clock.record(counts: c, dates: dates, notes: ["rows read by Spark (\(settings.master)), application \(outcome.applicationID ?? "unknown")"])
        reporter.info("ingest: Spark read \(MessageText.grouped(read)) rows from \(counts.inputs.count) input(s): \(MessageText.grouped(accepted)) accepted, "
            + "\(MessageText.grouped(rejected)) rejected; \(MessageText.grouped(counts.customers)) customers (\(MessageText.seconds(record.seconds)))")
        let stop = IngestStage.judge(read: read, rejected: rejected, byReason: byReason.map { ($0.key.rawValue, $0.value) },
                                     customers: counts.customers, spec: spec, folder: folder, reporter: reporter)
        if stop != nil { record.status = "failed" }
        let inputs = counts.inputs.map { i in
            RunManifest.Input(path: i.path, bytes: 0, hash: "", rowsRead: i.read, rowsAccepted: i.accepted,
                              rowsRejected: i.read - i.accepted, reused: false, changedSinceLastRun: false)
        }
        let engine = RunManifest.EngineRecord(kind: "spark", submit: settings.submit.joined(separator: " "), master: settings.master,
                                              sqlHash: XXH64.hex(XXH64.hash(Array(script.utf8))), applicationId: outcome.applicationID,
                                              results: mount, asOf: asOf.map(CivilDate.iso), seconds: outcome.seconds)
        return (IngestStage.Result(inputs: inputs, record: record, stop: stop), engine)
    }

    /// `rejects.csv` from Spark's rejects: file, line (empty: a distributed read does not
    /// number lines), reason, raw, detail (what the reason means).
    private func writeRejects(_ results: SparkResults) throws {
        try AtomicFile.write(try folder.stagedPath(LedgerBuilder.rejectsFile)) { out in
            try CSVText.appendHeader(["file", "line", "reason", "raw", "detail"], to: out)
            try results.forEachReject { input, reason, raw in
                try CSVText.appendField(input, to: out)
                try out.append(byte: UInt8(ascii: ","))
                try out.append(byte: UInt8(ascii: ","))
                try out.append(reason.rawValue)
                try out.append(byte: UInt8(ascii: ","))
                try CSVText.appendField(raw, to: out)
                try out.append(byte: UInt8(ascii: ","))
                try CSVText.appendField(reason.meaning, to: out, neutralise: false)
                try out.append(byte: 0x0A)
            }
        }
    }

    /// After a successful publish: the results of this folder's earlier runs go (the
    /// current ones stay for the stages a later `--from` reruns).
    static func removeEarlierResults(group: String, keeping current: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: group)) ?? []
        for n in names where group + "/" + n != current { try? FileManager.default.removeItem(atPath: group + "/" + n) }
    }
}

extension RejectReason {
    /// What the reason means, for a reject whose engine gives no detail of its own.
    var meaning: String {
        switch self {
        case .missingField: return "fewer fields than the mapping needs, or a required field empty"
        case .tooManyFields: return "more fields than the header (an unquoted delimiter inside a value?)"
        case .unterminatedQuote: return "a quote not closed on its line, or text after a closing quote"
        case .emptyCustomerID: return "the customer id is empty or only blanks"
        case .invalidText: return "the customer id is not valid UTF-8 or holds a NUL byte"
        case .unparsableDate: return "the date does not match input.date_format or is not a real day"
        case .implausibleDate: return "the date is outside validation.earliest_date..latest_date"
        case .unparsableAmount: return "the amount is not a number"
        case .implausibleAmount: return "the amount exceeds validation.max_abs_amount"
        case .unparsableNumber: return "an optional number is not a plausible number"
        case .missingOrderID: return "the order id is empty"
        case .duplicateLine: return "an exact repeat of an earlier line of an order"
        }
    }
}
