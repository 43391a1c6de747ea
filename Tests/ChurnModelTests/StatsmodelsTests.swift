import ChurnModel
import Foundation
import RetainTestSupport
import Testing

/// Against statsmodels on a fixed data set. The expected numbers were printed once by
/// `.venv/bin/python scripts/model_reference_data.py` (statsmodels 0.15.0
/// `Logit(y, add_constant(X)).fit(method="newton", tol=1e-12)`; scikit-learn 1.9.1
/// `roc_auc_score`), which builds the same rows with the same generator as `rows()` here.
@Suite("Logistic fit against statsmodels")
struct StatsmodelsTests {
    /// Knuth's MMIX LCG; u = top 53 bits / 2^53, exact in both languages.
    static func rows(_ n: Int = 400) -> (x1: [Double], x2: [Double], x3: [Double], y: [Double]) {
        var s: UInt64 = 42
        var x1: [Double] = [], x2: [Double] = [], x3: [Double] = [], y: [Double] = []
        for _ in 0..<n {
            var u: [Double] = []
            for _ in 0..<4 {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                u.append(Double(s >> 11) / Double(UInt64(1) << 53))
            }
            let a = u[0] * 10.0, b = Double(Int(u[1] * 6)), c = u[2] - 0.5
            x1.append(a); x2.append(b); x3.append(c)
            y.append(u[3] < (0.15 + 0.07 * a - 0.05 * b + 0.1) ? 1 : 0)
        }
        return (x1, x2, x3, y)
    }

    static let params = [-1.576000571738841, 0.4206816747352437, -0.2776453005915061, 0.7689533462176327]
    static let bse = [0.29512872764698894, 0.04828651921303691, 0.07093077444107942, 0.40009199406973356]
    static let llf = -217.03828579750407
    static let llnull = -277.1338592053146
    static let auc = 0.7989993746091306

    @Test func matchesStatsmodelsNewton() throws {
        let d = Self.rows()
        #expect(Int(d.y.reduce(0, +)) == 195)  // the same rows as the script's
        let m = try Trainer.train(table([("x1", d.x1), ("x2", d.x2), ("x3", d.x3), ("churned", d.y)]), settings: ModelSettings())
        // Tolerance: the 1e-6 relative; Newton to 1e-8 gives far better.
        #expect(allClose(m.fit.coefficients, Self.params, rel: 1e-6))
        #expect(allClose(m.fit.standardErrors, Self.bse, rel: 1e-6))
        #expect(isClose(m.fit.logLikelihood, Self.llf, rel: 1e-9))
        // statsmodels fits the intercept-only model iteratively (to ~1e-11 here); ours is the
        // closed form 195·log(195/400) + 205·log(205/400).
        #expect(isClose(m.fit.nullLogLikelihood, Self.llnull, rel: 1e-9))
        #expect(isClose(m.fit.nullLogLikelihood, 195 * log(195.0 / 400) + 205 * log(205.0 / 400), rel: 1e-13))
        let metrics = Metrics(predicted: m.fit.probabilities(m.design), observed: d.y)
        #expect(isClose(metrics.auc, Self.auc, rel: 1e-12))
    }

    @Test func aPenaltyShrinksTheSlopes() throws {
        let d = Self.rows()
        var s = ModelSettings()
        s.l2 = 50
        let m = try Trainer.train(table([("x1", d.x1), ("x2", d.x2), ("x3", d.x3), ("churned", d.y)]), settings: s)
        #expect(m.fit.l2 == 50)
        for j in 1...3 { #expect(abs(m.fit.coefficients[j]) < abs(Self.params[j])) }
    }

    @Test func balancedWeightsCentreTheIntercept() throws {
        let d = Self.rows()
        var s = ModelSettings()
        s.classWeight = .balanced
        let m = try Trainer.train(table([("x1", d.x1), ("churned", d.y)]), settings: s)
        // With balanced weights the weighted base rate is 1/2: mean prediction about 0.5.
        let p = m.fit.probabilities(m.design)
        let weightedMean = zip(p, d.y).reduce(0.0) { $0 + $1.0 * ($1.1 == 1 ? 400.0 / 390 : 400.0 / 410) } / 400
        #expect(isClose(weightedMean, 0.5, rel: 1e-6))
    }
}
