import Charts
import Mustache

/// `report.html`: one self-contained page (inline CSS and SVG; no script, font, image or
/// link fetched from anywhere) that prints on A4. The page is a list of sections, each with
/// its lead text, key figures, charts and tables; the Mustache template below renders them,
/// and `{{ }}` HTML-escapes every text it is given. The only markup inserted as it is
/// (`{{{svg}}}`) is an `SVG`, which only the `Charts` module makes, by the same escaping.
public struct ReportPage: Sendable {
    /// A key figure: `active customers` / `5,008`.
    public struct Figure: Sendable {
        public var label: String, value: String, detail: String?
        public init(_ label: String, _ value: String, detail: String? = nil) { self.label = label; self.value = value; self.detail = detail }
    }

    /// A table; `numeric` columns are right-aligned.
    public struct Table: Sendable {
        public var caption: String
        public var columns: [String]
        public var numeric: Set<Int>
        public var rows: [[String]]
        public init(caption: String, columns: [String], numeric: Set<Int> = [], rows: [[String]]) {
            self.caption = caption; self.columns = columns; self.numeric = numeric; self.rows = rows
        }
    }

    public struct Section: Sendable {
        /// The section's anchor (`#groups`) and the report check's name for it.
        public var id: String
        public var heading: String
        public var lead: [String] = []
        public var figures: [Figure] = []
        public var charts: [SVG] = []
        /// Charts drawn two to a row (small multiples).
        public var smallCharts: [SVG] = []
        public var tables: [Table] = []
        /// Why the section has nothing to show (no plan judged, no row rejected).
        public var empty: String?
        public init(id: String, heading: String) { self.id = id; self.heading = heading }
    }

    public var title: String
    public var subtitle: String
    public var sections: [Section]

    public init(title: String, subtitle: String, sections: [Section]) {
        self.title = title; self.subtitle = subtitle; self.sections = sections
    }

    /// The page as HTML text; nil only if the template constant does not parse (a defect
    /// here, which `ReportPageTests` would show).
    public func html() -> String? {
        guard let template = Self.template else { return nil }
        let context: [String: Any] = [
            "title": title, "subtitle": subtitle,
            "sections": sections.map { s -> [String: Any] in
                var c: [String: Any] = ["id": s.id, "heading": s.heading, "lead": s.lead, "charts": s.charts.map { ["svg": $0] },
                                        "smallCharts": s.smallCharts.map { ["svg": $0] },
                                        "chartCount": String(s.charts.count + s.smallCharts.count)]
                if !s.figures.isEmpty {
                    c["figures"] = s.figures.map { f -> [String: Any] in
                        var d: [String: Any] = ["label": f.label, "value": f.value]
                        if let detail = f.detail { d["detail"] = detail }
                        return d
                    }
                }
                if !s.figures.isEmpty { c["hasFigures"] = true }
                if !s.charts.isEmpty { c["hasCharts"] = true }
                if !s.smallCharts.isEmpty { c["hasSmallCharts"] = true }
                if let e = s.empty { c["empty"] = e }
                c["tables"] = s.tables.map { t -> [String: Any] in
                    ["caption": t.caption,
                     "columns": t.columns.enumerated().map { ["name": $0.element, "numeric": t.numeric.contains($0.offset)] },
                     "rows": t.rows.map { r in ["cells": r.enumerated().map { ["text": $0.element, "numeric": t.numeric.contains($0.offset)] }] }]
                }
                return c
            },
        ]
        return template.render(context)
    }

    static let template: MustacheTemplate? = try? MustacheTemplate(string: templateText)

