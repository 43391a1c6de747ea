import Testing
import Foundation
import RetainTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Unattended safety: one run per output folder, and `kill -9` at any moment never
/// damages the previous outputs or blocks the next run.
@Suite("Run folder safety", .serialized)
struct SafetyTests {
    @Test("a held lock: exit 75 naming the holder")
    func heldLock() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 10))
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        try FileManager.default.createDirectory(atPath: dir.file("out"), withIntermediateDirectories: true)
        let fd = open(dir.file("out/.retain.lock"), O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        _ = "pid \(getpid()) on testhost: a test holding the lock".withCString { write(fd, $0, strlen($0)) }
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 75)
        #expect(r.stderr.contains("pid \(getpid()) on testhost") && r.stderr.contains("another run holds the lock"))
        flock(fd, LOCK_UN)
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0, "the lock is free again")
    }

    @Test("two runs at once: the second exits 75 naming the first, the first succeeds")
    func twoAtOnce() throws {
        let dir = TemporaryFolder()
        try writeLargeLog(dir.file("big.csv"), rows: 600_000)
        let p = try TestPipeline.csv(in: dir, inputs: ["big.csv"])
        let first = try RetainBinary.start(["run", p, "--only", "ingest"])
        #expect(waitForLock(first, out: dir.file("out")))
        let pid = "pid \(first.process.processIdentifier)"
        let second = try RetainBinary.run(["run", p, "--only", "ingest"])
        let firstResult = first.wait()
        #expect(second.status == 75, "\(second.stderr)")
        #expect(second.stderr.contains(pid))
        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        #expect(ingestCounts(try json(dir.file("out/run.json")))["rows_read"] == 600_000)
    }

    @Test("kill -9 at many moments: previous outputs intact, next run succeeds unaided")
    func killAnyMoment() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", smallLog(rows: 50))
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
        let before = try snapshot(dir.file("out"))

        try writeLargeLog(dir.file("in.csv"), rows: 400_000)
        var killedBeforePublish = 0
        for delay in [0, 30_000, 100_000, 250_000, 500_000, 800_000, 1_200_000] {
            let run = try RetainBinary.start(["run", p, "--only", "ingest"])
            usleep(useconds_t(delay))
            run.kill()
            _ = run.wait()
            let now = try snapshot(dir.file("out"))
            if now == before {
                killedBeforePublish += 1
            } else {
                // Killed after publishing began: the new outputs must be complete.
                let rerun = try RetainBinary.run(["run", p, "--only", "ingest"])
                #expect(rerun.status == 0)
                #expect(ingestCounts(try json(dir.file("out/run.json")))["rows_read"] == 400_000)
                try dir.write("in.csv", smallLog(rows: 50))
                #expect(try RetainBinary.run(["run", p, "--only", "ingest"]).status == 0)
                #expect(try snapshot(dir.file("out")).keys.sorted() == before.keys.sorted())
                try writeLargeLog(dir.file("in.csv"), rows: 400_000)
            }
        }
        #expect(killedBeforePublish >= 3, "most kills land mid-run")

        // The next run needs no cleanup, and leaves no staging or temporary files.
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ingestCounts(try json(dir.file("out/run.json")))["rows_read"] == 400_000)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir.file("out")).filter { $0.hasPrefix(".") }
        #expect(hidden.sorted() == [".retain.lock", ".runs"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("out/.runs")).count == 1, "one generation")
        let parts = try FileManager.default.contentsOfDirectory(atPath: dir.file("out/ledger/parts"))
        #expect(parts.count == 2, "one part and its rejects, old ones removed: \(parts)")
    }
}
