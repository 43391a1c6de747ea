import Foundation
import Testing
@testable import Plans
import RetainIO
import RetainTestSupport
import Segmentation

/// The intervals against statsmodels 0.14 (`.venv`, the commands in each test's comment), to 1e-9.
@Suite("Plans: confidence intervals")
struct IntervalTests {
    /// proportion_confint(21, 39, method="wilson"); proportion_confint(0, 12, method="wilson")
    @Test("Wilson's interval equals statsmodels'")
    func wilson() {
        let a = Intervals.wilson(21, 39), b = Intervals.wilson(0, 12)
        #expect(isClose(a.low, 0.38569448270515755, rel: 1e-9) && isClose(a.high, 0.6843311439327215, rel: 1e-9))
        #expect(isClose(b.low, 0, abs: 1e-15) && isClose(b.high, 0.24249400665524096, rel: 1e-9))
    }

    /// confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    @Test("Newcombe's interval for a difference of two proportions equals statsmodels'",
          arguments: [(21, 39, 226, 426, -0.15186132417679918, 0.16133914939102062),
                      (0, 12, 5, 40, -0.261121198388511, 0.12750783539398503),
                      (50, 70, 404, 646, -0.03154645106880405, 0.18887855905934292)])
    func newcombe(x1: Int, n1: Int, x2: Int, n2: Int, low: Double, high: Double) throws {
        let d = try #require(Intervals.newcombe(x1, n1, x2, n2))
        #expect(isClose(d.estimate, Double(x1) / Double(n1) - Double(x2) / Double(n2), rel: 1e-12))
        #expect(isClose(d.low, low, rel: 1e-9, abs: 1e-12) && isClose(d.high, high, rel: 1e-9, abs: 1e-12), "\(d)")
        #expect(Intervals.newcombe(1, 0, 1, 2) == nil)
    }

    /// CompareMeans(DescrStatsW(a), DescrStatsW(b)).tconfint_diff(usevar="unequal")
    @Test("Welch's interval for a difference of means equals statsmodels'")
    func welch() throws {
        let a = [12.5, 0, 0, 40.2, 7.7, 3.1, 0, 19.9], b = [0, 0, 5.5, 0, 2.25, 30.0, 1.0]
        let (ma, va) = Evaluator.meanAndVariance(a), (mb, vb) = Evaluator.meanAndVariance(b)
        let d = try #require(Intervals.welch(mean1: ma, variance1: va, n1: a.count, mean2: mb, variance2: vb, n2: b.count))
        #expect(isClose(d.estimate, 4.889285714285715, rel: 1e-12))
        #expect(isClose(d.low, -9.059777092472718, rel: 1e-9) && isClose(d.high, 18.83834852104415, rel: 1e-9), "\(d)")
    }

    /// scipy.stats.t.ppf(0.975, df)
    @Test("Student's t quantile equals scipy's", arguments: [(1.0, 12.706204736174694), (2.5, 3.5746548420036817),
                                                           (10.0, 2.228138851986274), (57.3, 2.002238268231336), (1000.0, 1.9623390808264083)])
    func studentT(df: Double, t: Double) {
        #expect(isClose(Intervals.studentQuantile975(df), t, rel: 1e-9))
    }
}

@Suite("Plans: arms")
struct ArmTests {
    static let ids = (1...20_000).map { "C\($0)" }

    @Test("the draw is a keyed hash: the same arms for the same key, about the control share, other arms for another key")
    func draw() {
        var settings = PlanSettings()
        let a = ArmDraw(settings: settings, asOf: 20_000), again = ArmDraw(settings: settings, asOf: 20_100)
        let arms = Self.ids.map(a.arm)
        #expect(arms == Self.ids.map(again.arm), "without reshuffle the as-of does not enter the draw")
        let share = Double(arms.filter { $0 == .control }.count) / Double(arms.count)
        // 20,000 draws of p = 0.10: standard error 0.0021; 5 of them is a 1-in-3-million miss.
        #expect(abs(share - 0.10) < 0.0106, "\(share)")
        settings.reshuffle = true
        let fresh = ArmDraw(settings: settings, asOf: 20_000)
        #expect(fresh.drawKey == "retain@2024-10-04")
        let changed = zip(arms, Self.ids.map(fresh.arm)).filter { $0 != $1 }.count
        // Independent draws differ for 2·0.1·0.9 = 18% of customers.
        #expect(changed > 3_000 && changed < 4_200, "\(changed)")
        #expect(ArmDraw(controlShare: 0, drawKey: "k").arm("C1") == .target)
        // With plan.every, a period's runs share its draw (2024-10-04 and -31 are in October).
        settings.every = .month
        #expect(ArmDraw(settings: settings, asOf: 20_000).drawKey == "retain@2024-10-01")
        #expect(ArmDraw(settings: settings, asOf: 20_027).drawKey == "retain@2024-10-01")
    }

