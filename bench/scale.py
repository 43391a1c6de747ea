"""The whole pipeline against the tools analysts use instead, at several sizes.

For each size (millions of generated rows), in the same run and alternating the tools:
- `retain run` whole (wall, CPU, peak memory, rows/s) and per stage (from run.json);
- DuckDB computing the same features and label from the CSV in one SQL query;
- pandas + lifetimes' summary_data_from_transaction_data (sizes up to 10 million: slow);
- statsmodels' Newton fit of retain's training_matrix.csv (the matrix retain fitted; sizes
  up to 30 million: pandas reading the matrix takes more memory than retain's whole run);
- the ledger's size against the CSV's, and peak memory per customer.
Medians of the repeats; ratios to each peer; time per row across sizes. Writes
RESULTS/latest.md and RESULTS/scaling.svg and prints the Markdown.

With --nightly, the nightly case instead: the pipeline names a folder of inputs by a glob;
a full run of the log alone into a fresh folder, then, on a copy of that folder, the run
after one new daily file (bench/nightly_day.py: the log's last day again, a day later)
arrives in the input folder; both timed, in the same repeat."""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from measure import measure, pipeline_for  # noqa: E402

ROWS_PER_CUSTOMER = 10_511_393 / 1_900_000  # what `retain generate` makes, measured
STAGES = ["ingest", "features", "train", "score", "value", "segment", "evaluate", "report"]


def count_rows(path):
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n - 1


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def generated_log(a, size):
    """The generated log of `size` million rows (kept in the work folder) and its customers."""
    customers = max(1000, round(size * 1e6 / ROWS_PER_CUSTOMER))
    log = os.path.join(a.work, f"log-{customers}-{a.seed}.csv")
    if not os.path.exists(log) or os.path.getsize(log) == 0:
        subprocess.run([a.retain, "generate", "--customers", str(customers), "--seed", str(a.seed), log], check=True)
    return log, customers


def ledger_bytes(out):
    parts = os.path.join(out, "ledger", "parts")
    return sum(os.path.getsize(os.path.join(parts, f)) for f in os.listdir(parts) if f.endswith(".part"))


def run_nightly(a, size):
    """The full run, then the run after one new daily file, each `repeats` times."""
    log, customers = generated_log(a, size)
    rows = count_rows(log)
    # The inputs as a nightly job names them: a folder of files by a glob, the history first
    # (a link to the log), the new day's file after it in name order.
    work = tempfile.mkdtemp(prefix="retain-nightly-")
    inputs = os.path.join(work, "inputs")
    os.makedirs(inputs)
    os.symlink(log, os.path.join(inputs, "a-history.csv"))
    day = os.path.join(work, "b-day.csv")
    subprocess.run([sys.executable, os.path.join(HERE, "nightly_day.py"), log, day], check=True)
    full_out, night_out = os.path.join(work, "full"), os.path.join(work, "night")
    full_p, night_p = os.path.join(work, "full.toml"), os.path.join(work, "night.toml")
    with open(full_p, "w") as f:
        f.write(pipeline_for(os.path.join(inputs, "*.csv"), full_out))
    with open(night_p, "w") as f:
        f.write(pipeline_for(os.path.join(inputs, "*.csv"), night_out))
    res = {"full": [], "nightly": [], "stages": []}
    for _ in range(a.repeats):
        shutil.rmtree(full_out, ignore_errors=True)
        shutil.rmtree(night_out, ignore_errors=True)
        if os.path.lexists(os.path.join(inputs, "b-day.csv")):
            os.remove(os.path.join(inputs, "b-day.csv"))
        res["full"].append(measure([a.retain, "run", full_p, "-q"]))
        shutil.copytree(full_out, night_out, symlinks=True)
        os.symlink(day, os.path.join(inputs, "b-day.csv"))
        res["nightly"].append(measure([a.retain, "run", night_p, "-q"]))
        stages = json.load(open(os.path.join(night_out, "run.json")))["stages"]
        res["stages"].append({s: stages[s]["seconds"] for s in STAGES})
    day_rows = count_rows(day)
    shutil.rmtree(work, ignore_errors=True)
    med = lambda xs: tuple(median([x[i] for x in xs]) for i in range(3))
    return {"size": size, "rows": rows, "day_rows": day_rows, "customers": customers, "full": med(res["full"]),
            "nightly": med(res["nightly"]), "stages": {s: median([r[s] for r in res["stages"]]) for s in STAGES}}


def nightly_markdown(results, a):
    lines = [f"Nightly case, median of {a.repeats}; {time.strftime('%Y-%m-%d')}.", "",
             "| rows | new day's rows | full run s | run after the new day s | nightly / full | nightly per stage |",
             "|---:|---:|---:|---:|---:|---|"]
    for r in results:
        per = ", ".join(f"{s} {r['stages'][s]:.2f}" for s in STAGES)
        lines.append(f"| {r['rows']:,} | {r['day_rows']:,} | {r['full'][0]:.2f} | {r['nightly'][0]:.2f} | "
                     f"{r['nightly'][0] / r['full'][0]:.2f} | {per} |")
    return "\n".join(lines) + "\n"


