import RetainIO

/// The output folder a ledger is built in: this run's staging folder, and the published
/// files of earlier runs (`Pipeline.RunFolder`).
public protocol LedgerFolder: AnyObject {
    /// The published folder.
    var path: String { get }
    /// This run's staging folder.
    var staging: String { get }
    /// Where this run writes `relative` (its folders made).
    func stagedPath(_ relative: String) throws -> String
    /// Where an earlier run published `relative`.
    func publishedPath(_ relative: String) -> String
    /// A staged file this run no longer wants.
    func discardStaged(_ relative: String)
    /// A published file to delete when this run publishes.
    func removeOnPublish(_ relative: String)
}

/// Builds an output folder's ledger from the input files: each input becomes a ledger part
/// (`Ingestor`), or reuses the part an earlier run made from the same content (by XXH64,
/// and only a part that verifies whole); lines an input repeats from an earlier input are
/// found across files (`CrossFileDuplicates`) and left out; every rejected row goes to
/// `rejects.csv`; the parts are listed in `ledger/index.json` (`LedgerManifest`).
public struct LedgerBuilder {
    /// Every rejected row: file, line, reason, raw, detail.
    public static let rejectsFile = "rejects.csv"

    public let format: InputFormat
    /// Whether lines repeated across inputs are looked for (several inputs that map order
    /// ids): each part then gets a key file.
    public let acrossFiles: Bool

    public init(format: InputFormat, acrossFiles: Bool) {
        self.format = format
        self.acrossFiles = acrossFiles
    }

    /// What the builder tells as it goes (the caller prints it).
    public enum Event {
        case progress(String)
        case detail(String)
        /// Also kept in `Outcome.notes`.
        case warning(String)
    }

    /// One input as read (or reused), as the run's record (`run.json`'s `inputs`) keeps it.
    public struct Input: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: UInt64
        /// XXH64 of the file's bytes (`xxhsum -H64 FILE` prints the same).
        public var hash: String
        public var rowsRead: Int
        public var rowsAccepted: Int
        public var rowsRejected: Int
        /// True when this run reused the part parsed by an earlier run (same content).
        public var reused: Bool
        /// True when this path held different content at the previous run.
        public var changedSinceLastRun: Bool

