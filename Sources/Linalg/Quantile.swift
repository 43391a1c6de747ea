/// Quantiles as numpy's default (linear interpolation between order statistics, R type 7).
public enum Quantile {
    /// The q-quantile (0...1) of ascending `values` (not empty).
    public static func sorted(_ values: [Double], _ q: Double) -> Double {
        let h = Double(values.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, values.count - 1)
        return values[lo] + (h - Double(lo)) * (values[hi] - values[lo])
    }
}

extension Quantile {
    /// The q-quantile of unsorted `values`, NaN left out (NaN when none is left).
    public static func of(_ values: [Double], _ q: Double) -> Double {
        let v = values.filter { !$0.isNaN }.sorted()
        return v.isEmpty ? .nan : sorted(v, q)
    }
}