def run_size(a, size):
    log, customers = generated_log(a, size)
    rows = count_rows(log)
    work = tempfile.mkdtemp(prefix="retain-scale-")
    out = os.path.join(work, "out")
    pipeline = os.path.join(work, "p.toml")
    with open(pipeline, "w") as f:
        f.write(pipeline_for(log, out))
    py = sys.executable
    res = {"retain": [], "duckdb": [], "lifetimes": [], "statsmodels": [], "stages": []}
    lifetimes = size <= a.lifetimes_max
    for _ in range(a.repeats):
        shutil.rmtree(out, ignore_errors=True)
        res["retain"].append(measure([a.retain, "run", pipeline, "-q"]))
        stages = json.load(open(os.path.join(out, "run.json")))["stages"]
        res["stages"].append({s: (stages[s]["seconds"], stages[s]["cpu_seconds"], stages[s]["peak_memory_megabytes"]) for s in STAGES})
        res["duckdb"].append(measure([py, os.path.join(HERE, "duckdb_features.py"), log, os.path.join(work, "duck.csv")]))
        if lifetimes:
            res["lifetimes"].append(measure([py, os.path.join(HERE, "lifetimes_summary.py"), log, os.path.join(work, "lt.csv")]))
        res["ledger"] = ledger_bytes(out)
        fit = float("nan")
        if size <= a.statsmodels_max:
            matrix = os.path.join(out, "training_matrix.csv")
            proc = subprocess.run([py, os.path.join(HERE, "statsmodels_fit.py"), matrix], capture_output=True, text=True, check=True)
            fit = float(proc.stdout.split()[1])
        res["statsmodels"].append((fit, stages["train"]["measures"]["fit_seconds"]))
    train_customers = stages["train"]["counts"]["training_customers"]
    shutil.rmtree(work, ignore_errors=True)
    med = lambda xs: tuple(median([x[i] for x in xs]) for i in range(3)) if xs else None
    return {
        "size": size, "rows": rows, "customers": customers, "train_customers": train_customers,
        "csv_bytes": os.path.getsize(log), "ledger_bytes": res["ledger"],
        "retain": med(res["retain"]), "duckdb": med(res["duckdb"]), "lifetimes": med(res["lifetimes"]),
        "statsmodels_fit": median([x[0] for x in res["statsmodels"]]), "retain_fit": median([x[1] for x in res["statsmodels"]]),
        "stages": {s: tuple(median([r[s][i] for r in res["stages"]]) for i in range(3)) for s in STAGES},
    }


