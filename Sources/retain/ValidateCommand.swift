import ArgumentParser
import Pipeline

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file and its inputs' header and first rows, writing nothing.")

    @Argument(help: "The pipeline file (TOML).")
    var pipeline: String

    @Option(name: .long, help: "How many data rows of each input to check.")
    var rows = 1000

    @OptionGroup var logging: LoggingOptions
    @OptionGroup var workers: WorkerOptions

    func run() throws {
        try workers.apply()
        let spec = try PipelineSpec.load(pipeline)
        try Validation.check(spec: spec, rows: rows, reporter: logging.reporter)
    }
}
