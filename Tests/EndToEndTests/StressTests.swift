import Testing
import Foundation
import RetainTestSupport

/// Many runs into fresh folders of logs with rejected rows in the first, a middle and the
/// last input block: a reject's text is written by the I/O queue after the parse, so these
/// are the runs where a block freed too early shows as a crash.
///
/// `RETAIN_STRESS_RUNS` sets the number of runs (default 20, for a debug `swift test`);
/// `.ci/run` runs 200 against the release binary, where the optimiser ends lifetimes at
/// their last use and an ownership bug shows.
@Suite("Stress: rejects near block edges", .serialized)
struct StressTests {
    static let runs = Int(ProcessInfo.processInfo.environment["RETAIN_STRESS_RUNS"] ?? "") ?? 20

    /// A log of `rows` rows in the test layout whose rows numbered in `bad` carry the
    /// date 0000-01-01 (an implausible date), written by awk.
    static func logWithBadRows(_ path: String, rows: Int, customers: Int, bad: [Int]) throws {
        let badSet = bad.map { "b[\($0)]=1" }.joined(separator: ";")
        let cmd = """
            (echo order_id,customer_id,date,amount; seq 1 \(rows) | awk 'BEGIN{\(badSet)} \
            {d = ($1 in b) ? "0000-01-01" : sprintf("2024-%02d-%02d", $1%12+1, $1%28+1); \
            printf "o%d,c%d,%s,%d.25\\n",$1,$1%\(customers),d,$1%100}') > '\(path)'
            """
        guard try shell(cmd) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    @Test("runs into fresh folders, rejects in the first, a middle and the last block: no crash, every reject listed")
    func rejectsAtBlockEdges() throws {
        let dir = TemporaryFolder()
        // One block (the case: 2,000 customers, one bad row among the last lines),
        // and three 16 MiB blocks with a bad row in each, the last one the final line.
        let small = 11_000, large = 1_400_000
        try Self.logWithBadRows(dir.file("small.csv"), rows: small, customers: 2_000, bad: [small - 4])
        try Self.logWithBadRows(dir.file("large.csv"), rows: large, customers: 50_000, bad: [3, large / 2, large])
        let logs = [("small.csv", small, 1), ("large.csv", large, 3)]
        for i in 0..<Self.runs {
            let (input, rows, rejected) = logs[i % 4 == 3 ? 1 : 0]
            let p = try TestPipeline.csv(in: dir, name: "p\(i).toml", inputs: [input], out: "out\(i)")
            let r = try RetainBinary.run(["run", p, "--only", "ingest", "--quiet"])
            #expect(r.status == 0, "run \(i) on \(input): exit \(r.status): \(r.stderr.prefix(300))")
            if r.status != 0 { break }
            let counts = ingestCounts(try json(dir.file("out\(i)/run.json")))
            #expect(counts["rows_read"] == rows && counts["rows_rejected"] == rejected)
            let rejects = try dir.read("out\(i)/rejects.csv").split(separator: "\n")
            #expect(rejects.count == rejected + 1 && rejects.dropFirst().allSatisfy { $0.contains("0000-01-01") })
            try FileManager.default.removeItem(atPath: dir.file("out\(i)"))
        }
    }
}
