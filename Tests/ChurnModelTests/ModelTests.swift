import ChurnModel
import Foundation
import RetainIO
import RetainTestSupport
import Testing

/// A snapshot table from columns (customer ids c1, c2, ...).
func table(_ columns: [(String, [Double])], path: String = "test.csv") -> CSVTable {
    let n = columns.first?.1.count ?? 0
    var bytes: [UInt8] = [], ends: [Int] = []
    for i in 0..<n { bytes += Array("c\(i + 1)".utf8); ends.append(bytes.count) }
    return CSVTable(path: path, keyName: "customer_id", names: columns.map(\.0), columns: columns.map(\.1),
                    keyBytes: bytes, keyEnds: ends)
}

@Suite("Logistic fit: known answers")
struct KnownAnswerTests {
    /// One binary feature has a closed-form fit: with churn shares p₀ (x = 0) and p₁ (x = 1),
    /// β₀ = logit p₀, β₁ = logit p₁ - logit p₀, Var β₀ = 1/(n₀p₀(1-p₀)),
    /// Var β₁ = Var β₀ + 1/(n₁p₁(1-p₁)), ℓ = Σ nₖ(pₖ log pₖ + (1-pₖ) log(1-pₖ)).
    /// Here n₀ = n₁ = 4, p₀ = 1/4, p₁ = 3/4: β₀ = -log 3, β₁ = 2 log 3, SE(β₀) = √(4/3),
    /// SE(β₁) = √(8/3), ℓ = 8(¼ log ¼ + ¾ log ¾). Worked by hand.
    static let x: [Double] = [0, 0, 0, 0, 1, 1, 1, 1]
    static let y: [Double] = [1, 0, 0, 0, 1, 1, 1, 0]

    @Test func binaryFeatureClosedForm() throws {
        let m = try Trainer.train(table([("x", Self.x), ("churned", Self.y)]), settings: ModelSettings())
        let f = m.fit
        #expect(f.converged)
        #expect(allClose(f.coefficients, [-log(3), 2 * log(3)], rel: 1e-9))
        #expect(allClose(f.standardErrors, [(4.0 / 3).squareRoot(), (8.0 / 3).squareRoot()], rel: 1e-9))
        #expect(isClose(f.logLikelihood, 8 * (0.25 * log(0.25) + 0.75 * log(0.75)), rel: 1e-12))
        #expect(isClose(f.nullLogLikelihood, 8 * log(0.5), rel: 1e-12))
        #expect(m.warnings.isEmpty)
        // z and p of β₁: z = 2 log 3 / √(8/3); p = erfc(|z|/√2).
        let z = 2 * log(3) / (8.0 / 3).squareRoot()
        #expect(isClose(f.z[1], z, rel: 1e-9))
        #expect(isClose(f.pValues[1], erfc(z / 2.0.squareRoot()), rel: 1e-9))
    }

    @Test func constantColumnIsNamedAndLeftOut() throws {
        let m = try Trainer.train(table([("x", Self.x), ("flat", Array(repeating: 7, count: 8)), ("churned", Self.y)]),
                                  settings: ModelSettings())
        #expect(m.terms.map(\.name) == ["x"])
        #expect(m.dropped.map(\.term) == ["flat"])
        #expect(m.warnings.count == 1 && m.warnings[0].contains("flat"))
        #expect(allClose(m.fit.coefficients, [-log(3), 2 * log(3)], rel: 1e-9))
    }

    @Test func identicalColumnsKeepTheFirst() throws {
        let m = try Trainer.train(table([("x", Self.x), ("x_copy", Self.x), ("churned", Self.y)]), settings: ModelSettings())
        #expect(m.terms.map(\.name) == ["x"])
        #expect(m.dropped.first?.term == "x_copy")
        #expect(m.warnings.first?.contains("closest: x") == true)
        #expect(allClose(m.fit.coefficients, [-log(3), 2 * log(3)], rel: 1e-9))
    }

    @Test func linearCombinationIsFound() throws {
        let a: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [Double] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
        let y: [Double] = [0, 1, 0, 1, 0, 1, 1, 0, 1, 0]
        let m = try Trainer.train(table([("a", a), ("b", b), ("sum", zip(a, b).map { 2 * $0 - $1 + 1 }), ("churned", y)]),
                                  settings: ModelSettings())
        #expect(m.terms.map(\.name) == ["a", "b"])
        #expect(m.dropped.map(\.term) == ["sum"])
    }

