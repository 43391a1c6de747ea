import ArgumentParser
import Pipeline

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Judge the archived plans against what happened since, without rerunning the other stages.",
        discussion: """
            Reads the ledger and plans/ in the output folder and writes evaluation.csv and \
            evaluation_calibration.csv: per plan whose horizon the data covers, per group and \
            arm, the churn the plan predicted and the churn that happened, the effect (control \
            churn minus target churn) with its 95% interval, and whether the target was reached. \
            The ledger must match the input files (else run retain run first).
            """)

    @Argument(help: "The pipeline file (TOML).")
    var pipeline: String

    @Option(name: .long, help: "Output folder (default: the pipeline's output.dir).")
    var out: String?

    @Option(name: .long, help: "Judge only the plan of this as-of date, YYYY-MM-DD (the other plans' rows are kept).")
    var plan: String?

    @OptionGroup var logging: LoggingOptions
    @OptionGroup var workers: WorkerOptions

    func run() throws {
        try workers.apply()
        let spec = try PipelineSpec.load(pipeline)
        let words = CommandLine.arguments.dropFirst().joined(separator: " ")
        var options = RunOptions(outputDir: out, only: .evaluate, command: "retain \(words)", speedUps: .fromEnvironment())
        options.evaluatePlan = try plan.map { text in
            do { return try RunOptions.parseAsOf(text) } catch { throw ValidationError("--plan \(text) is not a date YYYY-MM-DD") }
        }
        _ = try Runner.run(spec: spec, options: options, reporter: logging.reporter)
    }
}
