import Foundation
import Testing
@testable import Lifetime
import RetainTestSupport

/// Known answers on CDNOW's 2,357-customer sample and its published 39-week calibration
/// summary (datasets/cdnow/README.md): lifetimes 0.11's maximum-likelihood fits of that
/// summary, in weeks. Ours fit the same rows; α and γ compare in the summary's units.
@Suite("CDNOW known answers")
struct CDNOWTests {
    static func publishedSummary() throws -> (CustomerSummary, [Double], [Double]) {
        let text = try String(contentsOfFile: RepoPaths.path("datasets/cdnow/cdnow_sample_summary.csv"), encoding: .utf8)
        var x: [Int32] = [], tx: [Double] = [], T: [Double] = [], z: [Double] = []
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",").compactMap { Double($0) }
            try #require(f.count == 5, "\(line)")
            x.append(Int32(f[1])); tx.append(f[2]); T.append(f[3]); z.append(f[4])
        }
        let repeaters = x.indices.filter { x[$0] > 0 }
        return (CustomerSummary(x: x, tx: tx, T: T), repeaters.map { Double(x[$0]) }, repeaters.map { z[$0] })
    }

    @Test("BG/NBD on the published summary: lifetimes' r, alpha, a, b within 1e-4 relative; the published log-likelihood")
    func bgnbd() throws {
        let (summary, _, _) = try Self.publishedSummary()
        #expect(summary.rows == 2357)
        let fit = try BGNBD.fit(summary)
        let m = fit.model
        #expect(fit.converged && fit.warnings.isEmpty, "\(fit.warnings)")
        // lifetimes 0.11 (datasets/cdnow/README.md).
        #expect(isClose(m.r, 0.242593, rel: 1e-4), "r \(m.r)")
        #expect(isClose(m.alpha, 4.413532, rel: 1e-4), "alpha \(m.alpha)")
        #expect(isClose(m.a, 0.792886, rel: 1e-4), "a \(m.a)")
        #expect(isClose(m.b, 2.425752, rel: 1e-4), "b \(m.b)")
        // Fader, Hardie & Lee (2005): -9582.4.
        #expect(isClose(fit.logLikelihood, -9582.4, rel: 0, abs: 0.05), "log-likelihood \(fit.logLikelihood)")
        #expect(fit.standardErrors?.count == 4 && fit.standardErrors?.allSatisfy { $0 > 0 && $0.isFinite } == true)
        // Expected purchases in the next 39 weeks of a customer with x = 2, tₓ = 30.43, T = 38.86: 1.2259 (README).
        #expect(isClose(m.expectedPurchases(39, x: 2, tx: 30.43, T: 38.86), 1.2259, rel: 0, abs: 5e-5))
    }

    @Test("Gamma-Gamma on the 946 repeat customers: lifetimes' p, q, gamma within 1e-4 relative")
    func gammaGamma() throws {
        let (_, x, z) = try Self.publishedSummary()
        #expect(x.count == 946)
        let fit = try GammaGamma.fit(x: x, meanSpend: z)
        #expect(fit.converged, "\(fit.warnings)")
        #expect(isClose(fit.model.p, 6.248802, rel: 1e-4), "p \(fit.model.p)")
        #expect(isClose(fit.model.q, 3.744588, rel: 1e-4), "q \(fit.model.q)")
        #expect(isClose(fit.model.gamma, 15.447748, rel: 1e-4), "gamma \(fit.model.gamma)")
    }
}

@Suite("Likelihood gradients")
struct GradientTests {
    /// Central differences with step h = 1e-6 in θ. Truncation is about h² times the third
    /// derivative; rounding is about ε·(the size of the sum's terms)/h, and the grouped sums
    /// add terms of up to ~1e5 that cancel. The analytic gradient and Hessian must agree to
    /// 1e-5 relative or 1e-9·|ℓ| absolute: a wrong term is off by far more.
    static func check(_ f: ([Double]) -> MaximumLikelihood.Evaluation, at theta: [Double]) {
        let e = f(theta), k = theta.count
        for j in theta.indices {
            var up = theta, down = theta
            up[j] += 1e-6; down[j] -= 1e-6
            let (fu, fd) = (f(up), f(down))
            let numeric = (fu.value - fd.value) / 2e-6
            #expect(isClose(e.gradient[j], numeric, rel: 1e-5, abs: 1e-9 * abs(e.value)), "θ[\(j)]: analytic \(e.gradient[j]), numeric \(numeric)")
            // The Hessian's column j against the difference of the analytic gradients (same
            // error budget: the gradient is a sum of the size of ℓ).
            for i in 0..<k {
                let numericH = (fu.gradient[i] - fd.gradient[i]) / 2e-6
                #expect(isClose(e.hessian[i * k + j], numericH, rel: 1e-5, abs: 1e-9 * abs(e.value)), "H[\(i), \(j)]: analytic \(e.hessian[i * k + j]), numeric \(numericH)")
            }
        }
    }

    @Test("BG/NBD and Gamma-Gamma analytic gradients and Hessians equal finite differences, at and away from the optimum")
    func finiteDifferences() throws {
        let (summary, x, z) = try CDNOWTests.publishedSummary()
        for theta in [[log(0.2426), log(4.4135), log(0.7929), log(2.4258)], [0.3, 1.1, -0.4, 2.0], [-2.0, 3.0, 1.5, -1.0]] {
            Self.check({ BGNBD.logLikelihood(summary, theta: $0) }, at: theta)
        }
        for theta in [[log(6.25), log(3.74), log(15.45)], [0.1, 2.0, 1.0]] {
            let data = x.withUnsafeBufferPointer { xs in z.withUnsafeBufferPointer { GammaGamma.Data(x: xs, meanSpend: $0) } }
            Self.check({ GammaGamma.logLikelihood(data, theta: $0) }, at: theta)
        }
    }

    @Test("in days: alpha is 7 times the weekly alpha, the shapes are unchanged, predictions are the same")
    func daysAndWeeks() throws {
        let (weeks, _, _) = try CDNOWTests.publishedSummary()
        let days = CustomerSummary(x: weeks.x, tx: weeks.tx.map { $0 * 7 }, T: weeks.T.map { $0 * 7 })
        let w = try BGNBD.fit(weeks).model, d = try BGNBD.fit(days).model
        #expect(isClose(d.alpha, 7 * w.alpha, rel: 1e-6) && isClose(d.r, w.r, rel: 1e-6) && isClose(d.a, w.a, rel: 1e-6) && isClose(d.b, w.b, rel: 1e-6))
        #expect(isClose(d.expectedPurchases(39 * 7, x: 2, tx: 30.43 * 7, T: 38.86 * 7), w.expectedPurchases(39, x: 2, tx: 30.43, T: 38.86), rel: 1e-6))
        #expect(isClose(d.pAlive(x: 2, tx: 30.43 * 7, T: 38.86 * 7), w.pAlive(x: 2, tx: 30.43, T: 38.86), rel: 1e-6))
    }
}