    @Test func perfectSeparationIsFittedWithARidge() throws {
        let x: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        let y: [Double] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        let m = try Trainer.train(table([("x", x), ("churned", y)]), settings: ModelSettings())
        #expect(m.warnings.count == 1)
        #expect(m.warnings[0].contains("separated by x"))
        #expect(m.fit.l2 == 1)
        #expect(m.fit.converged)
        #expect(m.fit.coefficients.allSatisfy { $0.isFinite })
        #expect(m.fit.coefficients[1] > 0)
        // The ridge keeps the standardised slope moderate, and the order of risk right.
        #expect(abs(m.fit.standardised[1]) < Logistic.runawayLimit)
        let p = m.fit.probabilities(m.design)
        #expect(p[9] > p[0])
    }

    @Test func quasiSeparationIsFittedWithARidge() throws {
        // x ≤ 5 → stayed, x ≥ 5 → churned, one tie at 5 on each side.
        let x: [Double] = [1, 2, 3, 4, 5, 5, 6, 7, 8, 9]
        let y: [Double] = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
        let m = try Trainer.train(table([("x", x), ("churned", y)]), settings: ModelSettings())
        #expect(m.warnings.first?.contains("separated") == true)
        #expect(m.fit.coefficients.allSatisfy { $0.isFinite })
    }

    @Test func noChurnersIsAnErrorThatSaysSo() {
        let t = table([("x", [1, 2, 3, 4]), ("churned", [0, 0, 0, 0])])
        #expect { try Trainer.train(t, settings: ModelSettings()) } throws: { e in
            guard let e = e as? ChurnModelError, case .oneClass(0, 4, _) = e else { return false }
            return e.description.contains("none of the 4 customers churned")
        }
        let all = table([("x", [1, 2, 3, 4]), ("churned", [1, 1, 1, 1])])
        #expect { try Trainer.train(all, settings: ModelSettings()) } throws: { e in
            guard let e = e as? ChurnModelError, case .oneClass(4, 4, _) = e else { return false }
            return true
        }
    }

    @Test func fewerRowsThanTermsIsAnError() {
        let t = table([("a", [1, 2, 3]), ("b", [2, 7, 1]), ("churned", [0, 1, 0])])
        #expect { try Trainer.train(t, settings: ModelSettings()) } throws: { e in
            guard let e = e as? ChurnModelError, case .tooFewRows(3, 3, _) = e else { return false }
            return true
        }
    }

    @Test func infiniteValuesNeverReachBLAS() {
        let t = table([("a", [1, .infinity, 3, 4]), ("churned", [0, 1, 0, 1])])
        #expect { try Trainer.train(t, settings: ModelSettings()) } throws: { e in
            guard let e = e as? ChurnModelError, case .nonFinite("a", "c2", _) = e else { return false }
            return true
        }
    }
}

@Suite("Design: transforms, empty values")
struct DesignTests {
    @Test func emptyValuesAreFilledWithTheMedianAndFlaggedOnce() throws {
        // 30 customers, every third (10) empty in both columns: one shared indicator.
        let gap: [Double] = (0..<30).map { $0 % 3 == 1 ? .nan : Double($0) }
        let ratio: [Double] = gap.map { $0 * $0 }
        let y: [Double] = (0..<30).map { Double($0 % 2) }
        let t = table([("gap", gap), ("ratio", ratio), ("churned", y)])
        let (terms, leftOut) = try DesignMatrix.recipes(for: t, settings: ModelSettings())
        #expect(leftOut.isEmpty)
        #expect(terms.map(\.name) == ["gap", "ratio", "gap_missing"])
        #expect(terms[2].features == ["gap", "ratio"])
        // Present: 0, 2, 3, 5, 6, 8, 9, 11, 12, 14 | 15, ... 29 (20 values): median (14 + 15) / 2.
        #expect(terms[0].fill == 14.5)
        #expect(terms[1].fill == 210.5)  // (14² + 15²) / 2
        let d = try DesignMatrix.build(t, terms: terms)
        #expect(d.column(0)[1] == 14.5 && d.column(0)[2] == 2)
        #expect(d.column(2) == (0..<30).map { $0 % 3 == 1 ? 1 : 0 })
    }

