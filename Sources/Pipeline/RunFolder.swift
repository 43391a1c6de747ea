import Foundation
import Ledger
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// An output folder held for one run: an exclusive lock, a staging area, and a publish
/// that readers see happen at one instant.
///
/// Layout: every published file lives in one generation folder, `.runs/<id>/`; the link
/// `current` names the generation in force, and each top-level name (`customers.csv`,
/// `segments`, …) is a fixed link `current/<name>`, so `DIR/customers.csv` stays the
/// path. Publishing builds the next generation beside the current one (this run's files,
/// plus hard links to every earlier file it does not replace), then swaps `current` by
/// `rename(2)`: at every instant each path resolves into a single generation, whatever is
/// killed when. Why a link and not `renameat2(RENAME_EXCHANGE)`: the exchange needs the
/// published files in a folder of their own anyway, and a link swap works on every file
/// system. A reader that must see one run across several files resolves `current` once
/// (`readlink -f DIR/current`); the previous generation is removed after the swap
/// (open files stay readable).
///
/// The next run, once it holds the lock, removes what an interrupted run left (staging
/// folders, generations `current` does not name) and remakes missing top-level links.
/// The lock is `flock` on `.retain.lock`, opened without following links: the kernel drops
/// it when the process dies, so a killed run never leaves a stale lock behind. Nothing
/// is read through, written through or removed through a link the run did not make.
public final class RunFolder: @unchecked Sendable {
    public let path: String
    public let staging: String
    private let lockFD: Int32
    private var removals: [String] = []
    /// Serialises a publish with a stop by signal (`stop(record:)`): whichever comes first
    /// wins, and after either nothing else is published.
    private let publishing = Mutex()
    private var closed = false

    /// Tables a stage of this run wrote, as a later stage reads them back (see `table(at:)`).
    private var written: [String: CSVTable] = [:]
    /// Whether `remember` keeps tables (`RunSpeedUps.handOverTables`); off, every stage
    /// reads the files.
    var handsOverTables = true

    /// The top-level names an output folder without generations holds: what its first
    /// publish with generations takes over. Nothing else there is retain's to move (the
    /// folder may hold the user's own files, or be a folder named by mistake).
    static let legacyNames: Set<String> = [
        "run.json", "rejects.csv", "features.csv", "snapshots", "model.json", "coefficients.csv", "training_matrix.csv",
        "scores.csv", "customers.csv", "segments", "retention_targets.csv", "retention_history.csv", "report.md",
        "ledger", "last-failure",
    ]

    static let lockName = ".retain.lock"
    public static let currentName = "current"
    static let generationsName = ".runs"

    /// Creates the folder if needed and takes its lock; throws `PipelineError.locked`
    /// (exit 75) naming the holder when another run has it.
    public init(path: String, command: String) throws {
        self.path = path
        do { try FilePath.makeDirectories(path) } catch {
            throw IOError.cannotWrite(path: path, reason: "cannot create the output folder (\(IOError.systemReason()))")
        }
        lockFD = try RunLock.take(FilePath.join(path, Self.lockName), folder: path, command: command)
        staging = FilePath.join(path, ".staging-\(getpid())")
        // From here on a throw runs `deinit`, which drops the lock.
        try recover()
        FilePath.remove(staging)
        try FilePath.makeDirectories(staging)
    }

    deinit {
        FilePath.remove(staging)
        RunLock.release(lockFD)
    }

    /// Where a run writes `relative` before publishing (parent folders created).
    public func stagedPath(_ relative: String) throws -> String {
        let p = FilePath.join(staging, relative)
        let (dir, _) = FilePath.split(p)
        try FilePath.makeDirectories(dir)
        return p
    }

    /// Records that `table` is what reading the file just written at `path` gives, number
    /// for number, so that a later stage of this run takes it instead of parsing the file.
    func remember(_ table: CSVTable, writtenAt path: String) {
        if handsOverTables { written[path] = table }
    }

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

    /// The published location of `relative` (through the top-level link into `current`).
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

    /// Marks a published file or folder to be left out of the next generation (a ledger
    /// part no longer used, last-failure/ after a success).
    public func removeOnPublish(_ relative: String) { removals.append(relative) }

    /// Whether the publish leaves out the published `relative` (see `removeOnPublish`).
    public func leavesOut(_ relative: String) -> Bool {
        removals.contains { relative == $0 || relative.hasPrefix($0 + "/") }
    }

    /// Forgets a staged file (a stage that failed after staging it).
    public func discardStaged(_ relative: String) {
        FilePath.remove(FilePath.join(staging, relative))
    }

