import Ledger
import RetainIO
import Segmentation
import SparkEngine

/// `retain validate`: the pipeline file is already checked by `PipelineSpec.load`; this
/// resolves the inputs and runs their header and first rows through the ingest parser,
/// and reads the strategic accounts file if one is named (so a nightly run cannot fail
/// on it after an hour of work).
public enum Validation {
    public static func check(spec: PipelineSpec, rows: Int, reporter: Reporter) throws {
        // With Spark, what Spark reads (a URI, a table) is Spark's to find: only the local
        // files are previewed here, and the submit command is looked for.
        var patterns = spec.inputPatterns
        if case .spark(let settings) = spec.engine {
            let command = try SparkJob(settings: settings, folder: spec.folder).executable()
            reporter.info("validate: engine spark: \(command), master \(settings.master)")
            let remote = patterns.filter { $0.contains("://") }
            for r in remote { reporter.info("validate: \(r) is read by Spark; not previewed here") }
            if let t = spec.inputTable { reporter.info("validate: input.table \(t) is read by Spark; not previewed here") }
            patterns = patterns.filter { !$0.contains("://") }
        }
        let files = try Inputs.resolve(patterns)
        reporter.info("validate: \(spec.file) is well formed; \(files.count) input file(s)")
        var checked = 0, rejectedTotal = 0
        for file in files {
            let p = try Ingestor(format: spec.format).preview(inputPath: file, maxRows: rows)
            let mapping = Role.allCases.compactMap { role in
                p.positions[role].map { pos in "\(role.rawValue)=" + (p.header.indices.contains(pos) ? "'\(p.header[pos])'" : "column \(pos + 1)") }
            }.joined(separator: ", ")
            reporter.info("validate: \(file): \(mapping)")
            let rejected = p.rowsChecked - p.rowsAccepted
            reporter.info("validate: \(file): first \(p.rowsChecked) rows: \(p.rowsAccepted) accepted, \(rejected) rejected")
            for r in p.rejects.prefix(5) { reporter.warning("\(file):\(r.line): \(r.reason.rawValue): \(r.detail)") }
            checked += p.rowsChecked
            rejectedTotal += rejected
            if p.rowsChecked > 0 && p.rowsAccepted == 0, let r = p.rejects.first {
                throw LedgerError.inputMismatch(path: file, line: r.line, reason: "no row of the first \(p.rowsChecked) is usable: \(r.reason.rawValue): \(r.detail)")
            }
        }
        if let path = spec.segment.strategicAccounts {
            let accounts = try StrategicAccounts.load(path)
            reporter.info("validate: \(path): \(accounts.roles.count) strategic account(s)")
        }
        if checked > 0 && Double(rejectedTotal) / Double(checked) > spec.maxRejectShare {
            throw PipelineError.tooManyRejects(rejected: rejectedTotal, read: checked, limit: spec.maxRejectShare,
                                               rejectsFile: "the warnings above (validate writes no file)")
        }
    }
}
