import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// The publish journal of output folders written before generations (`.publish-journal`:
/// a staging folder's name, then `remove REL` and `move REL` lines). A run killed while
/// publishing left one, and the next run finishes it, so such a folder is whole again
/// before it gets generations. The file is input like any other: every entry must stay
/// inside the output folder (a relative path without `.` or `..` components, reached
/// without passing through a link), or the journal is refused whole and nothing touched.
enum LegacyJournal {
    static let name = ".publish-journal"

    static func finish(in folder: String) throws {
        let journal = FilePath.join(folder, name)
        var st = stat()
        guard lstat(journal, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw PipelineError.unsafeJournal(path: journal, line: 0, reason: "it is not a plain file")
        }
        let text = String(decoding: try FilePath.readAll(journal), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { unlink(journal); return }
        guard first.hasPrefix(".staging-"), first.dropFirst(9).allSatisfy(\.isNumber), first.count > 9 else {
            throw PipelineError.unsafeJournal(path: journal, line: 1, reason: "\(quoted(first)) is not a staging folder's name")
        }
        // Every entry is checked before any is carried out.
        var steps: [(remove: Bool, relative: String)] = []
        for (k, line) in lines.enumerated().dropFirst() {
            let remove = line.hasPrefix("remove "), move = line.hasPrefix("move ")
            guard remove || move else {
                throw PipelineError.unsafeJournal(path: journal, line: k + 1, reason: "\(quoted(line)) is neither `remove PATH` nor `move PATH`")
            }
            let rel = String(line.dropFirst(remove ? 7 : 5))
            guard FilePath.isSafeRelative(rel), FilePath.noLinkOnTheWay(folder, rel),
                  FilePath.noLinkOnTheWay(FilePath.join(folder, first), rel) else {
                throw PipelineError.unsafeJournal(path: journal, line: k + 1,
                                                  reason: "\(quoted(rel)) is not a path inside the output folder (absolute, `..`, or through a link)")
            }
            steps.append((remove, rel))
        }
        let stagingDir = FilePath.join(folder, first)
        // A removal is only safe while its replacement is still staged: on a rerun of
        // the journal, skip removals whose path was already moved into place.
        let moved = Set(steps.filter { !$0.remove && !FilePath.exists(FilePath.join(stagingDir, $0.relative)) }.map(\.relative))
        for step in steps {
            if step.remove {
                if moved.contains(where: { $0 == step.relative || $0.hasPrefix(step.relative + "/") }) { continue }
                FilePath.remove(FilePath.join(folder, step.relative))
            } else {
                let from = FilePath.join(stagingDir, step.relative)
                guard FilePath.exists(from) else { continue }  // moved before the interruption
                let to = FilePath.join(folder, step.relative)
                try FilePath.makeDirectories(FilePath.split(to).directory)
                if FilePath.isDirectory(to) { FilePath.remove(to) }
                guard rename(from, to) == 0 else { throw IOError.cannotWrite(path: to, reason: IOError.systemReason()) }
            }
        }
        AtomicFile.syncDirectory(containing: FilePath.join(folder, "x"))
        unlink(journal)
        AtomicFile.syncDirectory(containing: journal)
    }

    /// At most 200 bytes of a journal line, quoted, for a message.
    static func quoted(_ s: String) -> String { "\"\(MessageText.excerpt(s))\"" }
}