    /// Publishes everything staged, with every earlier file it does not replace or remove,
    /// as one generation (see the type's notes).
    public func publish() throws {
        publishing.lock(); defer { publishing.unlock() }
        guard !closed else { throw PipelineError.stopped(signal: "a signal") }
        try commit(generation: staging, leavingOut: removals)
        removals = []
        closed = true
    }

    static let failureName = "last-failure"

    /// Publishes the previous outputs as they were, with `last-failure/` replaced by
    /// `record` (its run.json) and the files this run had finished (`rejects.csv`, a
    /// snapshot a stage refused, …; not the ledger, which is large and rebuilt anyway).
    /// Built in a folder of its own, so that nothing a stage is still writing slips in.
    /// Returns false when this run had already published (a signal that came too late).
    @discardableResult
    public func publishFailure(record: String) throws -> Bool {
        publishing.lock(); defer { publishing.unlock() }
        guard !closed else { return false }
        closed = true
        let failing = FilePath.join(path, ".failing-\(getpid())")
        FilePath.remove(failing)
        defer { FilePath.remove(failing) }
        let kept = FilePath.join(failing, Self.failureName)
        try FilePath.makeDirectories(kept)
        try carryOver(from: staging, into: kept, relative: "", leavingOut: ["ledger"]) { !$0.hasPrefix(".") }
        try AtomicFile.write(FilePath.join(kept, RunManifest.fileName), contents: record)
        try commit(generation: failing, leavingOut: [Self.failureName])
        FilePath.remove(staging)
        return true
    }

    /// `message` with this run's staging paths replaced by where the failure's files are
    /// kept (`last-failure/`): the staging folder is gone once the run has failed.
    public func failureMessage(_ message: String) -> String {
        message.replacingOccurrences(of: staging + "/", with: FilePath.join(path, Self.failureName) + "/")
    }

    // MARK: - Generations

    /// The generation `current` names (`.runs/<id>`), nil when there is none yet. A
    /// `current` that is not retain's link is refused rather than followed.
    private func currentGeneration() throws -> String? {
        let link = FilePath.join(path, Self.currentName)
        var st = stat()
        guard lstat(link, &st) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFLNK, let target = FilePath.linkTarget(link),
              target.hasPrefix(Self.generationsName + "/"), FilePath.isSafeRelative(target),
              target.split(separator: "/").count == 2 else {
            throw PipelineError.unsafeOutput(path: link, reason: "it is not the link retain keeps to the current outputs; move it out of the output folder")
        }
        return target
    }

    /// Makes `root` the published generation: fills it with hard links to every file of
    /// the current generation that it does not already hold and that `leavingOut` does not
    /// name (a path, or a folder and all below it), moves it under `.runs/`, swaps
    /// `current` to it, remakes the top-level links and removes the old generation.
    private func commit(generation root: String, leavingOut: [String]) throws {
        let old = try currentGeneration()
        // An output folder written by a retain without generations holds its files at the
        // top level: they are the previous outputs (once; every later publish swaps links).
        let previous = old.map { FilePath.join(path, $0) } ?? path
        try carryOver(from: previous, into: root, relative: "", leavingOut: leavingOut) { old != nil || Self.legacyNames.contains($0) }
        FilePath.syncTree(root)
        let generations = FilePath.join(path, Self.generationsName)
        try FilePath.makeDirectories(generations)
        var id = "\(getpid())-\(Int(Date().timeIntervalSince1970 * 1000))"
        while FilePath.exists(FilePath.join(generations, id)) { id += "x" }
        let generation = Self.generationsName + "/" + id
        guard rename(root, FilePath.join(path, generation)) == 0 else {
            throw IOError.cannotWrite(path: FilePath.join(path, generation), reason: IOError.systemReason())
        }
        AtomicFile.syncDirectory(containing: FilePath.join(generations, id))
        try swapLink(FilePath.join(path, Self.currentName), to: generation)  // the publish point
        try linkTopLevelNames(of: generation)
        if let old { FilePath.remove(FilePath.join(path, old)) }
    }

    /// Hard links (copies where a link cannot be made) of `from/relative` into `root`.
    private func carryOver(from: String, into root: String, relative: String, leavingOut: [String],
                           topLevel: (String) -> Bool = { _ in true }) throws {
        for name in FilePath.contents(of: FilePath.join(from, relative)) {
            if relative.isEmpty && !topLevel(name) { continue }
            let rel = relative.isEmpty ? name : relative + "/" + name
            if leavingOut.contains(where: { rel == $0 || rel.hasPrefix($0 + "/") }) { continue }
            let source = FilePath.join(from, rel), target = FilePath.join(root, rel)
            var st = stat()
            guard lstat(source, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try FilePath.makeDirectories(target)
                try carryOver(from: from, into: root, relative: rel, leavingOut: leavingOut)
            case S_IFREG:
                if !FilePath.exists(target) { try FilePath.linkOrCopy(source, to: target) }
            default:
                continue  // links and special files are not outputs: never followed
            }
        }
    }

