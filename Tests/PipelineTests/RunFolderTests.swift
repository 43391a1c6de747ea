import Testing
import Foundation
import Pipeline
import RetainIO
import RetainTestSupport

/// The publish journal, exercised at the moment a kill is hardest to hit: between renames.
@Suite("Run folder")
struct RunFolderTests {
    @Test("a publish interrupted between renames is completed by the next run")
    func rollForward() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        do {
            let f = try RunFolder(path: out, command: "first")
            try AtomicFile.write(try f.stagedPath("a.csv"), contents: "old a")
            try AtomicFile.write(try f.stagedPath("sub/b.csv"), contents: "old b")
            try f.publish()
        }
        // Simulate a run that staged new files, wrote its journal, moved one file, and died.
        let staging = out + "/.staging-999999"
        try FileManager.default.createDirectory(atPath: staging + "/sub", withIntermediateDirectories: true)
        try "new a".write(toFile: staging + "/a.csv", atomically: false, encoding: .utf8)
        try "new b".write(toFile: staging + "/sub/b.csv", atomically: false, encoding: .utf8)
        try ".staging-999999\nmove a.csv\nmove sub/b.csv\n".write(toFile: out + "/.publish-journal", atomically: false, encoding: .utf8)
        #expect(rename(staging + "/a.csv", out + "/a.csv") == 0)

        let next = try RunFolder(path: out, command: "next")
        #expect(try dir.read("out/a.csv") == "new a")
        #expect(try dir.read("out/sub/b.csv") == "new b", "the interrupted publish was completed")
        #expect(!FileManager.default.fileExists(atPath: out + "/.publish-journal"))
        #expect(!FileManager.default.fileExists(atPath: staging))
        _ = next
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
