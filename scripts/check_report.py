"""Renders report.html files in headless Chromium and fails on what a reader would see wrong.

    python3 scripts/check_report.py --chromium PATH [--screenshot PNG] [--self-test] [--hostile DIR] OUTPUT_DIR...

For each output folder (where `retain run` published report.html, run.json and the CSVs):
  - no attribute or style sheet of the page source holds a URL but `#...` anchors, and the
    DOM has no script, image, link, frame or object;
  - Chromium loads it with no console message and no failed request (`--enable-logging`);
  - the screenshot is not blank (luminance variance and distinct colours);
  - printed by Chromium, every page is A4;
  - in the DOM Chromium built, each section holds the charts the run's own files call for,
    with the right number of marks (cohort cells = rows of retention_cohorts.csv, ten
    calibration points, one bar per reject reason, ...), every chart has a title and an
    axis label, both its axes labelled, and every data mark has a <title>.
`--self-test` first checks that the check fails on pages made to be wrong (a blank page,
an external URL, a console error, a missing chart). Standard library only.
"""
import argparse, csv, html.parser, json, os, re, struct, subprocess, sys, tempfile, zlib


def render(chromium, page, png, width=1280, height=9000, scale=0.5, pdf=None):
    """Screenshot, DOM and (with `pdf`) the printed PDF of `page`, from one Chromium run;
    returns (dom, log lines)."""
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--enable-logging=stderr", "--v=0",
            f"--force-device-scale-factor={scale}", f"--window-size={width},{height}", f"--screenshot={png}", "--dump-dom"]
    if pdf:
        args += ["--no-pdf-header-footer", f"--print-to-pdf={pdf}"]
    run = subprocess.run(args + ["file://" + os.path.abspath(page)], capture_output=True, text=True, timeout=120)
    if not os.path.exists(png):
        raise CheckError(f"{page}: Chromium made no screenshot: {run.stderr.strip()[-300:]}")
    return run.stdout, run.stderr.splitlines()


class CheckError(Exception):
    pass


def png_pixels(path):
    """(width, height, rows of (r, g, b) bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckError(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour not in (2, 6):
                raise CheckError(f"{path}: PNG of depth {depth}, colour type {colour} (expected 8-bit RGB or RGBA)")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[k] for k in range(stride) if k % channels != 3) if channels == 4 else bytes(line))
        prev = line
    return width, height, rows


def blankness(path):
    """(luminance variance, distinct colours) of a screenshot."""
    w, h, rows = png_pixels(path)
    lum, colours = [], set()
    for row in rows:
        for x in range(0, w * 3, 3):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r, g, b))
            lum.append(0.2126 * r + 0.7152 * g + 0.0722 * b)
    mean = sum(lum) / len(lum)
    return sum((v - mean) ** 2 for v in lum) / len(lum), len(colours)


class DOM(html.parser.HTMLParser):
    """Sections, their charts and the marks of each chart, from the DOM Chromium dumped."""
    MARKS = {("rect", "bar"), ("rect", "cell"), ("circle", "point")}

    def __init__(self):
        super().__init__()
        self.stack, self.sections, self.forbidden, self.section, self.chart, self.mark = [], {}, [], None, None, None
        self.text_of = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "object", "embed", "link", "base", "form", "audio", "video", "source"):
            self.forbidden.append(tag)
        if tag == "section":
            self.section = {"id": a.get("id"), "charts": []}
            self.sections[a.get("id")] = self.section
        elif tag == "svg" and "chart" in (a.get("class") or "").split():
            self.chart = {"kind": a.get("data-chart"), "title": None, "marks": 0, "untitled": 0, "axis_labels": 0, "label": a.get("aria-label")}
            if self.section is not None:
                self.section["charts"].append(self.chart)
        elif self.chart is not None and (tag, (a.get("class") or "")) in self.MARKS:
            self.chart["marks"] += 1
            self.mark = {"tag": tag, "titled": False}
        elif self.chart is not None and tag == "text" and a.get("class") == "axis-label":
            self.chart["axis_labels"] += 1
        elif tag == "title" and self.chart is not None:
            if self.mark is not None:
                self.mark["titled"] = True
            elif self.chart["title"] is None:
                self.text_of = "chart-title"
        if tag not in ("line", "polyline", "br", "meta"):
            self.stack.append(tag)

    def handle_data(self, data):
        if self.text_of == "chart-title" and self.chart is not None:
            self.chart["title"] = (self.chart["title"] or "") + data

    def handle_endtag(self, tag):
        if tag == "title":
            self.text_of = None
        if self.mark is not None and tag == self.mark["tag"]:
            if not self.mark["titled"]:
                self.chart["untitled"] += 1
            self.mark = None
        if tag == "svg":
            self.chart = None
        if tag == "section":
            self.section = None
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def expectations(folder):
    """Per section: [(chart kind, marks or None for any, what it is)], from the run's own files."""
    out = {"groups": [], "history": [], "cohorts": [], "model": [], "value": [], "plans": [], "rejects": []}
    targets = rows(os.path.join(folder, "retention_targets.csv"))
    if targets:
        out["groups"] = [("bars", len(targets), "customers per group"), ("bars", len(targets), "revenue at risk per group")]
        out["groups"] += [("histogram", 20, f"churn distribution of {t['segment']}") for t in targets if int(t["customers"]) > 0]
    history = rows(os.path.join(folder, "retention_history.csv"))
    if history:
        out["history"] = [("lines", None, "retention lines")]
    cohorts = [r for r in rows(os.path.join(folder, "retention_cohorts.csv")) if r["retention_rate"] != ""]
    if cohorts:
        out["cohorts"] = [("heatmap", len(cohorts), "cohort cells")]
    model = json.load(open(os.path.join(folder, "model.json"))) if os.path.exists(os.path.join(folder, "model.json")) else None
    if model and model.get("validation"):
        deciles = len(model["validation"]["metrics"]["calibration"])
        terms = len([c for c in model["coefficients"] if c["term"] != "intercept"])
        out["model"] = [("xy", deciles, "calibration points"), ("xy", deciles + 1, "gains points"), ("bars", deciles, "lift bars"),
                        ("intervals", terms, "coefficient intervals")]
    value = os.path.join(folder, "value.json")
    if os.path.exists(value):
        v = json.load(open(value))
        out["value"] = [("histogram", None, "CLV distribution")]
        if v.get("alive_matrix"):
            m = v["alive_matrix"]
            out["value"].append(("heatmap", len(m["frequencies"]) * len(m["recency_days"]), "P(alive) cells"))
    evaluation = [r for r in rows(os.path.join(folder, "evaluation.csv")) if r.get("effect")]
    if evaluation:
        plans = sorted({r["plan_as_of"] for r in evaluation})[-6:]
        out["plans"] = [("intervals", len([r for r in evaluation if r["plan_as_of"] == p]), f"effects of the plan of {p}") for p in plans]
    run = json.load(open(os.path.join(folder, "run.json")))
    ingest = run["stages"].get("ingest", {}).get("counts", {})
    if ingest.get("rows_rejected", 0) > 0:
        reasons = [k for k, n in ingest.items() if k.startswith("rejected_") and n > 0]
        out["rejects"] = [("bars", len(reasons), "rejects per reason")]
    return out