    /// u is XXH64(id, seed: XXH64(key)) >> 11 over 2^53, as plan.json documents: xxhsum
    /// reproduces it (XXH64("retain") and XXH64 of "C1" with that seed, here computed by
    /// RetainIO's XXH64, itself checked against xxhsum in RetainIOTests).
    @Test("u is the documented function of the id and the key")
    func documented() {
        let draw = ArmDraw(controlShare: 0.1, drawKey: "retain")
        let u = Double(XXH64.hash(Array("C1".utf8), seed: XXH64.hash("retain")) >> 11) / 9_007_199_254_740_992
        var id = "C1"
        #expect(id.withUTF8 { draw.uniform(UnsafeRawBufferPointer($0)) } == u)
    }
}

@Suite("Plans: archive and evaluation")
struct ArchiveTests {
    /// A plan of eight customers in two groups, written and read back.
    static func plan(in dir: TemporaryFolder) throws -> Plan {
        let csv = "customer_id,churn_probability\nC1,0.9\nC2,0.8\nC3,0.7\nC4,0.6\n\"'=C5\",0.5\nC6,0.4\nC7,0.3\nC8,0.2\n"
        let scores = try CSVTable.read(try dir.write("scores.csv", csv))
        let segments: [Segment] = [.keepStrategic, .keepStrategic, .keepStrategic, .keepStrategic, .drop, .drop, .drop, .drop]
        let arms: [Arm] = [.target, .target, .control, .control, .target, .control, .target, .control]
        var targets = Segment.allCases.map { s in
            SegmentTarget(segment: s, customers: 0, expectedChurners: 0, revenueAtRisk: 0, profitAtRisk: 0,
                          targetChurnReduction: s == .keepStrategic ? 0.25 : 0, targetRetainedCustomers: 0, targetRetainedRevenue: 0, maxSpendPerCustomer: 0)
        }
        targets[0].customers = 4; targets[3].customers = 4
        let record = PlanRecord(asOf: "2025-01-31", horizonDays: 90, horizonEnd: "2025-05-01", createdAt: "now", retainVersion: "t",
                                pipelineHash: "p", settingsHash: "s", drawKey: "retain", controlShare: 0.5, reshuffle: false, customers: 0, files: [:])
        try PlanArchive.write(PlanArchive.Draft(scores: scores, segments: segments, arms: arms, clv: [1, 2, 3, 4, 5, 6, 7, .nan],
                                                targets: targets, record: record), to: dir.file("plans/2025-01-31"))
        return try PlanArchive.load(dir.file("plans/2025-01-31"))
    }

    @Test("a plan reads back as written: ids as in the log, groups, arms, p, CLV, targets")
    func roundTrip() throws {
        let dir = TemporaryFolder()
        let p = try Self.plan(in: dir)
        #expect(p.ids == ["C1", "C2", "C3", "C4", "=C5", "C6", "C7", "C8"])
        #expect(p.arms.filter { $0 == .control }.count == 4 && p.segments[4] == .drop)
        #expect(p.probabilities == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
        #expect(p.clv[6] == 7 && p.clv[7].isNaN)
        #expect(p.targetChurnReduction[.keepStrategic] == 0.25 && p.targetChurnReduction[.drop] == 0)
        #expect(p.asOf == CivilDate.parseISO("2025-01-31") && p.horizonEnd == CivilDate.parseISO("2025-05-01"))
        #expect(PlanArchive.list(in: dir.path) == [p.asOf])
        let targets = try dir.read("plans/2025-01-31/targets.csv")
        #expect(targets.contains("keep-strategic,4,2,2,"), "\(targets)")
    }

