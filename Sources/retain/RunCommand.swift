import ArgumentParser
import Pipeline

extension Stage: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the pipeline's stages (ingest, features, train, score, value, segment, report) in order.",
        discussion: """
            Outputs appear in the output folder all together or not at all; a failed run \
            leaves the previous outputs in place and records itself in last-failure/. One \
            run at a time per output folder (a second exits 75).
            """)

    @Argument(help: "The pipeline file (TOML).")
    var pipeline: String

    @Option(name: .long, help: "Output folder (default: the pipeline's output.dir).")
    var out: String?

    @Option(name: .customLong("as-of"), help: "Scoring date YYYY-MM-DD (default: the data's last day).")
    var asOf: String?

    @Option(name: .long, help: "Run only this stage, from the artifacts earlier stages left in the output folder.")
    var only: Stage?

    @Option(name: .long, help: "Run from this stage to the end.")
    var from: Stage?

    @Option(name: .long, help: "Stop after this stage (with --from, a range).")
    var to: Stage?

    @OptionGroup var logging: LoggingOptions
    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        if only != nil && (from != nil || to != nil) { throw ValidationError("give --only, or --from/--to, not both") }
    }

    func run() throws {
        try workers.apply()
        let spec = try PipelineSpec.load(pipeline)
        let words = CommandLine.arguments.dropFirst().joined(separator: " ")
        _ = try Runner.run(spec: spec, options: RunOptions(outputDir: out, asOf: try asOf.map(RunOptions.parseAsOf), only: only, from: from, to: to, command: "retain \(words)", speedUps: .fromEnvironment()),
                           reporter: logging.reporter)
    }
}