class Sources(html.parser.HTMLParser):
    """Every attribute and every style sheet of the page source: where a fetched URL would be."""
    def __init__(self):
        super().__init__()
        self.found, self.in_style = [], False

    def handle_starttag(self, tag, attrs):
        self.in_style = tag == "style"
        for name, value in attrs:
            v = (value or "").strip()
            if name in URL_ATTRIBUTES and not v.startswith("#"):
                self.found.append(f"<{tag} {name}={v!r}>")
            elif re.search(r"url\(|://|@import", v, re.I):
                self.found.append(f"<{tag} {name}={v[:80]!r}>")

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if self.in_style and re.search(r"url\(|://|@import", data, re.I):
            self.found.append("a style sheet that loads a URL")


URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href", "background", "ping", "manifest"}


def a4_pages(pdf):
    """Problems with the page as Chromium printed it: every page of the PDF must be A4
    (595 x 842 pt, the `@page` size), and there must be some."""
    if not os.path.exists(pdf):
        return ["Chromium printed no PDF"]
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", open(pdf, "rb").read())
    os.remove(pdf)
    sizes = {(round(float(b[2]) - float(b[0])), round(float(b[3]) - float(b[1]))) for b in boxes}
    if not boxes:
        return ["the printed PDF has no pages"]
    if sizes != {(595, 842)}:
        return [f"printed pages are not A4 (595 x 842 pt): {sorted(sizes)}"]
    return []


