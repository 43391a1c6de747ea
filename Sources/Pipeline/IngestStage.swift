import Foundation
import Ledger
import RetainIO

/// The ingest stage: the ledger built from the input files (`LedgerBuilder`), recorded, and
/// judged: the run stops with exit 65 when rejects exceed the allowed share or no customer
/// is left.
struct IngestStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter

    struct Result {
        var inputs: [RunManifest.Input]
        var record: RunManifest.StageRecord
        /// Why the run stops here (rejects over the limit, no customer): decided after the
        /// counts, so that the failure's run.json has them.
        var stop: PipelineError? = nil
    }

    func run() throws -> Result {
        let clock = StageClock()
        let files = try Inputs.resolve(spec.inputPatterns)
        // Lines repeated across inputs are looked for when the pipeline can see several
        // files (a list or a glob) and maps order ids.
        let acrossFiles = spec.format.columns[.orderID] != nil
            && (spec.inputPatterns.count > 1 || spec.inputPatterns.contains { $0.contains(where: { "*?[".contains($0) }) })
        let built = try LedgerBuilder(format: spec.format, acrossFiles: acrossFiles).build(files: files, in: folder) { event in
            switch event {
            case .progress(let m): reporter.progress(m)
            case .detail(let m): reporter.detail(m)
            case .warning(let m): reporter.warning(m)
            }
        }
        let read = built.rowsRead, accepted = built.rowsAccepted, rejected = built.rowsRejected, customers = built.customers
        var counts: [String: Int] = [
            "files": files.count, "files_parsed": built.parsedFiles, "files_reused": built.reusedFiles,
            "rows_read": read, "rows_accepted": accepted, "rows_rejected": rejected, "customers": customers,
            "blank_lines": built.blankLines,
        ]
        for (r, n) in built.rejectsByReason { counts["rejected_\(r)"] = n }
        var dates: [String: String] = [:]
        if let first = built.firstDay { dates["first_transaction"] = CivilDate.iso(first) }
        if let last = built.lastDay { dates["last_transaction"] = CivilDate.iso(last) }
        var record = clock.record(counts: counts, dates: dates, notes: built.notes)
        reporter.info("ingest: \(MessageText.grouped(read)) rows from \(files.count) file(s): \(MessageText.grouped(accepted)) accepted, "
            + "\(MessageText.grouped(rejected)) rejected; \(MessageText.grouped(customers)) customers (\(MessageText.seconds(record.seconds)))")
        let stop = Self.judge(read: read, rejected: rejected, byReason: built.rejectsByReason.map { ($0.key, $0.value) },
                              customers: customers, spec: spec, folder: folder, reporter: reporter)
        if stop != nil { record.status = "failed" }
        return Result(inputs: built.inputs, record: record, stop: stop)
    }

    /// Whether the run stops after reading (rejects over the allowed share, no customer),
    /// and the warning that names the rejects when it goes on; the same for either engine.
    static func judge(read: Int, rejected: Int, byReason: [(String, Int)], customers: Int, spec: PipelineSpec,
                      folder: RunFolder, reporter: Reporter) -> PipelineError? {
        if rejected > 0 {
            if Double(rejected) / Double(max(read, 1)) > spec.maxRejectShare {
                return .tooManyRejects(rejected: rejected, read: read, limit: spec.maxRejectShare,
                                       rejectsFile: folder.publishedPath("last-failure/" + LedgerBuilder.rejectsFile))
            }
            let reasons = byReason.sorted { $0.1 > $1.1 }.map { "\($0.0) \(MessageText.grouped($0.1))" }.joined(separator: ", ")
            reporter.warning("ingest: \(MessageText.grouped(rejected)) rows rejected (\(reasons)); see \(folder.publishedPath(LedgerBuilder.rejectsFile))")
        }
        if customers == 0 {
            return .noCustomers(detail: "the inputs hold no accepted transaction; check input.paths and the column mapping")
        }
        return nil
    }
}

extension RunFolder: LedgerFolder {}
