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
        var record: RunManifest.StageRecord
        /// Why the run stops here (rejects over the limit, no customer): decided after the
        /// counts, so that the failure's run.json has them.
        var stop: PipelineError? = nil
    }

    func run() throws -> Result {
        let clock = StageClock()
        let files = try Inputs.resolve(spec.inputPatterns)
        let fingerprint = spec.format.fingerprint
        let previous = try? LedgerManifest.load(outputDir: folder.path)
        let partsDir = LedgerManifest.partsFolder
        var entries: [LedgerManifest.Entry] = []
        var inputs: [RunManifest.Input] = []
        var notes: [String] = []
        var parsedFiles = 0, reusedFiles = 0
        // Lines repeated across inputs are looked for when the pipeline can see several
        // files (a list or a glob) and maps order ids; each part then has a key file.
        let acrossFiles = spec.format.columns[.orderID] != nil
            && (spec.inputPatterns.count > 1 || spec.inputPatterns.contains { $0.contains(where: { "*?[".contains($0) }) })

        for (k, file) in files.enumerated() {
            reporter.progress("ingest: file \(k + 1) of \(files.count): \(file)")
            let identity = FileIdentity(path: file)  // before reading: a change while reading shows later
            // With an earlier ledger, hash first: identical content is not parsed again.
            var hash: String? = nil
            var reused: LedgerManifest.Entry? = nil
            if let previous {
                let h = XXH64.hex(try FileHash.xxh64(path: file))
                hash = h
                // Reuse only a part that is whole: right version, every row readable, checksum
                // right. A damaged one is parsed again from its input, which still matches.
                for candidate in previous.entries where candidate.summary.contentHash == h && candidate.format == fingerprint
                    && (!acrossFiles || candidate.keys.map { FilePath.exists(folder.publishedPath(partsDir + "/" + $0)) } == true) {
                    let partPath = folder.publishedPath(partsDir + "/" + candidate.part)
                    do {
                        try LedgerPart(path: partPath).verify()
                        reused = candidate
                        break
                    } catch {
                        var why = "\(error)"
                        if case LedgerError.corrupt(_, let reason) = error { why = reason }
                        let msg = "\(partPath) is damaged (\(why)); \(file) still has the content it was made from, so it is parsed again"
                        reporter.warning(msg)
                        notes.append(msg)
                    }
                }
            }
            let before = previous?.entries.first { $0.input == file }
            var entry: LedgerManifest.Entry
            if var r = reused {
                r.input = file
                r.crossFileDuplicates = nil  // settled again below, against this run's inputs
                entry = r
                reusedFiles += 1
                reporter.detail("ingest: \(file) unchanged since an earlier run (content \(r.summary.contentHash)); reusing its ledger part")
            } else {
                let tmpName = "incoming-\(k).part"
                let partTmp = try folder.stagedPath(partsDir + "/" + tmpName)
                let rejTmp = try folder.stagedPath(partsDir + "/" + tmpName + ".rejects")
                let keysTmp = acrossFiles ? try folder.stagedPath(partsDir + "/" + tmpName + ".keys") : nil
                let summary = try Ingestor(format: spec.format).ingest(inputPath: file, partPath: partTmp, rejectsPath: rejTmp, keysPath: keysTmp)
                let name = "\(summary.contentHash)-\(XXH64.hex(XXH64.hash(fingerprint)).prefix(8)).part"
                try AtomicFile.rename(partTmp, to: try folder.stagedPath(partsDir + "/" + name))
                try AtomicFile.rename(rejTmp, to: try folder.stagedPath(partsDir + "/" + name + ".rejects"))
                var keys: String? = nil
                if let keysTmp, FilePath.exists(keysTmp) {
                    try AtomicFile.rename(keysTmp, to: try folder.stagedPath(partsDir + "/" + name + ".keys"))
                    keys = name + ".keys"
                }
                for suffix in ["", ".rejects", ".keys"] { folder.discardStaged(partsDir + "/" + tmpName + suffix) }
                entry = LedgerManifest.Entry(input: file, part: name, rejects: name + ".rejects", format: fingerprint,
                                             summary: summary, keys: keys)
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
            // A file given twice (the same content under two names): with order ids its
            // lines are rejected below as repeats; without, they would count twice.
            if let twin = entries.first(where: { $0.summary.contentHash == entry.summary.contentHash }) {
                let consequence = acrossFiles ? "its lines are rejected as repeats of that file"
                    : "its \(MessageText.grouped(entry.summary.rowsAccepted)) rows are counted twice"
                let msg = "\(file) has the same content as \(twin.input) (XXH64 \(entry.summary.contentHash)): "
                    + "\(consequence); remove one of them from the inputs"
                reporter.warning(msg)
                notes.append(msg)
            }
            entry.identity = identity
            entries.append(entry)
            let s = entry.summary
            inputs.append(RunManifest.Input(path: file, bytes: s.inputBytes, hash: s.contentHash, rowsRead: s.rowsRead,
                                            rowsAccepted: s.rowsAccepted, rowsRejected: s.rowsRejected,
                                            reused: reused != nil, changedSinceLastRun: changed))
        }
        if let previous {
            for old in previous.entries where !files.contains(old.input) {
                let msg = "\(old.input) is no longer among the inputs; its \(MessageText.grouped(old.summary.rowsAccepted)) rows left the ledger"
                reporter.warning(msg)
                notes.append(msg)
            }
            // Parts nobody references any more are deleted when this run publishes.
            let keep = Set(entries.map(\.part))
            for old in previous.entries where !keep.contains(old.part) {
                folder.removeOnPublish(partsDir + "/" + old.part)
                folder.removeOnPublish(partsDir + "/" + old.rejects)
                if let k = old.keys { folder.removeOnPublish(partsDir + "/" + k) }
            }
        }

        // Lines an input repeats from an earlier one (inputs in their sorted order): left out
        // of the ledger, and rejected as duplicates with their own file and line.
        var crossRejects = [[(line: Int, raw: [UInt8], original: String)]](repeating: [], count: entries.count)
        if acrossFiles && entries.count > 1 {
            func located(_ name: String) -> String {
                let staged = FilePath.join(folder.staging, partsDir + "/" + name)
                return FilePath.exists(staged) ? staged : folder.publishedPath(partsDir + "/" + name)
            }
            let keyFiles = entries.compactMap { $0.keys.map(located) }
            if keyFiles.count == entries.count {
                let copies = try CrossFileDuplicates.find(keyFiles: keyFiles)
                for (i, found) in copies.enumerated() where !found.isEmpty {
                    entries[i].crossFileDuplicates = found.map(\.row)
                    let raw = try Ingestor.lines(found.map { Int($0.line) }, of: entries[i].input)
                    crossRejects[i] = found.map { (Int($0.line), raw[Int($0.line)] ?? [], entries[$0.original].input) }
                    inputs[i].rowsAccepted -= found.count
                    inputs[i].rowsRejected += found.count
                    let msg = "\(entries[i].input): \(MessageText.grouped(found.count)) lines repeat lines of an earlier input; rejected as duplicates"
                    reporter.warning(msg)
                    notes.append(msg)
                }
            }
        }

        // rejects.csv: file,line,reason,raw,detail, in input order then line order.
        let manifest = LedgerManifest(entries: entries)
        try AtomicFile.write(try folder.stagedPath("rejects.csv")) { out in
            try CSVText.appendHeader(["file", "line", "reason", "raw", "detail"], to: out)
            for (i, e) in entries.enumerated() {
                try appendCrossRejects(crossRejects[i], input: e.input, to: out)
                guard e.summary.rowsRejected > 0 else { continue }
                let staged = FilePath.join(folder.staging, partsDir + "/" + e.rejects)
                let source = FilePath.exists(staged) ? staged : folder.publishedPath(partsDir + "/" + e.rejects)
                // Streamed: each record of the side file gets the input's path in front;
                // memory stays one block whatever the number of rejects. A record ends at a
                // line break outside quotes: a rejected row's raw text may hold line breaks.
                let prefix = CSVText.field(e.input) + [UInt8(ascii: ",")]
                var atLineStart = true
                var quoted = false
                try FilePath.forEachBlock(source) { block in
                    var start = 0
                    for (i, b) in block.enumerated() where b == 0x0A || b == 0x22 {
                        if b == 0x22 { quoted.toggle(); continue }
                        if quoted { continue }
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
        let across = entries.reduce(0) { $0 + ($1.crossFileDuplicates?.count ?? 0) }
        let accepted = entries.reduce(0) { $0 + $1.summary.rowsAccepted } - across
        let rejected = entries.reduce(0) { $0 + $1.summary.rowsRejected } + across
        precondition(read == accepted + rejected, "ingest lost rows: read \(read) != accepted \(accepted) + rejected \(rejected)")
        var byReason: [String: Int] = [:]
        for e in entries { for (r, n) in e.summary.rejectsByReason { byReason[r, default: 0] += n } }
        if across > 0 { byReason[RejectReason.duplicateLine.rawValue, default: 0] += across }
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
        var record = clock.record(counts: counts, dates: dates, notes: notes)
        reporter.info("ingest: \(MessageText.grouped(read)) rows from \(files.count) file(s): \(MessageText.grouped(accepted)) accepted, "
            + "\(MessageText.grouped(rejected)) rejected; \(MessageText.grouped(customers)) customers (\(MessageText.seconds(record.seconds)))")
        var stop: PipelineError? = nil
        if rejected > 0 {
            if Double(rejected) / Double(max(read, 1)) > spec.maxRejectShare {
                stop = .tooManyRejects(rejected: rejected, read: read, limit: spec.maxRejectShare,
                                       rejectsFile: folder.publishedPath("last-failure/rejects.csv"))
            } else {
                let reasons = byReason.sorted { $0.value > $1.value }.map { "\($0.key) \(MessageText.grouped($0.value))" }.joined(separator: ", ")
                reporter.warning("ingest: \(MessageText.grouped(rejected)) rows rejected (\(reasons)); see \(folder.publishedPath("rejects.csv"))")
            }
        }
        if stop == nil && customers == 0 {
            stop = .noCustomers(detail: "the inputs hold no accepted transaction; check input.paths and the column mapping")
        }
        if stop != nil { record.status = "failed" }
        return Result(inputs: inputs, record: record, stop: stop)
    }

    /// Rows of `rejects.csv` for lines an input repeats from an earlier input.
    private func appendCrossRejects(_ rows: [(line: Int, raw: [UInt8], original: String)], input: String, to out: OutputBuffer) throws {
        for r in rows {
            try CSVText.appendField(input, to: out)
            try out.append(byte: UInt8(ascii: ","))
            try r.raw.withUnsafeBytes { raw in
                try RejectSink.appendRow(line: r.line, reason: .duplicateLine, raw: raw,
                                         detail: "exact duplicate of a line of the same order in \(r.original)", to: out)
            }
        }
    }

    /// Distinct customers over all parts (a customer may appear in several daily files):
    /// the ledger view later stages read merges the parts' dictionaries.
    private func distinctCustomers(_ entries: [LedgerManifest.Entry]) throws -> Int {
        if entries.count == 1 { return entries[0].summary.customers }
        let parts = try LedgerManifest(entries: entries).openParts(outputDir: folder.path, alsoIn: [folder.staging])
        return try LedgerView(parts: parts, numbering: .dense).customerCount
    }
}

