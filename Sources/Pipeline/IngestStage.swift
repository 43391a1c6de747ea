import Foundation
import Ledger
import RetainIO

/// The ingest stage: every input file becomes a ledger part (or reuses the part an
/// earlier run made from the same content), rejected rows are gathered into
/// `rejects.csv`, and the run stops with exit 65 when they exceed the allowed share or
/// no customer is left.
struct IngestStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter

    struct Result {
        var inputs: [RunManifest.Input]
        var record: RunManifest.Stage
    }

    func run() throws -> Result {
        let t0 = ResourceUse.now(), c0 = ResourceUse.cpuSeconds()
        let files = try Inputs.resolve(spec.inputPatterns)
        let fingerprint = spec.format.fingerprint
        let previous = try? LedgerManifest.load(outputDir: folder.path)
        let partsDir = LedgerManifest.partsFolder
        var entries: [LedgerManifest.Entry] = []
        var inputs: [RunManifest.Input] = []
        var notes: [String] = []
        var parsedFiles = 0, reusedFiles = 0

        for (k, file) in files.enumerated() {
            reporter.progress("ingest: file \(k + 1) of \(files.count): \(file)")
            // With an earlier ledger, hash first: identical content is not parsed again.
            var hash: String? = nil
            var reused: LedgerManifest.Entry? = nil
            if let previous {
                let h = XXH64.hex(try FileHash.xxh64(path: file))
                hash = h
                // Reuse only a part that still opens (right version, intact header and footer).
                reused = previous.entries.first { $0.summary.contentHash == h && $0.format == fingerprint
                    && (try? LedgerPart(path: folder.publishedPath(partsDir + "/" + $0.part))) != nil }
            }
            let before = previous?.entries.first { $0.input == file }
            var entry: LedgerManifest.Entry
            if var r = reused {
                r.input = file
                entry = r
                reusedFiles += 1
                reporter.detail("ingest: \(file) unchanged since an earlier run (content \(r.summary.contentHash)); reusing its ledger part")
            } else {
                let tmpName = "incoming-\(k).part"
                let partTmp = try folder.stagedPath(partsDir + "/" + tmpName)
                let rejTmp = try folder.stagedPath(partsDir + "/" + tmpName + ".rejects")
                let summary = try Ingestor(format: spec.format).ingest(inputPath: file, partPath: partTmp, rejectsPath: rejTmp)
                let name = "\(summary.contentHash)-\(XXH64.hex(XXH64.hash(fingerprint)).prefix(8)).part"
                try AtomicFile.rename(partTmp, to: try folder.stagedPath(partsDir + "/" + name))
                try AtomicFile.rename(rejTmp, to: try folder.stagedPath(partsDir + "/" + name + ".rejects"))
                folder.discardStaged(partsDir + "/" + tmpName)
                folder.discardStaged(partsDir + "/" + tmpName + ".rejects")
                entry = LedgerManifest.Entry(input: file, part: name, rejects: name + ".rejects", format: fingerprint, summary: summary)
                parsedFiles += 1
                if let hash, hash != summary.contentHash {
                    notes.append("\(file) changed while it was being read")
                }
            }
            let changed = before.map { $0.summary.contentHash != entry.summary.contentHash } ?? false
            if changed, let before {
                let msg = "\(file) changed since the last run (content \(before.summary.contentHash) -> \(entry.summary.contentHash)); its rows were read again"
                reporter.warning(msg)
                notes.append(msg)
            }
            // The duplicate-line check works within a file; a file given twice (the same
            // content under two names) would double every line, so say so loudly.
            if let twin = entries.first(where: { $0.summary.contentHash == entry.summary.contentHash }) {
                let msg = "\(file) has the same content as \(twin.input) (XXH64 \(entry.summary.contentHash)): "
                    + "its \(grouped(entry.summary.rowsAccepted)) rows are counted twice; remove one of them from the inputs"
                reporter.warning(msg)
                notes.append(msg)
            }
            entries.append(entry)
            let s = entry.summary
            inputs.append(RunManifest.Input(path: file, bytes: s.inputBytes, hash: s.contentHash, rowsRead: s.rowsRead,
                                            rowsAccepted: s.rowsAccepted, rowsRejected: s.rowsRejected,
                                            reused: reused != nil, changedSinceLastRun: changed))
        }
        if let previous {
            for old in previous.entries where !files.contains(old.input) {
                let msg = "\(old.input) is no longer among the inputs; its \(grouped(old.summary.rowsAccepted)) rows left the ledger"
                reporter.warning(msg)
                notes.append(msg)
            }
            // Parts nobody references any more are deleted when this run publishes.
            let keep = Set(entries.map(\.part))
            for old in previous.entries where !keep.contains(old.part) {
                folder.removeOnPublish(partsDir + "/" + old.part)
                folder.removeOnPublish(partsDir + "/" + old.rejects)
            }
        }

        // rejects.csv: file,line,reason,raw,detail, in input order then line order.
        let manifest = LedgerManifest(entries: entries)
        try AtomicFile.write(try folder.stagedPath("rejects.csv")) { out in
            try CSVText.appendHeader(["file", "line", "reason", "raw", "detail"], to: out)
            for e in entries where e.summary.rowsRejected > 0 {
                let staged = FilePath.join(folder.staging, partsDir + "/" + e.rejects)
                let source = FilePath.exists(staged) ? staged : folder.publishedPath(partsDir + "/" + e.rejects)
                // Streamed: each record of the side file (one line each) gets the input's
                // path in front; memory stays one block whatever the number of rejects.
                let prefix = CSVText.field(e.input) + [UInt8(ascii: ",")]
                var atLineStart = true
                try FilePath.forEachBlock(source) { block in
                    var start = 0
                    for (i, b) in block.enumerated() where b == 0x0A {
                        if atLineStart { try prefix.withUnsafeBytes { try out.append($0) } }
                        try out.append(UnsafeRawBufferPointer(rebasing: block[start...i]))
                        start = i + 1
                        atLineStart = true
                    }
                    if start < block.count {
                        if atLineStart { try prefix.withUnsafeBytes { try out.append($0) } }
                        try out.append(UnsafeRawBufferPointer(rebasing: block[start...]))
                        atLineStart = false
                    }
                }
            }
        }
        try AtomicFile.write(try folder.stagedPath(LedgerManifest.relativePath), contents: try manifest.encoded())

        // Reconcile and judge.
        let read = entries.reduce(0) { $0 + $1.summary.rowsRead }
        let accepted = entries.reduce(0) { $0 + $1.summary.rowsAccepted }
        let rejected = entries.reduce(0) { $0 + $1.summary.rowsRejected }
        precondition(read == accepted + rejected, "ingest lost rows: read \(read) != accepted \(accepted) + rejected \(rejected)")
        var byReason: [String: Int] = [:]
        for e in entries { for (r, n) in e.summary.rejectsByReason { byReason[r, default: 0] += n } }
        let customers = try distinctCustomers(entries)
        let first = entries.compactMap(\.summary.firstDay).min()
        let last = entries.compactMap(\.summary.lastDay).max()

        var counts: [String: Int] = [
            "files": files.count, "files_parsed": parsedFiles, "files_reused": reusedFiles,
            "rows_read": read, "rows_accepted": accepted, "rows_rejected": rejected, "customers": customers,
            "blank_lines": entries.reduce(0) { $0 + $1.summary.blankLines },
        ]
        for (r, n) in byReason { counts["rejected_\(r)"] = n }
        var dates: [String: String] = [:]
        if let first { dates["first_transaction"] = CivilDate.iso(first) }
        if let last { dates["last_transaction"] = CivilDate.iso(last) }
        let record = RunManifest.Stage(status: "succeeded", seconds: ResourceUse.now() - t0, cpuSeconds: ResourceUse.cpuSeconds() - c0,
                                       peakMemoryMegabytes: ResourceUse.peakMemoryMegabytes(), counts: counts, dates: dates, notes: notes)
        reporter.info("ingest: \(grouped(read)) rows from \(files.count) file(s): \(grouped(accepted)) accepted, "
            + "\(grouped(rejected)) rejected; \(grouped(customers)) customers (\(seconds(record.seconds)))")
        if rejected > 0 {
            if Double(rejected) / Double(max(read, 1)) > spec.maxRejectShare {
                throw PipelineError.tooManyRejects(rejected: rejected, read: read, limit: spec.maxRejectShare,
                                                   rejectsFile: folder.publishedPath("last-failure/rejects.csv"))
            }
            let reasons = byReason.sorted { $0.value > $1.value }.map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ")
            reporter.warning("ingest: \(grouped(rejected)) rows rejected (\(reasons)); see \(folder.publishedPath("rejects.csv"))")
        }
        if customers == 0 {
            throw PipelineError.noCustomers(detail: "the inputs hold no accepted transaction; check input.paths and the column mapping")
        }
        return Result(inputs: inputs, record: record)
    }

    /// Distinct customers over all parts (a customer may appear in several daily files):
    /// the ledger view later stages read merges the parts' dictionaries.
    private func distinctCustomers(_ entries: [LedgerManifest.Entry]) throws -> Int {
        if entries.count == 1 { return entries[0].summary.customers }
        let parts = try LedgerManifest(entries: entries).openParts(outputDir: folder.path, alsoIn: [folder.staging])
        return try LedgerView(parts: parts).customerIDs.count
    }
}

