import Foundation

/// The report's charts: one function per chart type, each returning inline SVG with a
/// title, labelled axes (units in the label) and a `<title>` tooltip on every data mark, so
/// every number can be read without colour. Sizes are in viewBox px; the page scales them.
public enum Charts {
    /// A histogram bin: customers (or any count) with a value in [low, high).
    public struct Bin: Sendable, Equatable {
        public var low: Double, high: Double, count: Double
        public init(low: Double, high: Double, count: Double) { self.low = low; self.high = high; self.count = count }
    }

    /// One line of a line chart: a value per x category (nil: no value there).
    public struct Series: Sendable {
        public var name: String
        public var values: [Double?]
        public init(name: String, values: [Double?]) { self.name = name; self.values = values }
    }

    /// One series of an x-y chart, drawn as a line through its points, as points, or both.
    public struct XYSeries: Sendable {
        public enum Look: Sendable { case line, points, lineAndPoints }
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var look: Look
        /// Tooltip per point (default: name, x and y in the axes' styles).
        public var tips: [String]?
        public init(name: String, points: [(x: Double, y: Double)], look: Look = .lineAndPoints, tips: [String]? = nil) {
            self.name = name; self.points = points; self.look = look; self.tips = tips
        }
    }

    /// One row of an interval chart: an estimate with its interval, and optionally a
    /// marker (a value to compare against, such as a target).
    public struct Interval: Sendable {
        public var label: String
        public var estimate: Double, low: Double, high: Double
        public var marker: Double?
        public init(label: String, estimate: Double, low: Double, high: Double, marker: Double? = nil) {
            self.label = label; self.estimate = estimate; self.low = low; self.high = high; self.marker = marker
        }
    }

    /// An axis: what it measures, with its unit (`"revenue at risk (money)"`), and how its
    /// values are shown.
    public struct Axis: Sendable {
        public var label: String
        public var style: ValueStyle
        public init(_ label: String, _ style: ValueStyle) { self.label = label; self.style = style }
    }

    // MARK: bars

    /// Horizontal bars, one per category, from 0; the value is written at each bar's end.
    /// `category` names what the categories are (the vertical axis's label); `reference`
    /// draws a labelled vertical line (for lift: 1 = no better than chance).
    public static func bars(_ title: String, categories: [String], category: String, values: [Double], axis: Axis,
                            reference: (value: Double, label: String)? = nil, width: Double = 640) -> SVG {
        let n = min(categories.count, values.count)
        let labelWidth = min(220, 40 + 6.5 * Double(categories.prefix(n).map(\.count).max() ?? 4))
        let band = 26.0, top = 34.0
        var c = SVGCanvas(kind: "bars", title: title, width: width, height: top + band * Double(max(n, 1)) + 52)
        let left = labelWidth, right = width - 64, bottom = top + band * Double(max(n, 1))
        let finite = values.prefix(n).filter(\.isFinite)
        let x = LinearScale(lo: min(0, finite.min() ?? 0, reference?.value ?? 0), hi: max(finite.max() ?? 1, reference?.value ?? 0),
                            from: left, to: right)
        valueAxisX(&c, x, top: top, bottom: bottom, axis: axis)
        for i in 0..<n {
            let y = top + band * Double(i)
            c.add(.text(categories[i], x: left - 6, y: y + band / 2 + 4, cls: "label", anchor: "end"))
            guard values[i].isFinite else {
                c.add(.text("n/a", x: x(0) + 4, y: y + band / 2 + 4, cls: "value")); continue
            }
            let x0 = x(min(0, values[i])), x1 = x(max(0, values[i]))
            c.addData(.rect(x: x0, y: y + 4, w: x1 - x0, h: band - 8, cls: "bar", fill: Palette.colour(0),
                            tip: "\(categories[i]): \(axis.style.format(values[i]))"))
            c.add(.text(axis.style.format(values[i]), x: x1 + 4, y: y + band / 2 + 4, cls: "value"))
        }
        c.add(.line(x1: x(0), y1: top, x2: x(0), y2: bottom, cls: "axis"))
        c.add(.text(category, x: 14, y: (top + bottom) / 2, cls: "axis-label", anchor: "middle", rotated: true))
        if let r = reference {
            c.add(.line(x1: x(r.value), y1: top - 4, x2: x(r.value), y2: bottom, cls: "reference"))
            c.add(.text(r.label, x: x(r.value) + 4, y: top - 6, cls: "note"))
        }
        return c.finish()
    }