    /// The page. Styles are inline (the file opens offline) and sized for a screen and for
    /// A4 paper: a figure or table never breaks across pages, navigation is not printed.
    static let templateText = """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}}</title>
    <style>
    :root { --ink: #1a1a1a; --muted: #555; --rule: #d9d9d9; --accent: #0072B2; }
    * { box-sizing: border-box; }
    body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
           margin: 0 auto; padding: 24px 32px 48px; max-width: 1120px; line-height: 1.45; background: #fff; }
    h1 { font-size: 26px; margin: 0 0 4px; }
    h2 { font-size: 19px; margin: 0 0 10px; padding-top: 8px; border-top: 2px solid var(--accent); }
    .subtitle { color: var(--muted); margin: 0 0 12px; }
    nav { display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 14px; margin-bottom: 20px; }
    nav a { color: var(--accent); text-decoration: none; }
    section { margin: 0 0 32px; }
    p { margin: 6px 0; max-width: 80ch; }
    p.empty { color: var(--muted); font-style: italic; }
    dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 12px 0; }
    dl.figures div { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 10px; }
    dt { font-size: 12px; color: var(--muted); }
    dd { margin: 2px 0 0; font-size: 20px; font-weight: 600; }
    dd.detail { font-size: 12px; font-weight: 400; color: var(--muted); }
    .charts { display: grid; grid-template-columns: 1fr; gap: 12px; margin: 12px 0; }
    .charts.small { grid-template-columns: 1fr 1fr; }
    figure { margin: 0; border: 1px solid var(--rule); border-radius: 6px; padding: 6px; break-inside: avoid; }
    svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
    svg .chart-title { font-size: 14px; font-weight: 600; fill: var(--ink); }
    svg .tick, svg .legend, svg .note, svg .value { font-size: 11px; fill: var(--muted); }
    svg .label { font-size: 12px; fill: var(--ink); }
    svg .axis-label { font-size: 12px; fill: var(--ink); }
    svg .cell-value { font-size: 10px; }
    svg .axis { stroke: #666; stroke-width: 1; }
    svg .grid { stroke: #ececec; stroke-width: 1; }
    svg .reference { stroke: #777; stroke-width: 1.2; stroke-dasharray: 4 3; }
    svg .series { fill: none; stroke-width: 2; }
    svg .whisker { stroke: #333; stroke-width: 1.5; }
    svg .marker { fill: none; stroke: #D55E00; stroke-width: 2; }
    svg .swatch { stroke: #999; stroke-width: 0.5; }
    svg .point, svg .legend-mark { stroke: #fff; stroke-width: 0.8; }
    table { border-collapse: collapse; margin: 12px 0; font-size: 13px; break-inside: avoid; }
    caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
    th, td { border-bottom: 1px solid var(--rule); padding: 3px 8px; text-align: left; vertical-align: top; }
    th { font-weight: 600; background: #f5f7fa; }
    .num { text-align: right; font-variant-numeric: tabular-nums; }
    td:first-child { white-space: nowrap; }
    footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); padding-top: 8px; }
    @page { size: A4; margin: 12mm; }
    @media print {
      body { padding: 0; max-width: none; font-size: 11pt; }
      nav { display: none; }
      h2 { break-after: avoid; }
      .charts.small { grid-template-columns: 1fr 1fr; }
      figure, table, dl.figures { break-inside: avoid; }
    }
    </style>
    </head>
    <body>
    <header>
    <h1>{{title}}</h1>
    <p class="subtitle">{{subtitle}}</p>
    <nav>{{#sections}}<a href="#{{id}}">{{heading}}</a>{{/sections}}</nav>
    </header>
    <main>
    {{#sections}}
    <section id="{{id}}" data-charts="{{chartCount}}">
    <h2>{{heading}}</h2>
    {{#lead}}<p>{{.}}</p>
    {{/lead}}
    {{#hasFigures}}<dl class="figures">{{#figures}}<div><dt>{{label}}</dt><dd>{{value}}</dd>{{#detail}}<dd class="detail">{{detail}}</dd>{{/detail}}</div>{{/figures}}</dl>{{/hasFigures}}
    {{#empty}}<p class="empty">{{empty}}</p>{{/empty}}
    {{#hasCharts}}<div class="charts">{{#charts}}<figure>{{{svg}}}</figure>{{/charts}}</div>{{/hasCharts}}
    {{#hasSmallCharts}}<div class="charts small">{{#smallCharts}}<figure>{{{svg}}}</figure>{{/smallCharts}}</div>{{/hasSmallCharts}}
    {{#tables}}<table><caption>{{caption}}</caption>
    <thead><tr>{{#columns}}<th{{#numeric}} class="num"{{/numeric}}>{{name}}</th>{{/columns}}</tr></thead>
    <tbody>{{#rows}}<tr>{{#cells}}<td{{#numeric}} class="num"{{/numeric}}>{{text}}</td>{{/cells}}</tr>
    {{/rows}}</tbody></table>
    {{/tables}}
    </section>
    {{/sections}}
    </main>
    <footer>{{subtitle}}</footer>
    </body>
    </html>

    """
}