    @Test func aFewEmptyValuesGetNoIndicator() throws {
        // 2 of 30 empty (under the minimum of 10): filled, no indicator that would only
        // separate two customers.
        let gap: [Double] = (0..<30).map { $0 == 4 || $0 == 9 ? .nan : Double($0) }
        let t = table([("gap", gap), ("churned", (0..<30).map { Double($0 % 2) })])
        let (terms, _) = try DesignMatrix.recipes(for: t, settings: ModelSettings())
        #expect(terms.map(\.name) == ["gap"])
        #expect(terms[0].fill == 15.5)  // median of 0...29 without 4 and 9
    }

    @Test("an empty value in a snapshot scored later, where the fitting data had none, gets the fill")
    func emptyOnlyWhenScored() throws {
        // Fitted on 0...29 (no empty value): the median 14.5 is the fill. Scored on a
        // snapshot where one customer's value does not exist (spend netting to zero leaves
        // margin_rate empty): that customer gets 14.5, not an error.
        let fitting = table([("margin", (0..<30).map(Double.init)), ("churned", (0..<30).map { Double($0 % 2) })])
        let (terms, _) = try DesignMatrix.recipes(for: fitting, settings: ModelSettings())
        #expect(terms.map(\.name) == ["margin"])
        #expect(terms[0].fill == 14.5)
        let scored = try DesignMatrix.build(table([("margin", [3, .nan, 40])]), terms: terms)
        #expect(scored.column(0) == [3, 14.5, 40])
    }

