import Mustache

/// One chart, as inline SVG markup made by `Charts`. The only way to make one is a chart
/// function, whose marks go through the Mustache template below: every title, label and
/// tooltip is HTML-escaped there, so a page can embed the markup as it is (`{{{chart}}}`).
public struct SVG: Sendable, MustacheCustomRenderable {
    /// The chart type (`bars`, `histogram`, `lines`, `heatmap`, `xy`, `intervals`):
    /// the `data-chart` attribute of the `<svg>`.
    public let kind: String
    public let title: String
    /// Data marks drawn (bars, cells, points, intervals), not axes or labels.
    public let markCount: Int
    public let markup: String
    public var renderText: String { markup }
    public var isNull: Bool { false }
}

/// A drawing primitive in chart coordinates (the SVG's viewBox, in px).
enum Mark {
    case rect(x: Double, y: Double, w: Double, h: Double, cls: String, fill: String? = nil, tip: String? = nil)
    case line(x1: Double, y1: Double, x2: Double, y2: Double, cls: String)
    case polyline([(Double, Double)], cls: String, stroke: String? = nil, dash: String? = nil)
    case circle(x: Double, y: Double, r: Double, cls: String, fill: String? = nil, tip: String? = nil)
    case text(String, x: Double, y: Double, cls: String, anchor: String? = nil, rotated: Bool = false, fill: String? = nil)

    /// The template's context for this mark: one key naming its kind, holding its attributes.
    var context: [String: Any] {
        func n(_ v: Double) -> String { SVGCanvas.number(v) }
        switch self {
        case let .rect(x, y, w, h, cls, fill, tip):
            var a: [String: Any] = ["x": n(x), "y": n(y), "w": n(max(w, 0)), "h": n(max(h, 0)), "cls": cls]
            if let fill { a["fill"] = fill }
            if let tip { a["tip"] = tip }
            return ["rect": a]
        case let .line(x1, y1, x2, y2, cls):
            return ["line": ["x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "cls": cls]]
        case let .polyline(points, cls, stroke, dash):
            var a: [String: Any] = ["points": points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " "), "cls": cls]
            if let stroke { a["stroke"] = stroke }
            if let dash { a["dash"] = dash }
            return ["path": a]
        case let .circle(x, y, r, cls, fill, tip):
            var a: [String: Any] = ["x": n(x), "y": n(y), "r": n(r), "cls": cls]
            if let fill { a["fill"] = fill }
            if let tip { a["tip"] = tip }
            return ["circle": a]
        case let .text(content, x, y, cls, anchor, rotated, fill):
            var a: [String: Any] = ["content": content, "x": n(x), "y": n(y), "cls": cls]
            if let anchor { a["anchor"] = anchor }
            if rotated { a["rotate"] = true }
            if let fill { a["fill"] = fill }
            return ["text": a]
        }
    }
}

/// A chart being drawn: its size, its marks in drawing order, and the template that turns
/// them into SVG. Chart functions add marks and call `finish`.
struct SVGCanvas {
    let kind: String
    let title: String
    let width: Double
    let height: Double
    private(set) var marks: [Mark] = []
    private(set) var dataMarks = 0

    init(kind: String, title: String, width: Double = 640, height: Double = 320) {
        self.kind = kind; self.title = title; self.width = width; self.height = height
        add(.text(title, x: 8, y: 18, cls: "chart-title"))
    }

    mutating func add(_ m: Mark) { marks.append(m) }
    /// A mark that carries data (counted in `SVG.markCount`).
    mutating func addData(_ m: Mark) { marks.append(m); dataMarks += 1 }

    func finish() -> SVG {
        let context: [String: Any] = ["kind": kind, "title": title, "width": Self.number(width), "height": Self.number(height),
                                      "marks": marks.map(\.context)]
        return SVG(kind: kind, title: title, markCount: dataMarks, markup: Self.template?.render(context) ?? "")
    }

    /// Coordinates to at most one decimal: enough for a screen, and small files.
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// Every chart's markup. `{{ }}` escapes `& < > " '`, in text and attribute values alike.
    /// (No `xmlns`: inline SVG in HTML needs none, and the page holds no URL.)
    static let templateText = """
    <svg class="chart" data-chart="{{kind}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="{{title}}"><title>{{title}}</title>\
    {{#marks}}\
    {{#rect}}<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" class="{{cls}}"{{#fill}} style="fill:{{fill}}"{{/fill}}>{{#tip}}<title>{{tip}}</title>{{/tip}}</rect>{{/rect}}\
    {{#line}}<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" class="{{cls}}"/>{{/line}}\
    {{#path}}<polyline points="{{points}}" class="{{cls}}"{{#stroke}} style="stroke:{{stroke}}{{#dash}};stroke-dasharray:{{dash}}{{/dash}}"{{/stroke}}/>{{/path}}\
    {{#circle}}<circle cx="{{x}}" cy="{{y}}" r="{{r}}" class="{{cls}}"{{#fill}} style="fill:{{fill}}"{{/fill}}>{{#tip}}<title>{{tip}}</title>{{/tip}}</circle>{{/circle}}\
    {{#text}}<text x="{{x}}" y="{{y}}" class="{{cls}}"{{#anchor}} text-anchor="{{anchor}}"{{/anchor}}{{#rotate}} transform="rotate(-90 {{x}} {{y}})"{{/rotate}}{{#fill}} style="fill:{{fill}}"{{/fill}}>{{content}}</text>{{/text}}\
    {{/marks}}</svg>
    """
    /// Parsed once. The text is a constant of this file, so a parse failure is a defect here;
    /// `ChartsTests` parses it, and a nil template would make every chart empty, which the
    /// report check (no chart in a section) catches.
    static let template: MustacheTemplate? = try? MustacheTemplate(string: templateText)
}
