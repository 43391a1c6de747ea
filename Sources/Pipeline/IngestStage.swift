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
        var stop: PipelineError? = nil
        if rejected > 0 {
            if Double(rejected) / Double(max(read, 1)) > spec.maxRejectShare {
                stop = .tooManyRejects(rejected: rejected, read: read, limit: spec.maxRejectShare,
                                       rejectsFile: folder.publishedPath("last-failure/" + LedgerBuilder.rejectsFile))
            } else {
                let reasons = built.rejectsByReason.sorted { $0.value > $1.value }.map { "\($0.key) \(MessageText.grouped($0.value))" }.joined(separator: ", ")
                reporter.warning("ingest: \(MessageText.grouped(rejected)) rows rejected (\(reasons)); see \(folder.publishedPath(LedgerBuilder.rejectsFile))")
            }
        }
        if stop == nil && customers == 0 {
            stop = .noCustomers(detail: "the inputs hold no accepted transaction; check input.paths and the column mapping")
        }
        if stop != nil { record.status = "failed" }
        return Result(inputs: built.inputs, record: record, stop: stop)
    }
}

extension RunFolder: LedgerFolder {}