    @Test("the customers file is read field by field: quoted ids, an empty CLV, a missing last line break; a bad line is named")
    func parseCustomers() throws {
        let header = "customer_id,segment,treatment,churn_probability,clv\n"
        let good = header + "\"x,\"\"y\"\"\",drop,control,0.25,\nC2,high-volume,target,1,12.5"
        let rows = try PlanArchive.parseCustomers(Array(good.utf8), path: "p")
        #expect(rows.ids == ["x,\"y\"", "C2"] && rows.segments == [.drop, .highVolume] && rows.arms == [.control, .target])
        #expect(rows.p == [0.25, 1] && rows.clv[0].isNaN && rows.clv[1] == 12.5)
        for (bad, line) in [(header + "C1,drop,target,0.5,1\nC2,drop,controll,0.5,1\n", 3), (header + "C1,drop,target,1.5,1\n", 2),
                            (header + "C1,dropped,target,0.5,1\n", 2), (header + "C1,drop,target,0.5\n", 2), (header + "C1\n", 2)] {
            #expect(throws: PlansError.damagedPlan(path: "p", detail: "line \(line) is not customer_id,segment,treatment,churn_probability,clv")) {
                try PlanArchive.parseCustomers(Array(bad.utf8), path: "p")
            }
        }
        #expect(throws: PlansError.self) { try PlanArchive.parseCustomers(Array("id,x\n".utf8), path: "p") }
    }

    @Test("an edited or damaged plan file is refused, naming it")
    func checksum() throws {
        let dir = TemporaryFolder()
        _ = try Self.plan(in: dir)
        let path = dir.file("plans/2025-01-31/customers.csv")
        try (try String(contentsOfFile: path, encoding: .utf8)).replacingOccurrences(of: "C2,keep-strategic,target", with: "C2,keep-strategic,control")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PlansError.self) { try PlanArchive.load(dir.file("plans/2025-01-31")) }
        do { _ = try PlanArchive.load(dir.file("plans/2025-01-31")) } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("checksum"))
        }
    }

    /// Worked by hand: keep-strategic target C1, C2 (bought: C1), control C3, C4 (bought:
    /// none): churn target 1/2, control 2/2, effect 0.5; aimed for 0.25 x (0.9 + 0.8)/2 =
    /// 0.2125. drop: no target.
    @Test("the evaluation of a plan worked by hand: arms, churners, effect, target, calibration")
    func byHand() throws {
        let dir = TemporaryFolder()
        let p = try Self.plan(in: dir)
        let outcome = PlanOutcome(bought: [true, false, false, false, true, false, false, true],
                                  revenue: [30, 0, 0, -5, 12, 0, 0, 8], inLedger: [Bool](repeating: true, count: 8))
        let e = Evaluator.evaluate(p, outcome)
        let k = e.groups[0], d = e.groups[3]
        #expect(k.targetCustomers == 2 && k.controlCustomers == 2 && k.targetChurners == 1 && k.controlChurners == 2)
        #expect(isClose(k.predicted, 3.0) && isClose(k.targetPredicted, 1.7))
        #expect(isClose(k.targetRevenue, 30) && isClose(k.controlRevenue, -5))
        #expect(isClose(try #require(k.effect).estimate, 0.5))
        #expect(isClose(k.requiredEffect, 0.2125))
        // Newcombe for 2/2 against 1/2: confint_proportions_2indep(2, 2, 1, 2, method="newcomb")
        // is (-0.2725727851131816, 0.9054687942657693), which straddles 0.2125.
        let effect = try #require(k.effect)
        #expect(isClose(effect.low, -0.2725727851131816, rel: 1e-9) && isClose(effect.high, 0.9054687942657693, rel: 1e-9))
        #expect(k.targetReached == .cannotTell)
        #expect(d.targetReached == .noTarget && d.churners == 2)
        // Untreated: the control arms, and all of drop: C3, C4, =C5, C6, C7, C8.
        #expect(e.calibration?.customers == 6)
        let rows = EvaluationOutputs.evaluationRows(e)
        #expect(rows.count == 4 && rows[0].hasPrefix("2025-01-31,keep-strategic,2,2,3.00,3,0.500000,"), "\(rows[0])")
    }

    @Test("plan ids are matched to the ledger's by merging byte orders; an id the ledger lacks is counted out")
    func rowMap() {
        let (map, found) = Evaluator.rowMap(["b", "a", "zz", "c"], ["a", "b", "c", "d"])
        #expect(map == [1, 0, 3, -1] && found == [true, true, false, true])
    }
}
