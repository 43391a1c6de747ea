import Foundation
import Linalg

/// What the report draws of each group without reading `customers.csv` back: how churn
/// probability and CLV spread over the customers of each group, and the customers with the
/// most at stake. Made in one pass over the placements (the segment stage has them in memory).
public struct GroupProfile: Sendable {
    /// Customers with a value in [low, high) (the last churn bin includes 1; `high` nil: and above).
    public struct Bin: Sendable, Equatable {
        /// A segment's name, or `all` for every scored customer.
        public var segment: String
        /// `churn_probability` (0 to 1) or `clv` (currency over the value horizon).
        public var measure: String
        public var low: Double
        public var high: Double?
        public var customers: Int
    }

    /// One of a group's customers with the most at stake.
    public struct AtRisk: Sendable, Equatable {
        public var segment: Segment
        /// 1 = the most at stake in its group.
        public var rank: Int
        /// Row in the scored table.
        public var index: Int
        public var churnProbability: Double
        public var revenueAtRisk: Double
        public var clvAtRisk: Double?
    }

    public static let churnBins = 20
    public static let clvBins = 20
    public var bins: [Bin]
    public var atRisk: [AtRisk]

    /// `churn` and `clv` per scored customer, in `result.placements`' order. Churn in 20
    /// bins of 0.05, per group. CLV (when the value stage ran) in 20 equal bins from 0 to its
    /// 99th percentile rounded up to a round number, for all customers and per group, the
    /// customers above it in one open bin. Most at stake: the `top` of each group by CLV at
    /// risk (p·CLV), or by revenue at risk without a CLV; ties go to the earlier row.
    public static func make(_ result: Segmenter.Result, churn: [Double], clv: [Double]?, top: Int = 10) -> GroupProfile {
        let segments = Segment.allCases
        let n = min(result.placements.count, churn.count)
        var churnCounts = [[Int]](repeating: [Int](repeating: 0, count: churnBins), count: segments.count)
        let upper: Double? = clv.map { values in
            let q = Quantile.of(values.filter(\.isFinite), 0.99)
            guard q.isFinite, q > 0 else { return 1 }
            let step = pow(10, floor(log10(q)))
            return ([1, 2, 2.5, 5, 10].map { $0 * step }.first { $0 >= q } ?? 10 * step)
        }
        var clvCounts = [[Int]](repeating: [Int](repeating: 0, count: clvBins + 1), count: segments.count)
        var best = [[(stake: Double, index: Int)]](repeating: [], count: segments.count)
        for i in 0..<n {
            let s = segments.firstIndex(of: result.placements[i].segment) ?? 0
            let p = churn[i]
            if p.isFinite { churnCounts[s][min(churnBins - 1, max(0, Int(p * Double(churnBins))))] += 1 }
            var stake = result.placements[i].value.revenueAtRisk
            if let clv, let upper, i < clv.count, clv[i].isFinite {
                let v = clv[i]
                clvCounts[s][v >= upper ? clvBins : max(0, Int(v / upper * Double(clvBins)))] += 1
                stake = p * v
            }
            guard stake.isFinite else { continue }
            // Kept in descending order of stake; a tie keeps the earlier row first.
            if best[s].count < top || stake > (best[s].last?.stake ?? -.infinity) {
                let at = best[s].firstIndex { stake > $0.stake } ?? best[s].count
                best[s].insert((stake, i), at: at)
                if best[s].count > top { best[s].removeLast() }
            }
        }
        var bins: [Bin] = []
        for (s, seg) in segments.enumerated() {
            for b in 0..<churnBins {
                bins.append(Bin(segment: seg.rawValue, measure: "churn_probability", low: Double(b) / Double(churnBins),
                                high: Double(b + 1) / Double(churnBins), customers: churnCounts[s][b]))
            }
        }
        if let upper {
            let width = upper / Double(clvBins)
            for (name, counts) in [("all", (0...clvBins).map { b in clvCounts.reduce(0) { $0 + $1[b] } })]
                + segments.enumerated().map({ ($0.element.rawValue, clvCounts[$0.offset]) }) {
                for b in 0...clvBins {
                    bins.append(Bin(segment: name, measure: "clv", low: Double(b) * width, high: b == clvBins ? nil : Double(b + 1) * width,
                                    customers: counts[b]))
                }
            }
        }
        var atRisk: [AtRisk] = []
        for (s, seg) in segments.enumerated() {
            for (k, e) in best[s].enumerated() {
                let v = result.placements[e.index].value
                atRisk.append(AtRisk(segment: seg, rank: k + 1, index: e.index, churnProbability: churn[e.index], revenueAtRisk: v.revenueAtRisk,
                                     clvAtRisk: clv.map { churn[e.index] * $0[e.index] }))
            }
        }
        return GroupProfile(bins: bins, atRisk: atRisk)
    }
}
