import Testing
import Foundation
import RetainTestSupport

/// A stage rerun alone never computes from an upstream artifact that no longer matches
/// the pipeline file, the input files or the other artifacts: exit 78 naming the stage to
/// run first. A damaged ledger part is rebuilt from its input.
@Suite("Stale and damaged artifacts", .serialized)
struct StaleArtifactTests {
    /// A log over 2024 in the test layout: 300 customers buying monthly, a third of them
    /// stopping after June (the churners).
    static func log(amountShift: Int = 0) -> String {
        var s = "order_id,customer_id,date,amount\n"
        for i in 1...3_000 {
            let c = i % 300, m = i / 300 % 12 + 1
            if c % 3 == 0 && m > 6 { continue }
            s += "o\(i),c\(c),2024-\(String(format: "%02d-%02d", m, i % 28 + 1)),\(i % 80 + 10 + amountShift).50\n"
        }
        return s
    }

    static func pipeline(_ dir: TemporaryFolder, horizon: Int = 60) throws -> String {
        let p = try TestPipeline.csv(in: dir, inputs: ["in.csv"])
        return try dir.write("p.toml", try dir.read("p.toml") + "\n[features]\nhorizon_days = \(horizon)\n")
    }

    @Test("an input changed in place with the same size is seen by --from and --only")
    func sameSizeChange() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", Self.log())
        let p = try Self.pipeline(dir)
        #expect(try RetainBinary.run(["run", p, "--quiet"]).status == 0)
        let changed = Self.log(amountShift: 1)  // every amount one more: the same number of bytes
        #expect(changed.utf8.count == Self.log().utf8.count)
        try dir.write("in.csv", changed)
        let r = try RetainBinary.run(["run", p, "--from", "features"])
        #expect(r.status == 78, "\(r.stderr)")
        #expect(r.stderr.contains("in.csv changed since it was built") && r.stderr.contains("--from ingest"))
        // The same bytes written again (a new modification time): still the same input.
        try dir.write("in.csv", Self.log())
        #expect(try RetainBinary.run(["run", p, "--from", "features", "--quiet"]).status == 0)
    }

    @Test("--only segment after --only features --as-of, and --only train after a new horizon: exit 78 naming the stage")
    func lineage() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", Self.log())
        let p = try Self.pipeline(dir)
        #expect(try RetainBinary.run(["run", p, "--quiet"]).status == 0)
        #expect(try RetainBinary.run(["run", p, "--only", "segment", "--quiet"]).status == 0, "an unchanged folder reruns a stage")
        #expect(try RetainBinary.run(["run", p, "--only", "features", "--as-of", "2024-10-15", "--quiet"]).status == 0)
        for stage in ["segment", "report"] {
            let r = try RetainBinary.run(["run", p, "--only", stage])
            #expect(r.status == 78, "\(stage): \(r.stderr)")
            #expect(r.stderr.contains("--from score"), "\(stage): \(r.stderr)")
        }
        // The training snapshot does not depend on --as-of: train and score may run.
        #expect(try RetainBinary.run(["run", p, "--only", "score", "--quiet"]).status == 0)
        // The values are still those of the earlier scores.
        let v = try RetainBinary.run(["run", p, "--only", "segment"])
        #expect(v.status == 78 && v.stderr.contains("--from value"), "\(v.stderr)")
        #expect(try RetainBinary.run(["run", p, "--from", "value", "--quiet"]).status == 0)

        _ = try Self.pipeline(dir, horizon: 45)
        let r = try RetainBinary.run(["run", p, "--only", "train"])
        #expect(r.status == 78)
        #expect(r.stderr.contains("features.horizon_days = 60, the pipeline file now gives 45") && r.stderr.contains("--from features"))
        #expect(try RetainBinary.run(["run", p, "--from", "features", "--quiet"]).status == 0)
        #expect(try RetainBinary.run(["run", p, "--only", "report", "--quiet"]).status == 0)
    }

    @Test("a flipped byte in a ledger part: ingest parses the input again with a warning, and the folder works again")
    func damagedPart() throws {
        let dir = TemporaryFolder()
        try dir.write("in.csv", Self.log())
        let p = try Self.pipeline(dir)
        #expect(try RetainBinary.run(["run", p, "--quiet"]).status == 0)
        let parts = dir.file("out/ledger/parts")
        let part = try #require(try FileManager.default.contentsOfDirectory(atPath: parts).first { $0.hasSuffix(".part") })
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: parts + "/" + part)))
        bytes[bytes.count / 3] ^= 0x40  // inside the rows: the part still opens
        try Data(bytes).write(to: URL(fileURLWithPath: parts + "/" + part))
        let stale = try RetainBinary.run(["run", p, "--from", "features"])
        #expect(stale.status == 65 && stale.stderr.contains("--only ingest"), "\(stale.stderr)")
        let r = try RetainBinary.run(["run", p, "--only", "ingest"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("is damaged (checksum mismatch)") && r.stderr.contains("parsed again"))
        #expect(try RetainBinary.run(["run", p, "--from", "features", "--quiet"]).status == 0)
    }
}
