import Testing
import Pipeline
import RetainTestSupport

/// When a stage keeps the memory it frees: only where retain's features stage, the run's
/// largest, ran before it in the same process.
@Suite("Run speed-ups")
struct RunSpeedUpsTests {
    /// `train` alone on a snapshot of tens of millions of customers must not keep what it
    /// frees: its peak would be its arrays summed, not the largest of them.
    @Test("a stage keeps what it frees only after retain's own features stage ran in the process")
    func keepsFreedMemory() throws {
        let dir = TemporaryFolder()
        let spark = try PipelineSpec.load(try dir.write("p.toml", """
            [input]
            paths = ["data/*.csv"]
            [input.columns]
            customer_id = "c"
            date = "d"
            amount = "a"
            [engine]
            kind = "spark"
            scratch = "tmp"
            """), today: 20_000).engine
        for stage in Stage.allCases where stage > .features {
            #expect(RunSpeedUps.keepsFreedMemory(stage, featuresRanHere: true, engine: .retain), "\(stage) after features")
            #expect(!RunSpeedUps.keepsFreedMemory(stage, featuresRanHere: false, engine: .retain), "\(stage) starting the process")
            #expect(!RunSpeedUps.keepsFreedMemory(stage, featuresRanHere: true, engine: spark), "\(stage) after Spark's snapshots")
        }
        for stage in [Stage.ingest, .features] {
            #expect(!RunSpeedUps.keepsFreedMemory(stage, featuresRanHere: false, engine: .retain))
        }
    }
}