    // MARK: histogram

    /// Vertical bars over a numeric x axis, one per bin (bins in order, touching or not).
    public static func histogram(_ title: String, bins: [Bin], x xAxis: Axis, y yAxis: Axis,
                                 width: Double = 640, height: Double = 280) -> SVG {
        var c = SVGCanvas(kind: "histogram", title: title, width: width, height: height)
        let left = 64.0, right = width - 16, top = 34.0, bottom = height - 46
        let x = LinearScale(lo: bins.first?.low ?? 0, hi: bins.last?.high ?? 1, from: left, to: right, nice: false)
        let y = LinearScale(lo: 0, hi: bins.map(\.count).filter(\.isFinite).max() ?? 1, from: bottom, to: top)
        valueAxisY(&c, y, left: left, right: right, axis: yAxis)
        for t in LinearScale(lo: x.lo, hi: x.hi, from: left, to: right, ticks: width < 480 ? 4 : 8).ticks where t >= x.lo - 1e-9 && t <= x.hi + 1e-9 {
            c.add(.line(x1: x(t), y1: bottom, x2: x(t), y2: bottom + 4, cls: "axis"))
            c.add(.text(xAxis.style.tick(t, step: LinearScale.niceStep((x.hi - x.lo) / (width < 480 ? 4 : 8))), x: x(t), y: bottom + 16, cls: "tick", anchor: "middle"))
        }
        c.add(.text(xAxis.label, x: (left + right) / 2, y: height - 8, cls: "axis-label", anchor: "middle"))
        for b in bins where b.count.isFinite {
            c.addData(.rect(x: x(b.low) + 0.5, y: y(b.count), w: x(b.high) - x(b.low) - 1, h: y(0) - y(b.count), cls: "bar",
                            fill: Palette.colour(0),
                            tip: "\(xAxis.style.format(b.low)) to \(xAxis.style.format(b.high)): \(yAxis.style.format(b.count))"))
        }
        c.add(.line(x1: left, y1: bottom, x2: right, y2: bottom, cls: "axis"))
        return c.finish()
    }

    // MARK: lines

    /// Lines over categories (periods), one per series, each point marked and tipped; a
    /// legend names the series with their colour and dash.
    public static func lines(_ title: String, x categories: [String], series: [Series], x xAxis: String, y yAxis: Axis,
                             width: Double = 1000, height: Double = 340) -> SVG {
        var c = SVGCanvas(kind: "lines", title: title, width: width, height: height)
        let left = 64.0, right = width - 40, bottom = height - 46
        let top = 34.0 + 16 * Double(legendRows(series.count, width: right - left))
        let all = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
        let y = LinearScale(lo: all.min() ?? 0, hi: all.max() ?? 1, from: bottom, to: top)
        valueAxisY(&c, y, left: left, right: right, axis: yAxis)
        let n = categories.count
        func px(_ i: Int) -> Double { n <= 1 ? (left + right) / 2 : left + 8 + (right - left - 16) * Double(i) / Double(n - 1) }
        let every = max(1, Int((Double(n) * 70 / (right - left)).rounded(.up)))
        for (i, label) in categories.enumerated() where i % every == 0 {
            c.add(.line(x1: px(i), y1: bottom, x2: px(i), y2: bottom + 4, cls: "axis"))
            c.add(.text(label, x: px(i), y: bottom + 16, cls: "tick", anchor: "middle"))
        }
        c.add(.text(xAxis, x: (left + right) / 2, y: height - 8, cls: "axis-label", anchor: "middle"))
        c.add(.line(x1: left, y1: bottom, x2: right, y2: bottom, cls: "axis"))
        legend(&c, series.map(\.name), left: left, top: 30, width: right - left)
        for (k, s) in series.enumerated() {
            // A line is broken where a value is missing.
            var run: [(Double, Double)] = []
            func flush() { if run.count > 1 { c.add(.polyline(run, cls: "series", stroke: Palette.colour(k), dash: Palette.dash(k))) }; run = [] }
            for (i, v) in s.values.prefix(n).enumerated() {
                guard let v, v.isFinite else { flush(); continue }
                run.append((px(i), y(v)))
            }
            flush()
            for (i, v) in s.values.prefix(n).enumerated() {
                guard let v, v.isFinite else { continue }
                c.addData(.circle(x: px(i), y: y(v), r: 3, cls: "point", fill: Palette.colour(k),
                                  tip: "\(s.name), \(categories[i]): \(yAxis.style.format(v))"))
            }
        }
        return c.finish()
    }

