import Testing
import Linalg
import RetainTestSupport
import Foundation

/// Known answers worked out by hand (shown in each test); tolerance 1e-12 relative,
/// since every operation here is a handful of exactly rounded flops.
@Suite("BLAS and LAPACK known answers")
struct LinalgTests {
    @Test("dsyrk: XᵀX of [[1,2],[3,4],[5,6]] is [[35,44],[44,56]]")
    func gram() throws {
        // 1+9+25 = 35; 2+12+30 = 44; 4+16+36 = 56.
        var c = Matrix(rows: 2, columns: 2)
        try BLAS.symmetricRankKUpdate(&c, rowMajor: [1, 2, 3, 4, 5, 6], rows: 3)
        c.symmetrizeFromLower()
        #expect(allClose(c.storage, [35, 44, 44, 56]))
    }

    @Test("dsyrk accumulates blocks: two blocks equal one block, beta scales")
    func gramInBlocks() throws {
        var c = Matrix(rows: 2, columns: 2)
        try BLAS.symmetricRankKUpdate(&c, rowMajor: [1, 2], rows: 1)
        try BLAS.symmetricRankKUpdate(&c, rowMajor: [3, 4, 5, 6], rows: 2)
        c.symmetrizeFromLower()
        #expect(allClose(c.storage, [35, 44, 44, 56]))
        // 0.5·(row [1,1]ᵀ[1,1]) + 2·C: [[71, 88.5],[88.5, 112.5]].
        try BLAS.symmetricRankKUpdate(&c, rowMajor: [1, 1], rows: 1, alpha: 0.5, beta: 2)
        c.symmetrizeFromLower()
        #expect(allClose(c.storage, [70.5, 88.5, 88.5, 112.5]))
    }

    @Test("dgemv: Aᵀx and Ax")
    func gemv() throws {
        // A = [[1,2],[3,4],[5,6]], x = [1,0,-1]: Aᵀx = [1-5, 2-6] = [-4, -4].
        var y = [0.0, 0.0]
        try BLAS.transposedTimes(rowMajor: [1, 2, 3, 4, 5, 6], rows: 3, vector: [1, 0, -1], into: &y)
        #expect(allClose(y, [-4, -4]))
        // A·[1, -1] = [-1, -1, -1].
        #expect(allClose(try BLAS.times(rowMajor: [1, 2, 3, 4, 5, 6], rows: 3, vector: [1, -1]), [-1, -1, -1]))
    }

    @Test("dimension mismatch is an error, not a crash")
    func mismatch() {
        var c = Matrix(rows: 2, columns: 2)
        #expect(throws: LinalgError.self) { try BLAS.symmetricRankKUpdate(&c, rowMajor: [1, 2, 3], rows: 2) }
    }

    @Test("Cholesky of the classic 3x3: L = [[2,0,0],[6,1,0],[-8,5,3]]")
    func cholesky3() throws {
        // A = [[4,12,-16],[12,37,-43],[-16,-43,98]]; L·Lᵀ reproduces A:
        // 2·2=4, 6·2=12, 36+1=37, -16, -48+5=-43, 64+25+9=98.
        let a = try Matrix([[4, 12, -16], [12, 37, -43], [-16, -43, 98]])
        let ch = try Cholesky(a)
        let expected = try Matrix([[2, 0, 0], [6, 1, 0], [-8, 5, 3]])
        #expect(allClose(ch.lower.storage, expected.storage))
        // det A = (2·1·3)² = 36.
        #expect(isClose(ch.logDeterminant, log(36.0)))
    }

    @Test("Cholesky solve and inverse of [[4,2],[2,3]]")
    func solve2() throws {
        // A⁻¹ = 1/8 [[3,-2],[-2,4]]; A⁻¹[2,1] = [ (6-2)/8, (-4+4)/8 ] = [0.5, 0].
        let ch = try Cholesky(try Matrix([[4, 2], [2, 3]]))
        #expect(allClose(try ch.solve([2, 1]), [0.5, 0]))
        let inv = try ch.inverse()
        #expect(allClose(inv.storage, [0.375, -0.25, -0.25, 0.5]))
    }

    @Test("an indefinite matrix names the failing minor")
    func indefinite() {
        // [[1,2],[2,1]] has determinant -3: the second leading minor is negative.
        #expect(throws: LinalgError.notPositiveDefinite(minor: 2)) { try Cholesky(try Matrix([[1, 2], [2, 1]])) }
        // Two identical columns: [[1,1],[1,1]] is singular.
        #expect(throws: LinalgError.notPositiveDefinite(minor: 2)) { try Cholesky(try Matrix([[1, 1], [1, 1]])) }
    }

    @Test("NaN never reaches LAPACK")
    func nonFinite() {
        #expect(throws: LinalgError.self) { try Cholesky(try Matrix([[Double.nan, 0], [0, 1]])) }
        #expect(throws: LinalgError.self) { try Cholesky(Matrix.identity(2)).solve([.infinity, 0]) }
    }
}

@Suite("Quantiles")
struct QuantileTests {
    @Test("selection gives what sorting gives (numpy's linear rule), ties and NaN included")
    func selectionEqualsSort() {
        var state: UInt64 = 5
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 40 % 1000) }
        var values = (0..<10_001).map { _ in next() / 7 }  // many ties
        values[17] = .nan
        values[4000] = .nan
        let clean = values.filter { !$0.isNaN }.sorted()
        for q in [0, 0.1, 0.25, 0.5, 0.8, 0.9, 0.999, 1] {
            #expect(Quantile.of(values, q) == Quantile.sorted(clean, q), "q = \(q)")
        }
        // Known answers (numpy.quantile([1, 2, 3, 4], q)): 1.75 at 0.25, 2.5 at 0.5, 3.7 at 0.9.
        #expect(abs(Quantile.of([4, 1, 3, 2], 0.25) - 1.75) < 1e-12)
        #expect(abs(Quantile.of([4, 1, .nan, 3, 2], 0.5) - 2.5) < 1e-12)
        #expect(abs(Quantile.of([4, 1, 3, 2], 0.9) - 3.7) < 1e-12)
        #expect(Quantile.of([.nan], 0.5).isNaN)
    }
}