        public init(path: String, bytes: UInt64, hash: String, rowsRead: Int, rowsAccepted: Int, rowsRejected: Int,
                    reused: Bool, changedSinceLastRun: Bool) {
            self.path = path; self.bytes = bytes; self.hash = hash; self.rowsRead = rowsRead; self.rowsAccepted = rowsAccepted
            self.rowsRejected = rowsRejected; self.reused = reused; self.changedSinceLastRun = changedSinceLastRun
        }
    }

    /// The ledger built, reconciled: `rowsRead == rowsAccepted + rowsRejected`.
    public struct Outcome {
        public var entries: [LedgerManifest.Entry]
        public var inputs: [Input]
        /// The warnings, and notes that are not warnings, in the order they arose.
        public var notes: [String]
        public var parsedFiles: Int
        public var reusedFiles: Int
        public var rowsRead: Int
        public var rowsAccepted: Int
        public var rowsRejected: Int
        public var blankLines: Int
        public var rejectsByReason: [String: Int]
        public var customers: Int
        public var firstDay: Int32?
        public var lastDay: Int32?
    }

    /// Builds the ledger of `files` into `folder`'s staging: parts, their side files,
    /// `rejects.csv` and `ledger/index.json`.
    public func build(files: [String], in folder: any LedgerFolder, report: (Event) -> Void) throws -> Outcome {
        let previous = try? LedgerManifest.load(outputDir: folder.path)
        var notes: [String] = []
        func warn(_ message: String) { report(.warning(message)); notes.append(message) }
        var entries: [LedgerManifest.Entry] = []
        var inputs: [Input] = []
        var parsedFiles = 0, reusedFiles = 0

        for (k, file) in files.enumerated() {
            report(.progress("ingest: file \(k + 1) of \(files.count): \(file)"))
            let identity = FileIdentity(path: file)  // before reading: a change while reading shows later
            // With an earlier ledger, hash first: identical content is not parsed again. A
            // file whose size, modification time and inode are those the earlier run saw is
            // taken as unchanged without reading it (as a stage run alone takes it).
            let same = previous?.entries.first { e in e.input == file && e.format == format.fingerprint && identity != nil && e.identity == identity }
            let hash = previous == nil ? nil : try same.map(\.summary.contentHash) ?? XXH64.hex(FileHash.xxh64(path: file))
            var entry: LedgerManifest.Entry
            let reused = try previous.flatMap { p in try hash.flatMap { try reusablePart(of: file, hash: $0, in: p, folder: folder, warn: warn) } }
            if var r = reused {
                r.input = file
                r.crossFileDuplicates = nil  // settled again below, against this run's inputs
                entry = r
                reusedFiles += 1
                report(.detail("ingest: \(file) unchanged since an earlier run (content \(r.summary.contentHash)); reusing its ledger part"))
            } else {
                entry = try parse(file, number: k, in: folder)
                parsedFiles += 1
                if let hash, hash != entry.summary.contentHash { notes.append("\(file) changed while it was being read") }
            }
            let before = previous?.entries.first { $0.input == file }
            let changed = before.map { $0.summary.contentHash != entry.summary.contentHash } ?? false
            if changed, let before {
                warn("\(file) changed since the last run (content \(before.summary.contentHash) -> \(entry.summary.contentHash)); its rows were read again")
            }
            // A file given twice (the same content under two names): with order ids its
            // lines are rejected below as repeats; without, they would count twice.
            if let twin = entries.first(where: { $0.summary.contentHash == entry.summary.contentHash }) {
                let consequence = acrossFiles ? "its lines are rejected as repeats of that file"
                    : "its \(MessageText.grouped(entry.summary.rowsAccepted)) rows are counted twice"
                warn("\(file) has the same content as \(twin.input) (XXH64 \(entry.summary.contentHash)): \(consequence); remove one of them from the inputs")
            }
            entry.identity = identity
            entries.append(entry)
            let s = entry.summary
            inputs.append(Input(path: file, bytes: s.inputBytes, hash: s.contentHash, rowsRead: s.rowsRead,
                                rowsAccepted: s.rowsAccepted, rowsRejected: s.rowsRejected,
                                reused: reused != nil, changedSinceLastRun: changed))
        }
        if let previous { retire(previous, keeping: entries, inputs: files, in: folder, warn: warn) }
        let crossRejects = try settleAcrossFiles(&entries, inputs: &inputs, in: folder, warn: warn)
        try writeRejects(entries, crossRejects: crossRejects, in: folder)
        try AtomicFile.write(try folder.stagedPath(LedgerManifest.relativePath), contents: try LedgerManifest(entries: entries).encoded())

        // Reconcile.
        let read = entries.reduce(0) { $0 + $1.summary.rowsRead }
        let across = entries.reduce(0) { $0 + ($1.crossFileDuplicates?.count ?? 0) }
        let accepted = entries.reduce(0) { $0 + $1.summary.rowsAccepted } - across
        let rejected = entries.reduce(0) { $0 + $1.summary.rowsRejected } + across
        precondition(read == accepted + rejected, "ingest lost rows: read \(read) != accepted \(accepted) + rejected \(rejected)")
        var byReason: [String: Int] = [:]
        for e in entries { for (r, n) in e.summary.rejectsByReason { byReason[r, default: 0] += n } }
        if across > 0 { byReason[RejectReason.duplicateLine.rawValue, default: 0] += across }
        return Outcome(entries: entries, inputs: inputs, notes: notes, parsedFiles: parsedFiles, reusedFiles: reusedFiles,
                       rowsRead: read, rowsAccepted: accepted, rowsRejected: rejected,
                       blankLines: entries.reduce(0) { $0 + $1.summary.blankLines }, rejectsByReason: byReason,
                       customers: try distinctCustomers(entries, in: folder),
                       firstDay: entries.compactMap(\.summary.firstDay).min(), lastDay: entries.compactMap(\.summary.lastDay).max())
    }

    /// An earlier run's part of the same content, if one is whole: right format, every
    /// row readable, checksum right (and its key file there when keys are needed). A
    /// damaged one is said and skipped: the input, which still matches, is parsed again.
    private func reusablePart(of file: String, hash: String, in previous: LedgerManifest, folder: any LedgerFolder,
                              warn: (String) -> Void) throws -> LedgerManifest.Entry? {
        let partsDir = LedgerManifest.partsFolder
        for candidate in previous.entries where candidate.summary.contentHash == hash && candidate.format == format.fingerprint
            && (!acrossFiles || candidate.keys.map { FilePath.exists(folder.publishedPath(partsDir + "/" + $0)) } == true) {
            let partPath = folder.publishedPath(partsDir + "/" + candidate.part)
            do {
                try LedgerPart(path: partPath).verify()
                return candidate
            } catch {
                var why = "\(error)"
                if case LedgerError.corrupt(_, let reason) = error { why = reason }
                warn("\(partPath) is damaged (\(why)); \(file) still has the content it was made from, so it is parsed again")
            }
        }
        return nil
    }

    /// Parses input `number` into a staged part named after its content and format, with
    /// its rejects (and key) side files.
    private func parse(_ file: String, number k: Int, in folder: any LedgerFolder) throws -> LedgerManifest.Entry {
        let partsDir = LedgerManifest.partsFolder, fingerprint = format.fingerprint
        let tmpName = "incoming-\(k).part"
        let partTmp = try folder.stagedPath(partsDir + "/" + tmpName)
        let rejTmp = try folder.stagedPath(partsDir + "/" + tmpName + ".rejects")
        let keysTmp = acrossFiles ? try folder.stagedPath(partsDir + "/" + tmpName + ".keys") : nil
        let summary = try Ingestor(format: format).ingest(inputPath: file, partPath: partTmp, rejectsPath: rejTmp, keysPath: keysTmp)
        let name = "\(summary.contentHash)-\(XXH64.hex(XXH64.hash(fingerprint)).prefix(8)).part"
        try AtomicFile.rename(partTmp, to: try folder.stagedPath(partsDir + "/" + name))
        try AtomicFile.rename(rejTmp, to: try folder.stagedPath(partsDir + "/" + name + ".rejects"))
        var keys: String? = nil
        if let keysTmp, FilePath.exists(keysTmp) {
            try AtomicFile.rename(keysTmp, to: try folder.stagedPath(partsDir + "/" + name + ".keys"))
            keys = name + ".keys"
        }
        for suffix in ["", ".rejects", ".keys"] { folder.discardStaged(partsDir + "/" + tmpName + suffix) }
        return LedgerManifest.Entry(input: file, part: name, rejects: name + ".rejects", format: fingerprint, summary: summary, keys: keys)
    }

    /// Says which earlier inputs are gone, and deletes on publish the parts no entry uses.
    private func retire(_ previous: LedgerManifest, keeping entries: [LedgerManifest.Entry], inputs files: [String],
                        in folder: any LedgerFolder, warn: (String) -> Void) {
        let partsDir = LedgerManifest.partsFolder
        for old in previous.entries where !files.contains(old.input) {
            warn("\(old.input) is no longer among the inputs; its \(MessageText.grouped(old.summary.rowsAccepted)) rows left the ledger")
        }
        let keep = Set(entries.map(\.part))
        for old in previous.entries where !keep.contains(old.part) {
            folder.removeOnPublish(partsDir + "/" + old.part)
            folder.removeOnPublish(partsDir + "/" + old.rejects)
            if let k = old.keys { folder.removeOnPublish(partsDir + "/" + k) }
        }
    }

    /// A rejected line that repeats a line of an earlier input.
    typealias CrossReject = (line: Int, raw: [UInt8], original: String)

    /// Lines an input repeats from an earlier one (inputs in their sorted order): recorded
    /// in the entries (left out of the ledger) and returned per input, to be rejected as
    /// duplicates with their own file and line.
    private func settleAcrossFiles(_ entries: inout [LedgerManifest.Entry], inputs: inout [Input], in folder: any LedgerFolder,
                                   warn: (String) -> Void) throws -> [[CrossReject]] {
        var crossRejects = [[CrossReject]](repeating: [], count: entries.count)
        guard acrossFiles && entries.count > 1 else { return crossRejects }
        let keyFiles = entries.compactMap { $0.keys.map { Self.located($0, in: folder) } }
        guard keyFiles.count == entries.count else { return crossRejects }
        let copies = try CrossFileDuplicates.find(keyFiles: keyFiles)
        let originals = entries.map(\.input)
        for (i, found) in copies.enumerated() where !found.isEmpty {
            entries[i].crossFileDuplicates = found.map(\.row)
            let raw = try Ingestor.lines(found.map { Int($0.line) }, of: entries[i].input)
            crossRejects[i] = found.map { (Int($0.line), raw[Int($0.line)] ?? [], originals[$0.original]) }
            inputs[i].rowsAccepted -= found.count
            inputs[i].rowsRejected += found.count
            warn("\(entries[i].input): \(MessageText.grouped(found.count)) lines repeat lines of an earlier input; rejected as duplicates")
        }
        return crossRejects
    }

    /// A part's side file: staged by this run, else published by an earlier one.
    static func located(_ name: String, in folder: any LedgerFolder) -> String {
        let relative = LedgerManifest.partsFolder + "/" + name
        let staged = FilePath.join(folder.staging, relative)
        return FilePath.exists(staged) ? staged : folder.publishedPath(relative)
    }

    /// `rejects.csv`: file,line,reason,raw,detail, in input order then line order.
    private func writeRejects(_ entries: [LedgerManifest.Entry], crossRejects: [[CrossReject]], in folder: any LedgerFolder) throws {
        try AtomicFile.write(try folder.stagedPath(Self.rejectsFile)) { out in
            try CSVText.appendHeader(["file", "line", "reason", "raw", "detail"], to: out)
            for (i, e) in entries.enumerated() {
                try appendCrossRejects(crossRejects[i], input: e.input, to: out)
                guard e.summary.rowsRejected > 0 else { continue }
                try appendSideRejects(Self.located(e.rejects, in: folder), input: e.input, to: out)
            }
        }
    }

    /// Streams a part's rejects side file into `rejects.csv`, each record with the input's
    /// path in front; memory stays one block whatever the number of rejects. A record ends
    /// at a line break outside quotes: a rejected row's raw text may hold line breaks.
    private func appendSideRejects(_ source: String, input: String, to out: OutputBuffer) throws {
        let prefix = CSVText.field(input) + [UInt8(ascii: ",")]
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

    /// Rows of `rejects.csv` for lines an input repeats from an earlier input.
    private func appendCrossRejects(_ rows: [CrossReject], input: String, to out: OutputBuffer) throws {
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
    private func distinctCustomers(_ entries: [LedgerManifest.Entry], in folder: any LedgerFolder) throws -> Int {
        if entries.count == 1 { return entries[0].summary.customers }
        let parts = try LedgerManifest(entries: entries).openParts(outputDir: folder.path, alsoIn: [folder.staging])
        return try LedgerView(parts: parts, numbering: .dense).customerCount
    }
}