    // MARK: heatmap

    /// A grid of cells coloured by value (light: low, dark: high) over `domain`, each tipped
    /// with its row, column and value, and written in the cell when the cell is wide enough.
    /// A nil cell is left blank. A legend of five swatches gives the scale.
    public static func heatmap(_ title: String, rows: [String], columns: [String], values: [[Double?]],
                               rowAxis: String, columnAxis: String, value: Axis, domain: (Double, Double),
                               width: Double = 1000) -> SVG {
        let left = 96.0, right = width - 16, top = 56.0
        let cellW = (right - left) / Double(max(columns.count, 1))
        let cellH = min(24, max(9, 360 / Double(max(rows.count, 1))))
        let bottom = top + cellH * Double(rows.count)
        var c = SVGCanvas(kind: "heatmap", title: title, width: width, height: bottom + 48)
        let span = domain.1 - domain.0
        func t(_ v: Double) -> Double { span > 0 ? (v - domain.0) / span : 0.5 }
        // Legend: five swatches from low to high.
        for k in 0..<5 {
            let v = domain.0 + span * Double(k) / 4
            c.add(.rect(x: right - 5 * 56 + Double(k) * 56, y: 26, w: 18, h: 12, cls: "swatch", fill: Palette.sequential(Double(k) / 4)))
            c.add(.text(value.style.format(v), x: right - 5 * 56 + Double(k) * 56 + 21, y: 36, cls: "tick"))
        }
        c.add(.text(value.label + ":", x: right - 5 * 56 - 6, y: 36, cls: "tick", anchor: "end"))
        let showValues = cellW >= 34 && cellH >= 14
        let rowEvery = max(1, Int((12 / cellH).rounded(.up))), columnEvery = max(1, Int((70 / cellW).rounded(.up)))
        for (r, label) in rows.enumerated() {
            if r % rowEvery == 0 { c.add(.text(label, x: left - 6, y: top + cellH * (Double(r) + 0.5) + 4, cls: "tick", anchor: "end")) }
            for (k, column) in columns.enumerated() {
                guard r < values.count, k < values[r].count, let v = values[r][k], v.isFinite else { continue }
                let x = left + cellW * Double(k), y = top + cellH * Double(r)
                c.addData(.rect(x: x, y: y, w: cellW - 1, h: cellH - 1, cls: "cell", fill: Palette.sequential(t(v)),
                                tip: "\(rowAxis) \(label), \(columnAxis) \(column): \(value.style.format(v))"))
                if showValues {
                    c.add(.text(value.style.format(v), x: x + cellW / 2, y: y + cellH / 2 + 4, cls: "cell-value", anchor: "middle",
                                fill: t(v) > 0.55 ? "#ffffff" : "#1a1a1a"))
                }
            }
        }
        for (k, column) in columns.enumerated() where k % columnEvery == 0 {
            c.add(.text(column, x: left + cellW * (Double(k) + 0.5), y: bottom + 14, cls: "tick", anchor: "middle"))
        }
        c.add(.text(columnAxis, x: (left + right) / 2, y: bottom + 36, cls: "axis-label", anchor: "middle"))
        c.add(.text(rowAxis, x: 14, y: (top + bottom) / 2, cls: "axis-label", anchor: "middle", rotated: true))
        return c.finish()
    }

    // MARK: x-y

