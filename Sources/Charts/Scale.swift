import Foundation
import RetainIO

/// How a chart shows a value in its labels and tooltips.
public enum ValueStyle: Sendable, Equatable {
    /// Whole numbers with thousands separators: `12,345`.
    case count
    /// Fixed decimals: `0.714`.
    case decimal(Int)
    /// A share from 0 to 1 shown in percent: 0.125 -> `12.5%`.
    case share(Int)
    /// A value already in percent: 88.73 -> `88.7%`.
    case percent(Int)

    public func format(_ v: Double) -> String {
        guard v.isFinite else { return "n/a" }
        switch self {
        case .count: return MessageText.grouped(Int(v.rounded()))
        case .decimal(let d): return Self.groupedFixed(v, d)
        case .share(let d): return MessageText.fixed(100 * v, d) + "%"
        case .percent(let d): return MessageText.fixed(v, d) + "%"
        }
    }

    /// A tick label: as many decimals as the tick step needs, thousands separated.
    func tick(_ v: Double, step: Double) -> String {
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        switch self {
        case .share: return MessageText.fixed(100 * v, max(0, decimals - 2)) + "%"
        case .percent: return MessageText.fixed(v, decimals) + "%"
        case .count, .decimal: return Self.groupedFixed(v, decimals)
        }
    }

    static func groupedFixed(_ v: Double, _ d: Int) -> String {
        let text = MessageText.fixed(abs(v), d)
        let whole = text.prefix { $0 != "." }, rest = text.dropFirst(whole.count)
        let grouped = MessageText.grouped(Int(whole) ?? 0) + rest
        return v < 0 && text.contains(where: { $0 != "0" && $0 != "." }) ? "-" + grouped : grouped
    }
}

/// A linear map from a data domain onto a pixel range, with round tick values.
struct LinearScale {
    let lo: Double, hi: Double
    let from: Double, to: Double
    let step: Double

    /// A domain widened to round ticks, about `ticks` of them, always including `lo` and `hi`.
    /// A single value (lo == hi) is widened by one on each side (or to 0...1 for 0).
    init(lo rawLo: Double, hi rawHi: Double, from: Double, to: Double, ticks: Int = 5, nice: Bool = true) {
        var a = rawLo.isFinite ? rawLo : 0, b = rawHi.isFinite ? rawHi : 1
        if a > b { swap(&a, &b) }
        if a == b { if a == 0 { b = 1 } else { a -= abs(a) * 0.5; b += abs(b) * 0.5 } }
        let step = Self.niceStep((b - a) / Double(max(ticks, 1)))
        if nice {
            a = (a / step).rounded(.down) * step
            b = (b / step).rounded(.up) * step
        }
        self.lo = a; self.hi = b; self.from = from; self.to = to; self.step = step
    }

    /// 1, 2, 2.5 or 5 times a power of ten: the smallest not below `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, floor(log10(raw)))
        for m in [1, 2, 2.5, 5, 10] where m * p >= raw * (1 - 1e-9) { return m * p }
        return 10 * p
    }

    func callAsFunction(_ v: Double) -> Double {
        hi == lo ? from : from + (to - from) * (v - lo) / (hi - lo)
    }

    /// The tick values from lo to hi.
    var ticks: [Double] {
        var out: [Double] = []
        var k = 0.0
        while lo + k * step <= hi + step * 1e-9, out.count < 50 {
            let v = lo + k * step
            out.append(abs(v) < step * 1e-9 ? 0 : v)
            k += 1
        }
        return out
    }
}

/// Colours: the Okabe-Ito palette (told apart by people with the common colour-vision
/// deficiencies), and for lines also a dash pattern each, so print in grey still separates them.
enum Palette {
    static let series = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    static let dashes: [String?] = [nil, "6 3", "2 2", "8 3 2 3", "1 3", "10 4", "4 4"]
    static func colour(_ i: Int) -> String { series[i % series.count] }
    static func dash(_ i: Int) -> String? { dashes[i % dashes.count] }

    /// A sequential blue from `#f7fbff` (0) to `#08306b` (1), for heatmaps.
    static func sequential(_ t: Double) -> String {
        let u = min(max(t.isFinite ? t : 0, 0), 1)
        let a = (0xF7, 0xFB, 0xFF), b = (0x08, 0x30, 0x6B)
        func mix(_ x: Int, _ y: Int) -> Int { Int((Double(x) + (Double(y) - Double(x)) * u).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}
