import Testing
import Foundation
import Pipeline
import RetainIO
import RetainTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The publish journal, exercised at the moment a kill is hardest to hit: between renames.
@Suite("Run folder")
struct RunFolderTests {
    @Test("a publish of the layout without generations, interrupted between renames, is completed by the next run")
    func rollForward() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        // A folder as an earlier retain left it: files at the top level, a run that staged
        // new files, wrote its journal, moved one file, and died.
        try dir.write("out/customers.csv", "old customers")
        try dir.write("out/segments/drop.csv", "old drop")
        let staging = out + "/.staging-999999"
        try dir.write("out/.staging-999999/customers.csv", "new customers")
        try dir.write("out/.staging-999999/segments/drop.csv", "new drop")
        try dir.write("out/.publish-journal", ".staging-999999\nmove customers.csv\nmove segments/drop.csv\n")
        #expect(rename(staging + "/customers.csv", out + "/customers.csv") == 0)

        let next = try RunFolder(path: out, command: "next")
        #expect(try dir.read("out/customers.csv") == "new customers")
        #expect(try dir.read("out/segments/drop.csv") == "new drop", "the interrupted publish was completed")
        #expect(!FileManager.default.fileExists(atPath: out + "/.publish-journal"))
        #expect(!FileManager.default.fileExists(atPath: staging))
        // Its first publish moves the files into a generation, same paths, same contents.
        try AtomicFile.write(try next.stagedPath("scores.csv"), contents: "c")
        try next.publish()
        #expect(try dir.read("out/customers.csv") == "new customers" && dir.read("out/segments/drop.csv") == "new drop" && dir.read("out/scores.csv") == "c")
        #expect(FilePath.linkTarget(out + "/customers.csv") == "current/customers.csv" && FilePath.linkTarget(out + "/segments") == "current/segments")
    }

    @Test("a folder holding other files: only retain's own names are taken into the generation; the rest stays as it is")
    func foreignFilesStay() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        try dir.write("out/notes.txt", "mine")
        try dir.write("out/src/main.c", "int main;")
        try dir.write("out/customers.csv", "an earlier retain's")
        let f = try RunFolder(path: out, command: "t")
        try AtomicFile.write(try f.stagedPath("scores.csv"), contents: "s")
        try f.publish()
        #expect(FilePath.linkTarget(out + "/notes.txt") == nil && FilePath.linkTarget(out + "/src") == nil)
        #expect(try dir.read("out/notes.txt") == "mine" && dir.read("out/src/main.c") == "int main;")
        #expect(FilePath.linkTarget(out + "/customers.csv") == "current/customers.csv")
        #expect(try dir.read("out/customers.csv") == "an earlier retain's" && dir.read("out/scores.csv") == "s")
    }

    /// Journal entries that leave the folder, each refused whole: exit 65 naming the
    /// journal and its line, nothing moved or removed.
    @Test("a publish journal pointing outside the folder is refused, nothing touched", arguments: [
        "remove ../victim", "move ../../x", "remove /tmp/victim", "remove link/inside", "remove a/../../victim", "remove ",
    ])
    func hostileJournal(entry: String) throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        try dir.write("victim/keep.txt", "mine")
        try dir.write("out/a.csv", "a")
        try dir.write("out/.staging-4242/x", "x")
        #expect(symlink(dir.file("victim"), out + "/link") == 0)
        try dir.write("out/.publish-journal", ".staging-4242\nremove a.csv\n\(entry)\n")
        #expect { try RunFolder(path: out, command: "t") } throws: { e in
            guard let p = e as? PipelineError else { return false }
            return p.exitStatus == .badData && p.description.contains(out + "/.publish-journal:3")
        }
        #expect(try dir.read("victim/keep.txt") == "mine")
        #expect(try dir.read("out/a.csv") == "a", "an entry before the bad one was not carried out either")
        #expect(FileManager.default.fileExists(atPath: out + "/.publish-journal"))
    }

    @Test("a .retain.lock that is a link or a second name of another file is refused, its target untouched")
    func hostileLock() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        try dir.write("precious.txt", "keep")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(symlink(dir.file("precious.txt"), out + "/.retain.lock") == 0)
        #expect { try RunFolder(path: out, command: "t") } throws: { e in
            (e as? PipelineError)?.exitStatus == .cannotWrite && "\(e)".contains("symbolic link")
        }
        unlink(out + "/.retain.lock")
        #expect(link(dir.file("precious.txt"), out + "/.retain.lock") == 0)
        #expect { try RunFolder(path: out, command: "t") } throws: { e in
            (e as? PipelineError)?.exitStatus == .cannotWrite && "\(e)".contains("hard link")
        }
        #expect(try dir.read("precious.txt") == "keep")
    }

    @Test("a publish makes one generation: new files, earlier ones as hard links, the old generation gone")
    func generations() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        do {
            let f = try RunFolder(path: out, command: "first")
            try AtomicFile.write(try f.stagedPath("a.csv"), contents: "a1")
            try AtomicFile.write(try f.stagedPath("ledger/part"), contents: "p1")
            try AtomicFile.write(try f.stagedPath("last-failure/run.json"), contents: "{}")
            try f.publish()
        }
        let first = try #require(FilePath.linkTarget(out + "/current"))
        var before = stat()
        #expect(stat(out + "/ledger/part", &before) == 0)
        do {
            let f = try RunFolder(path: out, command: "second")
            try AtomicFile.write(try f.stagedPath("a.csv"), contents: "a2")
            f.removeOnPublish("last-failure")
            try f.publish()
        }
        let second = try #require(FilePath.linkTarget(out + "/current"))
        #expect(first != second && second.hasPrefix(".runs/"))
        #expect(try dir.read("out/a.csv") == "a2" && dir.read("out/ledger/part") == "p1")
        var after = stat()
        #expect(stat(out + "/ledger/part", &after) == 0 && after.st_ino == before.st_ino, "carried over as a hard link")
        #expect(!FileManager.default.fileExists(atPath: out + "/" + first), "the old generation is removed")
        #expect(!FileManager.default.fileExists(atPath: out + "/last-failure") && FilePath.linkTarget(out + "/last-failure") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/.runs") == [String(second.dropFirst(6))])
    }

    @Test("a failure publishes the previous outputs with last-failure/ holding the run's finished files")
    func failure() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        do {
            let f = try RunFolder(path: out, command: "first")
            try AtomicFile.write(try f.stagedPath("a.csv"), contents: "a1")
            try f.publish()
        }
        let f = try RunFolder(path: out, command: "second")
        try AtomicFile.write(try f.stagedPath("a.csv"), contents: "a2")
        try AtomicFile.write(try f.stagedPath("rejects.csv"), contents: "r")
        try AtomicFile.write(try f.stagedPath("ledger/part"), contents: "p")
        #expect(f.failureMessage(f.staging + "/a.csv: bad") == out + "/last-failure/a.csv: bad")
        #expect(try f.publishFailure(record: "{\"status\":\"failed\"}"))
        #expect(try dir.read("out/a.csv") == "a1")
        #expect(try dir.read("out/last-failure/a.csv") == "a2" && dir.read("out/last-failure/rejects.csv") == "r")
        #expect(try dir.read("out/last-failure/run.json") == "{\"status\":\"failed\"}")
        #expect(!FileManager.default.fileExists(atPath: out + "/last-failure/ledger"))
        #expect(!FileManager.default.fileExists(atPath: f.staging))
        #expect(try !f.publishFailure(record: "{}"), "once closed, nothing more is published")
        #expect(throws: PipelineError.self) { try f.publish() }
    }

    @Test("staged files are invisible until publish; discarded ones never appear")
    func staging() throws {
        let dir = TemporaryFolder()
        let f = try RunFolder(path: dir.file("out"), command: "t")
        try AtomicFile.write(try f.stagedPath("x.csv"), contents: "x")
        try AtomicFile.write(try f.stagedPath("y.csv"), contents: "y")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/x.csv")))
        f.discardStaged("y.csv")
        try f.publish()
        #expect(try dir.read("out/x.csv") == "x")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/y.csv")))
    }

    /// The race of a run that has taken the lock but not yet written its note: the note
    /// left by the run before must not be named as the holder.
    @Test("a finished run leaves no note; a holder without a note is named as just started")
    func lockNote() throws {
        let dir = TemporaryFolder()
        do { _ = try RunFolder(path: dir.file("out"), command: "retain run earlier.toml") }
        #expect(try dir.read("out/.retain.lock") == "", "emptied when released")
        let fd = open(dir.file("out/.retain.lock"), O_RDWR)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        #expect { try RunFolder(path: dir.file("out"), command: "second") } throws: { e in
            "\(e)".contains("a run that has just started") && !"\(e)".contains("earlier.toml")
        }
    }

    @Test("a second holder in the same process is refused with exit 75")
    func lock() throws {
        let dir = TemporaryFolder()
        let first = try RunFolder(path: dir.file("out"), command: "retain run first.toml")
        #expect { try RunFolder(path: dir.file("out"), command: "second") } throws: { e in
            guard let p = e as? PipelineError else { return false }
            return p.exitStatus == .locked && p.description.contains("retain run first.toml")
        }
        _ = first
    }
}

@Suite("run.json")
struct RunManifestTests {
    @Test("a record written by an earlier version still reads, old field names included")
    func tolerant() throws {
        let dir = TemporaryFolder()
        let old = """
            {"command":"retain run p.toml","finished_at":"","inputs":[],"output_dir":"/x","pipeline":"p.toml",
             "pipeline_hash":"h","retain_version":"0.1.0","started_at":"","status":"succeeded",
             "stages":{"ingest":{"counts":{"rows_read":5},"peak_memory_mb":12.5,"seconds":2,"status":"succeeded"}}}
            """
        let m = try RunManifest.load(try dir.write("run.json", old))
        let ingest = try #require(m.stages["ingest"])
        #expect(ingest.peakMemoryMegabytes == 12.5)
        #expect(ingest.counts["rows_read"] == 5)
        #expect(ingest.cpuSeconds == 0 && ingest.notes.isEmpty, "missing fields take their defaults")
        // And what this version writes reads back the same.
        let again = try RunManifest.load(try dir.write("again.json", try m.encoded()))
        #expect(again.stages["ingest"]?.peakMemoryMegabytes == 12.5)
    }
}
