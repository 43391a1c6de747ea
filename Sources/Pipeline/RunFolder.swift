import Foundation
import Ledger
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// An output folder held for one run: an exclusive lock, a staging area, and an
/// all-or-nothing publish.
///
/// Safety against `kill -9` at any moment rests on three rules:
/// 1. a run writes only inside `.staging-<pid>/`, never over published files;
/// 2. publishing first writes a journal (atomically) listing the staged files, then
///    renames each into place, then deletes the journal;
/// 3. the next run, once it holds the lock, finishes any journal it finds (rolls the
///    publish forward) and deletes stale staging folders.
/// So readers see either the previous run's complete outputs or the new run's, and no
/// manual cleanup is ever needed. The lock is `flock` on `.retain.lock`: the kernel drops
/// it when the process dies, so a killed run never leaves a stale lock behind.
public final class RunFolder {
    public let path: String
    public let staging: String
    private let lockFD: Int32
    private var staged: [String] = []
    private var removals: [String] = []

    /// Tables a stage of this run wrote, as a later stage reads them back (see `table(at:)`).
    private var written: [String: CSVTable] = [:]

    static let lockName = ".retain.lock"
    static let journalName = ".publish-journal"

    /// Creates the folder if needed and takes its lock; throws `PipelineError.locked`
    /// (exit 75) naming the holder when another run has it.
    public init(path: String, command: String) throws {
        self.path = path
        do { try FilePath.makeDirectories(path) } catch {
            throw IOError.cannotWrite(path: path, reason: "cannot create the output folder (\(IOError.systemReason()))")
        }
        let lockPath = FilePath.join(path, Self.lockName)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOError.cannotWrite(path: lockPath, reason: IOError.systemReason()) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? FilePath.readAll(lockPath)).map { String(decoding: $0, as: UTF8.self) }?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw PipelineError.locked(folder: path, holder: (holder?.isEmpty ?? true) ? "holder unknown" : holder ?? "")
        }
        lockFD = fd
        let host = ProcessInfo.processInfo.hostName
        let note = "pid \(getpid()) on \(host), started \(ISO8601DateFormatter().string(from: Date())): \(command)\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        staging = FilePath.join(path, ".staging-\(getpid())")
        try recover()
        FilePath.remove(staging)
        try FilePath.makeDirectories(staging)
    }

    deinit {
        FilePath.remove(staging)
        close(lockFD)  // releases the flock
    }

    /// Where a run writes `relative` before publishing (parent folders created).
    public func stagedPath(_ relative: String) throws -> String {
        let p = FilePath.join(staging, relative)
        let (dir, _) = FilePath.split(p)
        try FilePath.makeDirectories(dir)
        if !staged.contains(relative) { staged.append(relative) }
        return p
    }

    /// Records that `table` is what reading the file just written at `path` gives, number
    /// for number, so that a later stage of this run takes it instead of parsing the file.
    func remember(_ table: CSVTable, writtenAt path: String) { written[path] = table }

    /// The table in the CSV file at `path`: the one a stage of this run wrote there
    /// (handed over once, then forgotten, so that its memory goes with its reader), else
    /// read from the file. The file stays the artifact, and a stage rerun alone reads it:
    /// debug builds (every test) read it here too and fail if the two differ in any bit.
    func table(at path: String) throws -> CSVTable {
        guard let table = written.removeValue(forKey: path) else { return try CSVTable.read(path) }
        #if DEBUG
        let fromFile = try CSVTable.read(path)
        precondition(table.isIdentical(to: fromFile), "\(path): the table handed over differs from the file")
        #endif
        return table
    }

    /// The published location of `relative`.
    public func publishedPath(_ relative: String) -> String { FilePath.join(path, relative) }

    /// Where a stage finds an earlier stage's output: staged by this run if it ran that
    /// stage, else the published copy from an earlier run.
    public func latest(_ relative: String) -> String {
        let staged = FilePath.join(staging, relative)
        return FilePath.exists(staged) ? staged : publishedPath(relative)
    }

    /// The ledger as ingest left it (staged by this run, or published earlier), for
    /// `stage`; its absence is the error that names ingest. `numbering`: see `LedgerView.Numbering`.
    func ledgerView(for stage: Stage, numbering: LedgerView.Numbering = .byID) throws -> LedgerView {
        let manifest: LedgerManifest
        do { manifest = try LedgerManifest.load(outputDir: FilePath.exists(FilePath.join(staging, LedgerManifest.relativePath)) ? staging : path) } catch {
            throw PipelineError.upstreamMissing(stage: stage.rawValue, needs: Stage.ingest.rawValue, detail: "no ledger in \(path)")
        }
        return try manifest.view(outputDir: path, alsoIn: [staging], numbering: numbering)
    }

    /// `latest(relative)`, which stage `stage` needs from stage `needs`; its absence is the
    /// error that names the stage to run first.
    func upstream(_ relative: String, for stage: Stage, from needs: Stage) throws -> String {
        let p = latest(relative)
        guard FilePath.exists(p) else {
            throw PipelineError.upstreamMissing(stage: stage.rawValue, needs: needs.rawValue, detail: "no \(relative) in \(path)")
        }
        return p
    }

    /// Marks a published file for deletion at publish time (e.g. a ledger part no longer used).
    public func removeOnPublish(_ relative: String) { removals.append(relative) }

    /// Forgets a staged file (a stage that failed after staging it).
    public func discardStaged(_ relative: String) {
        staged.removeAll { $0 == relative }
        FilePath.remove(FilePath.join(staging, relative))
    }

    /// Forgets everything staged and planned, keeping only the named top-level entries
    /// of the staging folder (a failed run keeps its rejects to explain itself).
    public func discardAllStaged(except keep: Set<String> = []) {
        for name in FilePath.contents(of: staging) where !keep.contains(name) {
            FilePath.remove(FilePath.join(staging, name))
        }
        staged = []
        removals = []
    }

    /// Moves every staged file into place, all or nothing (see the type's notes).
    public func publish() throws {
        let journal = FilePath.join(path, Self.journalName)
        let present = staged.filter { FilePath.exists(FilePath.join(staging, $0)) }
        // Removals come first so a folder being replaced (last-failure/) is replaced whole.
        var lines = [".staging-\(getpid())"]
        lines += removals.map { "remove \($0)" }
        lines += present.map { "move \($0)" }
        try AtomicFile.write(journal, contents: lines.joined(separator: "\n") + "\n")
        try finish(journal: journal)
        staged = []
        removals = []
    }

    /// Completes a journal left by a run that died while publishing.
    private func recover() throws {
        let journal = FilePath.join(path, Self.journalName)
        if FilePath.exists(journal) { try finish(journal: journal) }
        for name in FilePath.contents(of: path) where name.hasPrefix(".staging-") {
            FilePath.remove(FilePath.join(path, name))
        }
        // Temporaries of atomic writes interrupted by a kill.
        for name in FilePath.contents(of: path) where name.hasPrefix(".") && name.contains(".tmp-") {
            FilePath.remove(FilePath.join(path, name))
        }
    }

    private func finish(journal: String) throws {
        let text = String(decoding: try FilePath.readAll(journal), as: UTF8.self)
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { unlink(journal); return }
        let stagingDir = FilePath.join(path, lines.removeFirst())
        // A removal is only safe while its replacement is still staged: on a rerun of
        // the journal, skip removals whose path was already moved into place.
        let moved = Set(lines.filter { $0.hasPrefix("move ") }.map { String($0.dropFirst(5)) }
            .filter { !FilePath.exists(FilePath.join(stagingDir, $0)) })
        for line in lines {
            if line.hasPrefix("remove ") {
                let rel = String(line.dropFirst(7))
                if moved.contains(where: { $0 == rel || $0.hasPrefix(rel + "/") }) { continue }
                FilePath.remove(FilePath.join(path, rel))
            } else if line.hasPrefix("move ") {
                let rel = String(line.dropFirst(5))
                let from = FilePath.join(stagingDir, rel)
                guard FilePath.exists(from) else { continue }  // moved before the interruption
                let to = FilePath.join(path, rel)
                let (dir, _) = FilePath.split(to)
                try FilePath.makeDirectories(dir)
                if FilePath.isDirectory(to) { FilePath.remove(to) }
                guard rename(from, to) == 0 else { throw IOError.cannotWrite(path: to, reason: IOError.systemReason()) }
            }
        }
        AtomicFile.syncDirectory(containing: FilePath.join(path, "x"))
        unlink(journal)
        AtomicFile.syncDirectory(containing: journal)
    }
}
