import ArgumentParser
import Foundation
import Plans
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

    @Option(name: .long, help: "A plan folder (OUT/plans/<as-of>): its target customers in groups with a target get the programme's effect after its as-of date.")
    var treat: String?

    @Option(name: .long, help: "With --treat: the share by which a treated customer's chance of leaving after a purchase falls (e.g. 0.3).")
    var effect: Double?

    @Argument(help: "Output CSV file.")
    var output: String

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard customers > 0, customers < 1 << 39 else { throw ValidationError("--customers must be a positive number") }
        guard days > 0, days <= 36_500 else { throw ValidationError("--days must be between 1 and 36500") }
        guard parseDay(endDate) != nil else { throw ValidationError("--end-date \(endDate) is not a date YYYY-MM-DD") }
        if (treat == nil) != (effect == nil) { throw ValidationError("give --treat PLAN_DIR and --effect SHARE together") }
        if let e = effect, !(e >= 0 && e <= 1) { throw ValidationError("--effect must be a share from 0 to 1, e.g. 0.3") }
    }

    func run() throws {
        guard let end = parseDay(endDate) else { throw ValidationError("--end-date \(endDate) is not a date YYYY-MM-DD") }
        let start = Date()
        var generator = Generator(customers: customers, seed: seed, endDay: end, days: Int32(days))
        if let treat, let effect { generator.treatment = try Self.treatment(plan: treat, customers: customers, effect: effect) }
        let rows = try generator.write(to: output)
        let reporter = logging.reporter
        reporter.info("generate: \(rows) rows for \(customers) customers in \(output) (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
    }

    private func parseDay(_ s: String) -> Int32? {
        let parts = s.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, s.count == 10 else { return nil }
        return CivilDate.day(year: parts[0], month: parts[1], day: parts[2])
    }

    /// The plan's target-arm customers of groups with a target, by generated customer index.
    static func treatment(plan dir: String, customers: Int, effect: Double) throws -> Generator.Treatment {
        let plan = try PlanArchive.load(dir)
        var treated = [Bool](repeating: false, count: customers)
        for i in 0..<plan.ids.count where plan.arms[i] == .target && (plan.targetChurnReduction[plan.segments[i]] ?? 0) > 0 {
            let id = plan.ids[i]
            guard id.hasPrefix("C"), let n = Int(id.dropFirst()), n >= 1, n <= customers else {
                throw PlansError.notGenerated(path: FilePath.join(dir, PlanArchive.customersFile),
                                              detail: "customer \(id) is not one of a generated log of \(customers) customers (C1 to C\(customers)); --treat takes a plan made from a log of retain generate with the same --customers")
            }
            treated[n - 1] = true
        }
        return Generator.Treatment(afterDay: plan.asOf, treated: treated, dropoutReduction: effect)
    }
}