    @Test("a model without a fill for an empty value is refused, naming the customer and the retrain")
    func emptyWithoutFillIsRefused() throws {
        let terms = [TermRecipe(name: "margin", kind: .value, features: ["margin"])]
        #expect {
            try DesignMatrix.build(table([("margin", [3, .nan])]), terms: terms)
        } throws: { e in
            "\(e)".contains("margin is empty for customer c2") && "\(e)".contains("--from train")
        }
    }

    @Test func log1pAndClipAtQuantiles() throws {
        var s = ModelSettings()
        s.transforms = ["money": TermTransform(log1p: true, clip: true)]
        s.clipLower = 0.1; s.clipUpper = 0.9
        let money: [Double] = [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, -1]
        let t = table([("money", money), ("churned", [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1])])
        let (terms, _) = try DesignMatrix.recipes(for: t, settings: s)
        // log1p of 2^k - 1 is k·log 2; -1 maps to -log 2. Sorted: -log2, 0, log2, ..., 9 log2.
        // numpy quantile (type 7) of 11 values: 0.1 → the 2nd value (0), 0.9 → the 10th (8 log 2).
        #expect(isClose(terms[0].clipLower ?? .nan, 0, abs: 1e-15))
        // Logs and bounds are rounded to 9 decimals (so training_matrix.csv holds them exactly).
        #expect(terms[0].clipUpper == 5.545177444)  // 8 log 2 = 5.5451774444795...
        let d = try DesignMatrix.build(t, terms: terms)
        #expect(d.column(0)[9] == 5.545177444)   // 511 clipped
        #expect(d.column(0)[3] == 2.079441542)   // log1p(7) = 3 log 2 = 2.0794415416798...
        #expect(d.column(0)[10] == 0)                               // -1 → -log 2 → clipped to 0
        #expect(TermTransform(spec: "log1p+clip") == TermTransform(log1p: true, clip: true))

        // An empty value of a log feature is filled with the median of the logs (not the
        // log of it): 30 customers, 10 empty, present 2^k - 1 for k = 1...20 → logs k·log 2,
        // median (10 + 11)/2 · log 2 = 10.5 log 2 = 7.2779...
        var withGaps: [Double] = (1...20).map { pow(2, Double($0)) - 1 }
        withGaps += Array(repeating: .nan, count: 10)
        var s2 = ModelSettings()
        s2.transforms = ["money": TermTransform(log1p: true)]
        let t2 = table([("money", withGaps), ("churned", (0..<30).map { Double($0 % 2) })])
        let (terms2, _) = try DesignMatrix.recipes(for: t2, settings: s2)
        #expect(isClose(terms2[0].fill ?? .nan, 10.5 * log(2), abs: 1e-9))
        #expect(TermTransform(spec: "sqrt") == nil)
    }

    /// A design over many blocks of rows and both cores, its logs read from one shared
    /// `SnapshotColumns`, equals each term's `value` applied cell by cell.
    @Test func blockedDesignEqualsValueByValue() throws {
        let n = 100_003  // 13 blocks of rows, the last one short
        let money: [Double] = (0..<n).map { i in i % 7 == 0 ? .nan : Double(i % 1000) - 100.25 }
        let count: [Double] = (0..<n).map { Double($0 % 13) }
        let y: [Double] = (0..<n).map { Double(($0 / 3) % 2) }
        var s = ModelSettings()
        s.transforms = ["money": TermTransform(log1p: true, clip: true), "count": TermTransform(log1p: true)]
        let columns = SnapshotColumns(table([("money", money), ("count", count), ("churned", y)]))
        let (terms, _) = try DesignMatrix.recipes(for: columns, settings: s)
        #expect(terms.map(\.name) == ["money", "count", "money_missing"])
        let d = try DesignMatrix.build(columns, terms: terms)
        let raw = [money, count, money]
        var mismatches = 0
        let cells = d.values
        for i in 0..<n { for j in 0..<3 where cells[i * 3 + j] != terms[j].value(raw[j][i]) || d[row: i, term: j] != cells[i * 3 + j] { mismatches += 1 } }
        #expect(mismatches == 0)
        // The shared logs serve a second build with other bounds exactly as fresh ones do.
        var other = terms
        other[0].clipUpper = 1
        let again = try DesignMatrix.build(columns, terms: other)
        let fresh = try DesignMatrix.build(table([("money", money), ("count", count), ("churned", y)]), terms: other)
        #expect(firstDifference(again.values, fresh.values) == nil)
    }

    /// The first non-finite cell in row order is the one named, whichever block finds it.
    @Test func theFirstInfiniteValueIsNamed() throws {
        var x: [Double] = (0..<100_000).map { Double($0 % 10) }
        x[90_000] = .infinity
        x[50_000] = -.infinity
        let t = table([("x", x), ("churned", (0..<100_000).map { Double($0 % 2) })])
        #expect { try DesignMatrix.build(t, terms: [TermRecipe(name: "x", kind: .value, features: ["x"])]) } throws: { e in
            (e as? ChurnModelError)?.description.contains("customer c50001,") == true
        }
    }

    @Test func aModelRefusesASnapshotWithoutItsTerms() throws {
        let m = try Trainer.train(table([("x", KnownAnswerTests.x), ("churned", KnownAnswerTests.y)]), settings: ModelSettings())
        let other = table([("z", [1, 2])], path: "scoring.csv")
        #expect { try m.probabilities(other) } throws: { e in
            (e as? ChurnModelError)?.description.contains("scoring.csv has no column x") == true
        }
    }
}

@Suite("Metrics")
struct MetricsTests {
    /// scikit-learn's documented example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75.
    @Test func aucOfTheScikitLearnExample() {
        let m = Metrics(predicted: [0.1, 0.4, 0.35, 0.8], observed: [0, 0, 1, 1])
        #expect(isClose(m.auc, 0.75))
        // log loss by its definition: mean of -log 0.9, -log 0.6, -log 0.35, -log 0.8.
        #expect(isClose(m.logLoss, -(log(0.9) + log(0.6) + log(0.35) + log(0.8)) / 4, rel: 1e-14))
        #expect(isClose(m.brier, (0.01 + 0.16 + 0.4225 + 0.04) / 4, rel: 1e-14))
    }

    @Test func tiesCountHalf() {
        // Every score equal: AUC 0.5 exactly.
        #expect(isClose(Metrics(predicted: [0.3, 0.3, 0.3, 0.3], observed: [0, 1, 0, 1]).auc, 0.5))
        // One tie between a churner and a stayer among otherwise perfect ranks: 3.5 of 4 pairs.
        #expect(isClose(Metrics(predicted: [0.1, 0.5, 0.5, 0.9], observed: [0, 0, 1, 1]).auc, 0.875))
    }