def check_page(chromium, page, folder, expect, workdir, screenshot=None, print_check=False, height=9000):
    problems = []
    sources = Sources()
    sources.feed(open(page, encoding="utf-8").read())
    problems += [f"a URL in the page source: {f}" for f in sources.found[:3]]
    png = os.path.join(workdir, os.path.basename(os.path.dirname(page) or "page") + "-check.png")
    pdf = os.path.join(workdir, "print.pdf") if print_check else None
    dom_text, log = render(chromium, page, png, height=height, pdf=pdf)
    console = [l for l in log if "CONSOLE" in l or "Uncaught" in l or "net::ERR" in l or "Failed to load" in l]
    problems += [f"console: {l.strip()[:200]}" for l in console[:5]]
    variance, colours = blankness(png)
    if variance < 50 or colours < 20:
        problems.append(f"the screenshot is blank (luminance variance {variance:.1f}, {colours} colours)")
    dom = DOM()
    dom.feed(dom_text)
    if dom.forbidden:
        problems.append(f"the DOM holds {', '.join(sorted(set(dom.forbidden)))} element(s)")
    for sid, wanted in expect.items():
        section = dom.sections.get(sid)
        if section is None:
            problems.append(f"section #{sid} is missing")
            continue
        charts = list(section["charts"])
        for kind, marks, what in wanted:
            found = next((c for c in charts if c["kind"] == kind and (marks is None or c["marks"] == marks) and c["marks"] > 0), None)
            if found is None:
                have = ", ".join(f"{c['kind']}({c['marks']})" for c in section["charts"]) or "none"
                problems.append(f"section #{sid}: no {kind} chart with {marks if marks is not None else 'any'} marks ({what}); charts there: {have}")
            else:
                charts.remove(found)
        for c in section["charts"]:
            if not c["title"] or not c["label"]:
                problems.append(f"section #{sid}: a {c['kind']} chart has no title")
            if c["axis_labels"] < 2:
                problems.append(f"section #{sid}: chart {c['title']!r} has {c['axis_labels']} axis labels (two wanted)")
            if c["untitled"]:
                problems.append(f"section #{sid}: chart {c['title']!r} has {c['untitled']} marks without a <title>")
    if pdf:
        problems += a4_pages(pdf)
    if screenshot:
        render(chromium, page, screenshot, height=2200, scale=1)
    return problems, variance, colours, sum(len(s["charts"]) for s in dom.sections.values())


def self_test(chromium, workdir):
    """The check must fail on pages made to be wrong."""
    folder = os.path.join(workdir, "self")
    os.makedirs(folder, exist_ok=True)
    json.dump({"stages": {}}, open(os.path.join(folder, "run.json"), "w"))
    good_svg = ('<svg class="chart" data-chart="lines" aria-label="t" viewBox="0 0 100 50"><title>t</title>'
                '<circle class="point" cx="10" cy="10" r="5"><title>p</title></circle><text class="axis-label">x</text>'
                '<text class="axis-label">y</text></svg>')
    body = "<h1>" + "Retain " * 40 + "</h1>" + "<p>" + "text " * 400 + "</p>"
    cases = {
        "blank": ("<!DOCTYPE html><html><body></body></html>", {}, "blank"),
        "url": (f"<!DOCTYPE html><html><body>{body}<a href=\"https://example.com/\">x</a></body></html>", {}, "URL"),
        "console": (f"<!DOCTYPE html><html><body>{body}<script>console.error('broken')</script></body></html>", {}, "console"),
        "missing chart": (f"<!DOCTYPE html><html><body>{body}<section id=\"history\"><h2>h</h2></section></body></html>",
                          {"history": [("lines", None, "retention lines")]}, "no lines chart"),
        "untitled mark": (f"<!DOCTYPE html><html><body>{body}<section id=\"history\">" + good_svg.replace("<title>p</title>", "")
                          + "</section></body></html>", {"history": [("lines", None, "retention lines")]}, "without a <title>"),
    }
    for name, (text, expect, needle) in cases.items():
        page = os.path.join(folder, "report.html")
        open(page, "w").write(text)
        problems = check_page(chromium, page, folder, expect, workdir, height=1600)[0]
        if not any(needle in p for p in problems):
            raise CheckError(f"self-test: the check passes a page with a {name} (problems found: {problems})")
    print(f"check-report: self-test: the check fails each of {len(cases)} pages made to be wrong")


# What scripts/check-report's hostile log holds, and how the page must show it.
HOSTILE_RAW = ["<script>alert(1)", "<img src=x"]
HOSTILE_ESCAPED = ["&lt;script&gt;alert(1)&lt;/script&gt;C", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;C", "a&amp;b&#39;C"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--screenshot", help="keep a full-size screenshot of the first folder's page here")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--hostile", help="a folder whose log's ids and rejected rows hold markup: the page must hold it escaped")
    ap.add_argument("folders", nargs="*")
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    try:
        if args.self_test:
            self_test(args.chromium, work)
        failed = False
        for i, folder in enumerate(args.folders + ([args.hostile] if args.hostile else [])):
            page = os.path.join(folder, "report.html")
            if not os.path.exists(page):
                print(f"check-report: {page}: missing", file=sys.stderr)
                failed = True
                continue
            problems, variance, colours, charts = check_page(args.chromium, page, folder, expectations(folder), work,
                                                             args.screenshot if i == 0 else None, print_check=True)
            source = open(page, encoding="utf-8").read()
            if folder == args.hostile:
                problems += [f"markup of the input unescaped: {t!r}" for t in HOSTILE_RAW if t in source]
                problems += [f"the hostile ids do not reach the page escaped: no {t!r}" for t in HOSTILE_ESCAPED if t not in source]
            if problems:
                failed = True
                for p in problems:
                    print(f"check-report: {page}: {p}", file=sys.stderr)
            else:
                print(f"check-report: {page}: {charts} charts, every expected one present; "
                      f"screenshot variance {variance:.0f}, {colours} colours; no console message, no URL; prints on A4")
        sys.exit(1 if failed else 0)
    except CheckError as e:
        print(f"check-report: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
