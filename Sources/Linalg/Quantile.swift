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
    /// The q-quantile of unsorted `values`, NaN left out (NaN when none is left); by
    /// selection (`selecting`), the value a sort would give.
    public static func of(_ values: [Double], _ q: Double) -> Double {
        var v = values.filter { !$0.isNaN }
        return v.isEmpty ? .nan : selecting(&v, [q])[0]
    }
}

extension Quantile {
    /// The q-quantiles of `values` (no NaN), as `sorted` would give, by selection: O(n)
    /// per quantile instead of a sort. `values` is reordered.
    public static func selecting(_ values: inout [Double], _ qs: [Double]) -> [Double] {
        let n = values.count
        guard n > 0 else { return qs.map { _ in .nan } }
        return values.withUnsafeMutableBufferPointer { v in
            qs.map { q in
                let h = Double(n - 1) * q
                let lo = Int(h.rounded(.down))
                let a = select(v, lo)
                guard lo + 1 < n, h > Double(lo) else { return a }
                // The next order statistic is the smallest value right of position lo.
                var b = Double.infinity
                for i in (lo + 1)..<n where v[i] < b { b = v[i] }
                return a + (h - Double(lo)) * (b - a)
            }
        }
    }

    /// Puts the k-th smallest at position k, smaller ones left of it and larger right
    /// (Hoare's selection with a median-of-three pivot), and returns it.
    static func select(_ v: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var lo = 0, hi = v.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if v[mid] < v[lo] { v.swapAt(mid, lo) }
            if v[hi] < v[lo] { v.swapAt(hi, lo) }
            if v[hi] < v[mid] { v.swapAt(hi, mid) }
            let pivot = v[mid]
            var i = lo, j = hi
            while i <= j {
                while v[i] < pivot { i += 1 }
                while pivot < v[j] { j -= 1 }
                if i <= j { v.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return v[k] }
        }
        return v[k]
    }
}
