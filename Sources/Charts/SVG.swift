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

    /// The template's context for this mark: a flag per kind (one true) and per optional
    /// attribute, then the attributes. Every key the template asks of a mark is present, so
    /// no lookup falls through to the enclosing contexts (which made rendering several
    /// times slower), and no section pushes a string as its context.
    var context: [String: Any] {
        func n(_ v: Double) -> String { SVGCanvas.number(v) }
        var a: [String: Any] = ["rect": false, "line": false, "path": false, "circle": false, "text": false,
                                "hasFill": false, "hasTip": false, "hasAnchor": false, "rotate": false, "hasStroke": false, "hasDash": false]
        func optional(_ flag: String, _ key: String, _ value: String?) {
            if let value { a[flag] = true; a[key] = value }
        }
        switch self {
        case let .rect(x, y, w, h, cls, fill, tip):
            a["rect"] = true
            a["x"] = n(x); a["y"] = n(y); a["w"] = n(max(w, 0)); a["h"] = n(max(h, 0)); a["cls"] = cls
            optional("hasFill", "fill", fill); optional("hasTip", "tip", tip)
        case let .line(x1, y1, x2, y2, cls):
            a["line"] = true
            a["x1"] = n(x1); a["y1"] = n(y1); a["x2"] = n(x2); a["y2"] = n(y2); a["cls"] = cls
        case let .polyline(points, cls, stroke, dash):
            a["path"] = true
            a["points"] = points.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " "); a["cls"] = cls
            optional("hasStroke", "stroke", stroke); optional("hasDash", "dash", dash)
        case let .circle(x, y, r, cls, fill, tip):
            a["circle"] = true
            a["x"] = n(x); a["y"] = n(y); a["r"] = n(r); a["cls"] = cls
            optional("hasFill", "fill", fill); optional("hasTip", "tip", tip)
        case let .text(content, x, y, cls, anchor, rotated, fill):
            a["text"] = true
            a["content"] = content; a["x"] = n(x); a["y"] = n(y); a["cls"] = cls; a["rotate"] = rotated
            optional("hasAnchor", "anchor", anchor); optional("hasFill", "fill", fill)
        }
        return a
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
    {{#rect}}<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" class="{{cls}}"{{#hasFill}} style="fill:{{fill}}"{{/hasFill}}>{{#hasTip}}<title>{{tip}}</title>{{/hasTip}}</rect>{{/rect}}\
    {{#line}}<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" class="{{cls}}"/>{{/line}}\
    {{#path}}<polyline points="{{points}}" class="{{cls}}"{{#hasStroke}} style="stroke:{{stroke}}{{#hasDash}};stroke-dasharray:{{dash}}{{/hasDash}}"{{/hasStroke}}/>{{/path}}\
    {{#circle}}<circle cx="{{x}}" cy="{{y}}" r="{{r}}" class="{{cls}}"{{#hasFill}} style="fill:{{fill}}"{{/hasFill}}>{{#hasTip}}<title>{{tip}}</title>{{/hasTip}}</circle>{{/circle}}\
    {{#text}}<text x="{{x}}" y="{{y}}" class="{{cls}}"{{#hasAnchor}} text-anchor="{{anchor}}"{{/hasAnchor}}{{#rotate}} transform="rotate(-90 {{x}} {{y}})"{{/rotate}}{{#hasFill}} style="fill:{{fill}}"{{/hasFill}}>{{content}}</text>{{/text}}\
    {{/marks}}</svg>
    """
    /// Parsed once. The text is a constant of this file, so a parse failure is a defect here;
    /// `ChartsTests` parses it, and a nil template would make every chart empty, which the
    /// report check (no chart in a section) catches.
    static let template: MustacheTemplate? = try? MustacheTemplate(string: templateText)
}