    /// Points the link `at` to `target` in one rename (a temporary link renamed over it).
    private func swapLink(_ at: String, to target: String) throws {
        let tmp = FilePath.join(path, ".link.tmp-\(getpid())")
        unlink(tmp)
        guard symlink(target, tmp) == 0 else { throw IOError.cannotWrite(path: tmp, reason: IOError.systemReason()) }
        guard rename(tmp, at) == 0 else {
            let reason = IOError.systemReason()
            unlink(tmp)
            throw IOError.cannotWrite(path: at, reason: reason)
        }
        AtomicFile.syncDirectory(containing: at)
    }

    /// Each top-level name of `generation` as the link `current/<name>` in the folder (a
    /// file or folder of the layout without generations is replaced); links to names the
    /// generation no longer has are removed.
    private func linkTopLevelNames(of generation: String) throws {
        let names = Set(FilePath.contents(of: FilePath.join(path, generation)).filter { !$0.hasPrefix(".") })
        for name in names.sorted() {
            let at = FilePath.join(path, name), target = Self.currentName + "/" + name
            if FilePath.linkTarget(at) == target { continue }
            if FilePath.isDirectory(at) && FilePath.linkTarget(at) == nil { FilePath.remove(at) }
            try swapLink(at, to: target)
        }
        for name in FilePath.contents(of: path) where !names.contains(name) {
            if FilePath.linkTarget(FilePath.join(path, name)) == Self.currentName + "/" + name { unlink(FilePath.join(path, name)) }
        }
    }

    /// What an interrupted run left: a journal of the layout without generations (finished
    /// if it is safe), staging and temporary entries, generations `current` does not name;
    /// and the top-level links of the current generation, remade if missing.
    private func recover() throws {
        try LegacyJournal.finish(in: path)
        for name in FilePath.contents(of: path)
        where name.hasPrefix(".staging-") || name.hasPrefix(".failing-") || name.hasPrefix(".link.tmp-")
            || (name.hasPrefix(".") && name.contains(".tmp-")) {
            FilePath.remove(FilePath.join(path, name))
        }
        let current = try currentGeneration()
        let generations = FilePath.join(path, Self.generationsName)
        for name in FilePath.contents(of: generations) where Self.generationsName + "/" + name != current {
            FilePath.remove(FilePath.join(generations, name))
        }
        if let current {
            guard FilePath.isDirectory(FilePath.join(path, current)) else {
                throw PipelineError.unsafeOutput(path: FilePath.join(path, Self.currentName),
                                                 reason: "it names \(current), which is missing; remove the link to start the folder afresh")
            }
            try linkTopLevelNames(of: current)
        }
    }
}

/// The lock file of an output folder.
enum RunLock {
    /// Opens `lockPath` without following a link, refuses anything but a regular file with
    /// one name (a link or a hard link could make a root cron job truncate another file),
    /// takes the `flock` and writes the holder's note into it.
    static func take(_ lockPath: String, folder: String, command: String) throws -> Int32 {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw PipelineError.unsafeOutput(path: lockPath, reason: "it is a symbolic link, which retain never follows; remove it")
            }
            throw IOError.cannotWrite(path: lockPath, reason: IOError.systemReason())
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_nlink == 1 else {
            close(fd)
            throw PipelineError.unsafeOutput(path: lockPath, reason: "it is not a plain file of its own (a special file, or a hard link to another); remove it")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = holderNote(fd)
            close(fd)
            throw PipelineError.locked(folder: folder, holder: holder)
        }
        let note = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), started \(ISO8601DateFormatter().string(from: Date())): \(command)\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { pwrite(fd, $0, strlen($0), 0) }
        return fd
    }

    /// Empties the note, then drops the lock: a run that finds the lock held never reads a
    /// finished run's note as its holder's.
    static func release(_ fd: Int32) {
        _ = ftruncate(fd, 0)
        close(fd)
    }

    /// The holder's note. Between taking the lock and writing its note the holder's file
    /// is empty, or holds the note of a run killed earlier (whose process is gone): both
    /// are read again for up to a second.
    static func holderNote(_ fd: Int32) -> String {
        var note = ""
        for attempt in 0..<20 {
            if attempt > 0 { usleep(50_000) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            note = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            if let pid = note.split(separator: " ").dropFirst().first.flatMap({ Int32($0) }), note.hasPrefix("pid "),
               kill(pid, 0) == 0 || errno == EPERM {
                return note
            }
        }
        return note.isEmpty ? "a run that has just started" : note + "; no such process here, so its own note is not written yet"
    }
}