    @Test func liftAndCalibration() {
        // 20 customers, predictions rising; the top two (the top decile) both churned, 5 churned in all.
        let p = (1...20).map { Double($0) / 21 }
        var y = [Double](repeating: 0, count: 20)
        for i in [3, 10, 15, 18, 19] { y[i] = 1 }
        let m = Metrics(predicted: p, observed: y)
        #expect(isClose(m.topDecileLift, (2.0 / 2) / (5.0 / 20)))
        #expect(m.calibration.count == 10)
        #expect(m.calibration.map(\.customers).reduce(0, +) == 20)
        #expect(isClose(m.calibration[9].observedRate, 1))
        #expect(isClose(m.calibration[0].meanPredicted, (1.0 / 21 + 2.0 / 21) / 2))
    }
}

@Suite("Extreme values")
struct ExtremeValueTests {
    /// A ratio whose denominator nears zero (margin on a net amount of cents) puts one
    /// customer a thousand standard deviations out; the fit must survive and say which
    /// column and what to do.
    @Test func anOutlierColumnIsNamedWithItsFix() throws {
        let n = 5000
        let d = StatsmodelsTests.rows(n)
        var ratio = d.x3.map { 0.3 + $0 / 10 }
        ratio[17] = -4.0e6  // (net - cost) / net with net = 0.01
        let m = try Trainer.train(table([("x1", d.x1), ("x2", d.x2), ("margin_rate", ratio), ("churned", d.y)]), settings: ModelSettings())
        #expect(m.fit.coefficients.allSatisfy { $0.isFinite })
        // Here the outlier alone separates (its customer churned): either way, the warning
        // names the column and the fix.
        #expect(m.warnings.count == 1)
        let w = m.warnings.first ?? ""
        #expect(w.contains("margin_rate has a value") && w.contains("model.transforms.margin_rate = \"clip\""), "\(w)")
        // Clipped, the same data fits without any warning.
        var s = ModelSettings()
        s.transforms = ["margin_rate": TermTransform(clip: true)]
        let clipped = try Trainer.train(table([("x1", d.x1), ("x2", d.x2), ("margin_rate", ratio), ("churned", d.y)]), settings: s)
        #expect(clipped.warnings.isEmpty && clipped.fit.l2 == 0)
    }
}

@Suite("A snapshot read into mapped columns")
struct MappedSnapshotTests {
    /// The train stage reads its snapshots into mapped scratch columns, its logged columns
    /// made while reading: the fit, its probabilities and its metrics are bit for bit those
    /// of the same file held in memory. Blocks of 4096 bytes cut the file in hundreds of places.
    @Test("fit, probabilities and metrics equal those of the table in memory, to the bit")
    func sameFit() throws {
        let dir = TemporaryFolder()
        let n = 30_011
        var csv = "customer_id,money,count,flag,churned\n"
        for i in 0..<n {
            let money = i % 11 == 0 ? "" : String(Double((i * 37) % 5000) / 7)
            csv += "c\(i),\(money),\(i % 13),\((i / 5) % 2),\(((i * 7) % 10) < 3 ? 1 : 0)\n"
        }
        let path = try dir.write("training.csv", csv)
        var s = ModelSettings()
        s.transforms = ["money": TermTransform(log1p: true, clip: true), "count": TermTransform(log1p: true)]
        let held = SnapshotColumns(try CSVTable.read(path))
        let mapped = try SnapshotColumns.mapping(path, scratch: dir.path, settings: s)
        #expect(mapped.count == n && mapped.names == held.names && mapped.key(n - 1) == "c\(n - 1)")
        let a = try Trainer.train(held, settings: s), b = try Trainer.train(mapped, settings: s)
        #expect(a.terms.map(\.name) == b.terms.map(\.name))
        #expect(firstDifference((a.fit.coefficients + a.fit.standardErrors).map(\.bitPattern),
                                (b.fit.coefficients + b.fit.standardErrors).map(\.bitPattern)) == nil)
        let pa = a.fit.probabilities(a.design), pb = b.fit.probabilities(b.design)
        #expect(firstDifference(pa.map(\.bitPattern), pb.map(\.bitPattern)) == nil)
        let labels = try #require(mapped.column("churned")), heldLabels = try #require(held.column("churned"))
        #expect(Metrics(predicted: pb, observed: labels) == Metrics(predicted: pa, observed: heldLabels))
    }
}