def svg_chart(results, path):
    """Seconds against millions of rows, one line per tool, drawn by hand (no plotting library)."""
    series = {
        "retain run (all stages)": ("#1f77b4", [(r["rows"] / 1e6, r["retain"][0]) for r in results]),
        "DuckDB feature query": ("#ff7f0e", [(r["rows"] / 1e6, r["duckdb"][0]) for r in results]),
        "pandas + lifetimes summary": ("#2ca02c", [(r["rows"] / 1e6, r["lifetimes"][0]) for r in results if r["lifetimes"]]),
        "statsmodels Newton fit": ("#d62728", [(r["rows"] / 1e6, r["statsmodels_fit"]) for r in results if r["statsmodels_fit"] == r["statsmodels_fit"]]),
    }
    w, h, left, bottom, top, right = 720, 440, 70, 50, 30, 250
    xmax = max(x for _, pts in series.values() for x, _ in pts) * 1.05
    ymax = max(y for _, pts in series.values() for _, y in pts) * 1.1
    X = lambda x: left + (w - left - right) * x / xmax
    Y = lambda y: h - bottom - (h - top - bottom) * y / ymax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left}" y="18" font-size="14">Wall time against log size ({os.cpu_count()} cores), median of repeats</text>',
           f'<line x1="{left}" y1="{Y(0)}" x2="{X(xmax)}" y2="{Y(0)}" stroke="black"/>',
           f'<line x1="{left}" y1="{Y(0)}" x2="{left}" y2="{Y(ymax)}" stroke="black"/>',
           f'<text x="{(left + X(xmax)) / 2}" y="{h - 12}" text-anchor="middle">million rows</text>',
           f'<text x="16" y="{(top + h - bottom) / 2}" transform="rotate(-90 16 {(top + h - bottom) / 2})" text-anchor="middle">seconds</text>']
    for r in results:
        x = r["rows"] / 1e6
        out.append(f'<line x1="{X(x)}" y1="{Y(0)}" x2="{X(x)}" y2="{Y(0) + 5}" stroke="black"/>')
        out.append(f'<text x="{X(x)}" y="{Y(0) + 18}" text-anchor="middle">{x:.1f}</text>')
    step = 10 ** max(0, len(str(int(ymax))) - 1)
    for k in range(0, int(ymax) + 1, max(1, step)):
        out.append(f'<line x1="{left - 5}" y1="{Y(k)}" x2="{X(xmax)}" y2="{Y(k)}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{Y(k) + 4}" text-anchor="end">{k}</text>')
    for i, (name, (color, pts)) in enumerate(series.items()):
        if not pts:
            continue
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="' + " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in pts) + '"/>')
        for x, y in pts:
            out.append(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{color}"/>')
        ly = top + 20 + 20 * i
        out.append(f'<line x1="{w - right + 20}" y1="{ly}" x2="{w - right + 45}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 50}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def markdown(results, a):
    def cpu_model():
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "unknown CPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [f"Machine: {cpu_model()}, {os.cpu_count()} cores, {mem:.0f} GiB; {platform.system()} {platform.release()}; "
             f"median of {a.repeats} per size; {time.strftime('%Y-%m-%d')}.", ""]
    lines += ["| rows | customers | tool | wall s | CPU s | peak MB | rows/s | its time / retain's |", "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        rw = r["retain"][0]
        def row(name, m, ratio=True):
            speed = f"{r['rows'] / m[0] / 1e6:.2f} M" if m[0] > 0 else ""
            rat = f"{m[0] / rw:.2f}" if ratio else ""
            lines.append(f"| {r['rows']:,} | {r['customers']:,} | {name} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.0f} | {speed} | {rat} |")
        row("retain run (all stages)", r["retain"], ratio=False)
        row("DuckDB feature query", r["duckdb"])
        if r["lifetimes"]:
            row("pandas + lifetimes summary", r["lifetimes"])
    lines += ["", "Per stage of `retain run` (from run.json; peak memory is the process's so far):", "",
              "| rows | " + " | ".join(STAGES) + " |", "|---:|" + "---:|" * len(STAGES)]
    for r in results:
        lines.append(f"| {r['rows']:,} | " + " | ".join(f"{r['stages'][s][0]:.2f} s" for s in STAGES) + " |")
    lines += ["", "| rows | peak MB after each stage |", "|---:|---|"]
    for r in results:
        lines.append(f"| {r['rows']:,} | " + ", ".join(f"{s} {r['stages'][s][2]:.0f}" for s in STAGES) + " |")
    lines += ["", "| rows | CSV MB | ledger MB | ledger / CSV | retain's peak bytes per customer |", "|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['rows']:,} | {r['csv_bytes'] / 1e6:.0f} | {r['ledger_bytes'] / 1e6:.0f} | "
                     f"{r['ledger_bytes'] / r['csv_bytes']:.1%} | {r['retain'][2] * 2**20 / r['customers']:.0f} |")
    lines += ["", "Model fit on the same matrix (retain's `fit_seconds` against statsmodels' `Logit.fit(method=\"newton\")`):", "",
              "| rows | training customers | retain fit s | statsmodels fit s | statsmodels / retain |", "|---:|---:|---:|---:|---:|"]
    for r in results:
        if r["statsmodels_fit"] != r["statsmodels_fit"]:  # NaN: above --statsmodels-max
            lines.append(f"| {r['rows']:,} | {r['train_customers']:,} | {r['retain_fit']:.3f} | (not run) | |")
            continue
        lines.append(f"| {r['rows']:,} | {r['train_customers']:,} | {r['retain_fit']:.3f} | {r['statsmodels_fit']:.3f} | "
                     f"{r['statsmodels_fit'] / r['retain_fit']:.1f} |")
    if len(results) > 1:
        first, last = results[0], results[-1]
        per = lambda r: r["retain"][0] / r["rows"] * 1e6
        lines += ["", f"Time per row: {per(first):.3f} µs at {first['rows']:,} rows, {per(last):.3f} µs at {last['rows']:,} "
                  f"({per(last) / per(first):.2f}x).", ""]
    lines += ["![wall time against size](scaling.svg)", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retain", required=True)
    ap.add_argument("--sizes", default="1,10,30,100", help="millions of rows, comma-separated")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lifetimes-max", type=float, default=10, help="largest size (millions) to run lifetimes on")
    ap.add_argument("--statsmodels-max", type=float, default=30, help="largest size (millions) to run statsmodels on")
    ap.add_argument("--nightly", action="store_true", help="the nightly case instead of the peers")
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    os.makedirs(a.results, exist_ok=True)
    if a.nightly:
        md = nightly_markdown([run_nightly(a, float(s)) for s in a.sizes.split(",")], a)
        with open(os.path.join(a.results, "nightly.md"), "w") as f:
            f.write(md)
        print(md)
        return
    results = [run_size(a, float(s)) for s in a.sizes.split(",")]
    md = markdown(results, a)
    with open(os.path.join(a.results, "latest.md"), "w") as f:
        f.write(md)
    svg_chart(results, os.path.join(a.results, "scaling.svg"))
    print(md)


if __name__ == "__main__":
    main()
