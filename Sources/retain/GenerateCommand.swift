import ArgumentParser
import Foundation
import RetainIO
import Synth

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a realistic synthetic transaction log (every optional column), the same for the same seed.",
        discussion: "Columns: \(Generator.header)")

    @Option(name: .long, help: "Number of customers (about 7 rows each).")
    var customers: Int

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 1

    @Option(name: .customLong("end-date"), help: "Last day of the log, YYYY-MM-DD.")
    var endDate = "2025-12-31"

    @Option(name: .long, help: "Length of the log in days.")
    var days = 1095

    @Argument(help: "Output CSV file.")
    var output: String

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard customers > 0, customers < 1 << 39 else { throw ValidationError("--customers must be a positive number") }
        guard days > 0, days <= 36_500 else { throw ValidationError("--days must be between 1 and 36500") }
        guard parseDay(endDate) != nil else { throw ValidationError("--end-date \(endDate) is not a date YYYY-MM-DD") }
    }

    func run() throws {
        guard let end = parseDay(endDate) else { throw ValidationError("--end-date \(endDate) is not a date YYYY-MM-DD") }
        let start = Date()
        let rows = try Generator(customers: customers, seed: seed, endDay: end, days: Int32(days)).write(to: output)
        let reporter = logging.reporter
        reporter.info("generate: \(rows) rows for \(customers) customers in \(output) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }

    private func parseDay(_ s: String) -> Int32? {
        let parts = s.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, s.count == 10 else { return nil }
        return CivilDate.day(year: parts[0], month: parts[1], day: parts[2])
    }
}
