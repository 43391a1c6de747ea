import Foundation
import Testing
@testable import Charts

/// The `<title>` tooltips of a chart's data marks, in drawing order (the chart's own title first).
func tips(_ svg: SVG) -> [String] {
    svg.markup.components(separatedBy: "<title>").dropFirst().compactMap { $0.components(separatedBy: "</title>").first }
}

func count(_ needle: String, in svg: SVG) -> Int { svg.markup.components(separatedBy: needle).count - 1 }

/// A numeric attribute of every element `tag` in drawing order.
func attribute(_ name: String, of tag: String, in svg: SVG) -> [Double] {
    svg.markup.components(separatedBy: "<\(tag) ").dropFirst().compactMap { element in
        element.components(separatedBy: " \(name)=\"").dropFirst().first?.components(separatedBy: "\"").first.flatMap(Double.init)
    }
}

@Suite struct ScaleTests {
    @Test func niceSteps() {
        #expect(LinearScale.niceStep(0.23) == 0.25)
        #expect(LinearScale.niceStep(17) == 20)
        #expect(LinearScale.niceStep(3) == 5)
        #expect(LinearScale.niceStep(1000) == 1000)
    }

    @Test func domainWidenedToRoundTicks() {
        let s = LinearScale(lo: 3, hi: 88, from: 0, to: 100)
        #expect(s.lo == 0 && s.hi == 100 && s.step == 20)
        #expect(s.ticks == [0, 20, 40, 60, 80, 100])
        #expect(abs(s(50) - 50) < 1e-12)
        let flat = LinearScale(lo: 0, hi: 0, from: 0, to: 10)
        #expect(flat.lo == 0 && flat.hi == 1)
    }

    @Test func valueStyles() {
        #expect(ValueStyle.count.format(12345.6) == "12,346")
        #expect(ValueStyle.share(1).format(0.125) == "12.5%")
        #expect(ValueStyle.percent(1).format(88.73) == "88.7%")
        #expect(ValueStyle.decimal(2).format(-1234.5) == "-1,234.50")
        #expect(ValueStyle.decimal(2).format(.nan) == "n/a")
        #expect(ValueStyle.share(0).tick(0.25, step: 0.05) == "25%")
    }

    @Test func sequentialColoursRunLightToDark() {
        #expect(Palette.sequential(0) == "#f7fbff")
        #expect(Palette.sequential(1) == "#08306b")
        #expect(Palette.sequential(.nan) == "#f7fbff")
    }
}

@Suite struct ChartTests {
    @Test func templateParses() { #expect(SVGCanvas.template != nil) }

    @Test func barsOnePerCategoryWithValues() {
        let svg = Charts.bars("Revenue at risk", categories: ["a", "b", "c"], category: "group", values: [10, 0, 30], axis: .init("revenue at risk (money)", .decimal(2)))
        #expect(svg.kind == "bars" && svg.markCount == 3)
        #expect(tips(svg) == ["Revenue at risk", "a: 10.00", "b: 0.00", "c: 30.00"])
        // Widths in proportion to the values: c's bar is three times a's.
        let widths = attribute("width", of: "rect", in: svg)
        #expect(widths.count == 3 && abs(widths[2] / widths[0] - 3) < 0.02)
        #expect(svg.markup.contains("revenue at risk (money)"))
        #expect(count("class=\"axis-label\"", in: svg) == 2)
    }

    @Test func textIsEscapedInTextAndAttributes() {
        let hostile = "\"><img src=x onerror=alert(1)><script>alert(1)</script>"
        let svg = Charts.bars(hostile, categories: [hostile], category: hostile, values: [1], axis: .init(hostile, .count))
        #expect(!svg.markup.contains("<script") && !svg.markup.contains("<img"))
        #expect(svg.markup.contains("aria-label=\"&quot;&gt;&lt;img"))
        #expect(svg.markup.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func histogramBarsTouchTheirBins() {
        let bins = [Charts.Bin(low: 0, high: 0.5, count: 2), .init(low: 0.5, high: 1, count: 4)]
        let svg = Charts.histogram("Churn", bins: bins, x: .init("churn probability", .share(0)), y: .init("customers", .count))
        #expect(svg.markCount == 2)
        #expect(tips(svg).dropFirst() == ["0% to 50%: 2", "50% to 100%: 4"])
        let heights = attribute("height", of: "rect", in: svg)
        #expect(heights.count == 2 && abs(heights[1] / heights[0] - 2) < 0.02)
    }

    @Test func linesBreakWhereAValueIsMissing() {
        let svg = Charts.lines("Retention", x: ["q1", "q2", "q3", "q4", "q5"],
                               series: [.init(name: "retention", values: [80, 82, nil, 85, 86])], x: "quarter", y: .init("rate (%)", .percent(1)))
        #expect(svg.markCount == 4)
        // Two runs of the series plus the legend's sample.
        #expect(count("<polyline", in: svg) == 3)
        #expect(tips(svg).contains("retention, q4: 85.0%"))
    }

    @Test func heatmapSkipsEmptyCellsAndColoursByValue() {
        let svg = Charts.heatmap("Cohorts", rows: ["2024", "2025"], columns: ["p1", "p2"], values: [[100, 50], [nil, 0]],
                                 rowAxis: "cohort", columnAxis: "period", value: .init("retained (%)", .percent(0)), domain: (0, 100))
        #expect(svg.markCount == 3)
        #expect(svg.markup.contains("fill:#08306b\"><title>cohort 2024, period p1: 100%"))
        #expect(svg.markup.contains("fill:#f7fbff\"><title>cohort 2025, period p2: 0%"))
    }

    @Test func xyDrawsTheDiagonal() {
        let svg = Charts.xy("Calibration", series: [.init(name: "tenths", points: [(0.2, 0.25), (0.8, 0.7)])],
                            x: .init("predicted", .share(0)), y: .init("observed", .share(0)), diagonal: ("predicted = observed", true),
                            xDomain: (0, 1), yDomain: (0, 1))
        #expect(svg.markCount == 2)
        #expect(count("class=\"reference\"", in: svg) == 2)  // the diagonal and its legend sample
        #expect(svg.markup.contains("predicted = observed"))
    }

    @Test func intervalsCarryEstimateRangeAndMarker() {
        let svg = Charts.intervals("Effect", rows: [.init(label: "high-volume", estimate: 0.05, low: -0.01, high: 0.11, marker: 0.02)], category: "group",
                                   axis: .init("effect (points)", .share(1)), reference: (0, "no effect"), markerLabel: "aimed for")
        #expect(svg.markCount == 1)
        #expect(tips(svg).last == "high-volume: 5.0% (-1.0% to 11.0%); aimed for 2.0%")
        #expect(count("class=\"whisker\"", in: svg) == 3)
        #expect(count("class=\"marker\"", in: svg) == 2)  // the row's diamond and the legend's
    }
}