    /// Series over two numeric axes; `diagonal` draws y = x (calibration: predicted = observed;
    /// gains: a random order). Domains default to the data's, widened to round ticks.
    public static func xy(_ title: String, series: [XYSeries], x xAxis: Axis, y yAxis: Axis, diagonal: (label: String, show: Bool) = ("", false),
                          xDomain: (Double, Double)? = nil, yDomain: (Double, Double)? = nil,
                          width: Double = 640, height: Double = 320) -> SVG {
        var c = SVGCanvas(kind: "xy", title: title, width: width, height: height)
        let left = 64.0, right = width - 16, bottom = height - 46
        let top = 34.0 + 16 * Double(legendRows(series.count + (diagonal.show ? 1 : 0), width: right - left))
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite), ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xd = xDomain ?? (xs.min() ?? 0, xs.max() ?? 1), yd = yDomain ?? (ys.min() ?? 0, ys.max() ?? 1)
        let x = LinearScale(lo: xd.0, hi: xd.1, from: left, to: right), y = LinearScale(lo: yd.0, hi: yd.1, from: bottom, to: top)
        valueAxisY(&c, y, left: left, right: right, axis: yAxis)
        valueAxisX(&c, x, top: top, bottom: bottom, axis: xAxis, grid: false)
        legend(&c, series.map(\.name) + (diagonal.show ? [diagonal.label] : []), left: left, top: 30, width: right - left,
               lastIsReference: diagonal.show)
        if diagonal.show {
            let lo = max(x.lo, y.lo), hi = min(x.hi, y.hi)
            if hi > lo { c.add(.line(x1: x(lo), y1: y(lo), x2: x(hi), y2: y(hi), cls: "reference")) }
        }
        for (k, s) in series.enumerated() {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            if s.look != .points, pts.count > 1 {
                c.add(.polyline(pts.map { (x($0.x), y($0.y)) }, cls: "series", stroke: Palette.colour(k), dash: Palette.dash(k)))
            }
            for (i, p) in s.points.enumerated() where p.x.isFinite && p.y.isFinite {
                c.addData(.circle(x: x(p.x), y: y(p.y), r: s.look == .line ? 2 : 3.5, cls: "point", fill: Palette.colour(k),
                                  tip: s.tips.flatMap { i < $0.count ? $0[i] : nil }
                                    ?? "\(s.name): \(xAxis.label) \(xAxis.style.format(p.x)), \(yAxis.label) \(yAxis.style.format(p.y))"))
            }
        }
        return c.finish()
    }

    // MARK: intervals

    /// Estimates with their intervals, one row each (a forest plot): a dot on a whisker from
    /// low to high, a diamond at the row's marker, and a vertical line at `reference`.
    /// `category` names what the rows are (the vertical axis's label).
    public static func intervals(_ title: String, rows: [Interval], category: String, axis: Axis, reference: (value: Double, label: String)? = nil,
                                 markerLabel: String? = nil, width: Double = 1000) -> SVG {
        let band = 22.0, top = 40.0
        let labelWidth = min(240, 40 + 6.5 * Double(rows.map(\.label.count).max() ?? 4))
        let bottom = top + band * Double(max(rows.count, 1))
        var c = SVGCanvas(kind: "intervals", title: title, width: width, height: bottom + 52)
        let left = labelWidth, right = width - 24
        let values = rows.flatMap { [$0.low, $0.high, $0.estimate] + ($0.marker.map { [$0] } ?? []) }.filter(\.isFinite)
            + (reference.map { [$0.value] } ?? [])
        let x = LinearScale(lo: values.min() ?? 0, hi: values.max() ?? 1, from: left, to: right)
        valueAxisX(&c, x, top: top, bottom: bottom, axis: axis)
        c.add(.text(category, x: 14, y: (top + bottom) / 2, cls: "axis-label", anchor: "middle", rotated: true))
        if let r = reference {
            c.add(.line(x1: x(r.value), y1: top - 4, x2: x(r.value), y2: bottom, cls: "reference"))
            c.add(.text(r.label, x: x(r.value) + 4, y: top - 8, cls: "note"))
        }
        if let m = markerLabel, rows.contains(where: { $0.marker != nil }) {
            c.add(.rect(x: right - 150, y: 22, w: 8, h: 8, cls: "marker"))
            c.add(.text(m, x: right - 138, y: 30, cls: "note"))
        }
        for (i, r) in rows.enumerated() {
            let yc = top + band * (Double(i) + 0.5)
            c.add(.text(r.label, x: left - 6, y: yc + 4, cls: "label", anchor: "end"))
            guard r.estimate.isFinite else { c.add(.text("n/a", x: left + 4, y: yc + 4, cls: "value")); continue }
            if r.low.isFinite, r.high.isFinite {
                c.add(.line(x1: x(r.low), y1: yc, x2: x(r.high), y2: yc, cls: "whisker"))
                c.add(.line(x1: x(r.low), y1: yc - 5, x2: x(r.low), y2: yc + 5, cls: "whisker"))
                c.add(.line(x1: x(r.high), y1: yc - 5, x2: x(r.high), y2: yc + 5, cls: "whisker"))
            }
            if let m = r.marker, m.isFinite {
                c.add(.polyline([(x(m), yc - 6), (x(m) + 6, yc), (x(m), yc + 6), (x(m) - 6, yc), (x(m), yc - 6)], cls: "marker"))
            }
            let range = r.low.isFinite && r.high.isFinite ? " (\(axis.style.format(r.low)) to \(axis.style.format(r.high)))" : ""
            let aim = r.marker.map { "; \(markerLabel ?? "marker") \(axis.style.format($0))" } ?? ""
            c.addData(.circle(x: x(r.estimate), y: yc, r: 4, cls: "point", fill: Palette.colour(0),
                              tip: "\(r.label): \(axis.style.format(r.estimate))\(range)\(aim)"))
        }
        return c.finish()
    }

    // MARK: shared parts

    /// Ticks, gridlines and the label of a horizontal value axis.
    static func valueAxisX(_ c: inout SVGCanvas, _ x: LinearScale, top: Double, bottom: Double, axis: Axis, grid: Bool = true) {
        for t in x.ticks {
            if grid { c.add(.line(x1: x(t), y1: top, x2: x(t), y2: bottom, cls: "grid")) }
            c.add(.line(x1: x(t), y1: bottom, x2: x(t), y2: bottom + 4, cls: "axis"))
            c.add(.text(axis.style.tick(t, step: x.step), x: x(t), y: bottom + 16, cls: "tick", anchor: "middle"))
        }
        c.add(.line(x1: x.from, y1: bottom, x2: x.to, y2: bottom, cls: "axis"))
        c.add(.text(axis.label, x: (x.from + x.to) / 2, y: bottom + 36, cls: "axis-label", anchor: "middle"))
    }

    /// Ticks, gridlines and the (rotated) label of a vertical value axis.
    static func valueAxisY(_ c: inout SVGCanvas, _ y: LinearScale, left: Double, right: Double, axis: Axis) {
        for t in y.ticks {
            c.add(.line(x1: left, y1: y(t), x2: right, y2: y(t), cls: "grid"))
            c.add(.text(axis.style.tick(t, step: y.step), x: left - 6, y: y(t) + 4, cls: "tick", anchor: "end"))
        }
        c.add(.line(x1: left, y1: y.from, x2: left, y2: y.to, cls: "axis"))
        c.add(.text(axis.label, x: 14, y: (y.from + y.to) / 2, cls: "axis-label", anchor: "middle", rotated: true))
    }

    /// Legend columns: as many as fit at 240 px each, at most three.
    static func legendColumns(_ width: Double) -> Int { max(1, min(3, Int(width / 240))) }
    static func legendRows(_ names: Int, width: Double) -> Int { (names + legendColumns(width) - 1) / legendColumns(width) }

    /// Series names in rows of up to three, each after a short sample of its line.
    static func legend(_ c: inout SVGCanvas, _ names: [String], left: Double, top: Double, width: Double, lastIsReference: Bool = false) {
        let columns = legendColumns(width), column = width / Double(columns)
        for (k, name) in names.enumerated() {
            let x = left + column * Double(k % columns), y = top + 16 * Double(k / columns)
            if lastIsReference && k == names.count - 1 {
                c.add(.line(x1: x, y1: y - 4, x2: x + 24, y2: y - 4, cls: "reference"))
            } else {
                c.add(.polyline([(x, y - 4), (x + 24, y - 4)], cls: "series", stroke: Palette.colour(k), dash: Palette.dash(k)))
                c.add(.circle(x: x + 12, y: y - 4, r: 3, cls: "legend-mark", fill: Palette.colour(k)))
            }
            c.add(.text(name, x: x + 30, y: y, cls: "legend"))
        }
    }
}
