"""Times whole processes fairly: each repeat is a fresh process, measured with wait4's
rusage (wall time, user+system CPU, peak resident memory). Reports medians."""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))

ROOT = os.path.dirname(HERE)


def pipeline_for(log, out):
    """pipelines/sample.toml (which maps every column `retain generate` writes), pointed
    at this log and output folder: one place says how a generated log is read."""
    with open(os.path.join(ROOT, "pipelines", "sample.toml")) as f:
        text = f.read()
    return text.replace("../datasets/sample/transactions.csv", log).replace("../out/sample", out)


def measure(cmd, env=None):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retain", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mode", choices=["ingest", "features", "train", "fit-memory", "value", "workers", "compare", "spark"], default="ingest")
    ap.add_argument("--baseline", help="for --mode compare and fit-memory: another retain binary (an earlier build)")
    ap.add_argument("--copies", type=int, default=1, help="for --mode fit-memory: each snapshot's rows this many times")
    ap.add_argument("--fit-stages", default="train,value", help="for --mode fit-memory: which of train and value to run (comma-separated); only their inputs are repeated")
    ap.add_argument("--memory-limit", type=float, help="for --mode fit-memory: GB of memory (a cgroup; needs root) each stage runs in")
    a = ap.parse_args()
    log = os.path.abspath(a.log)
    rows = sum(1 for _ in open(log, "rb")) - 1
    size_mb = os.path.getsize(log) / 1e6
    work = tempfile.mkdtemp(prefix="retain-bench-")
    pipeline = os.path.join(work, "bench.toml")
    out = os.path.join(work, "out")
    with open(pipeline, "w") as f:
        f.write(pipeline_for(log, out))

    if a.mode == "train":
        return train(a, log, rows, size_mb, work, pipeline, out)
    if a.mode == "spark":
        return spark(a, log, rows, size_mb, work, pipeline, out)
    if a.mode == "fit-memory":
        return fit_memory(a, log, rows, size_mb, work, pipeline, out)
    if a.mode == "value":
        return value(a, log, rows, size_mb, work, pipeline, out)
    if a.mode in ("workers", "compare"):
        return (workers if a.mode == "workers" else compare)(a, log, rows, size_mb, work, pipeline, out)
    if a.mode == "ingest":
        ours, peer = "retain ingest", "DuckDB CSV -> table"
        ours_cmd = [a.retain, "run", pipeline, "--only", "ingest", "-q"]
        peer_cmd = [sys.executable, os.path.join(HERE, "duckdb_load.py"), log]
        title = "Ingest"
    else:
        ours, peer = "retain ingest + features", "DuckDB feature query"
        ours_cmd = [a.retain, "run", pipeline, "--to", "features", "-q"]
        peer_cmd = [sys.executable, os.path.join(HERE, "duckdb_features.py"), log, os.path.join(work, "duckdb-features.csv")]
        title = "CSV to features.csv (training snapshot; retain also writes two more snapshots)"
    results = {ours: [], peer: []}
    for _ in range(a.repeats):
        # Alternate the tools so drift on the machine hits both alike.
        shutil.rmtree(out, ignore_errors=True)
        results[ours].append(measure(ours_cmd))
        results[peer].append(measure(peer_cmd))
    shutil.rmtree(work, ignore_errors=True)

    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in results.items()}
    print(f"{title}: {rows:,} rows ({size_mb:,.0f} MB), median of {a.repeats}, on {os.cpu_count()} cores\n")
    print("| tool | wall s | CPU s | peak MB | rows/s |")
    print("|---|---:|---:|---:|---:|")
    for k, (w, c, m) in med.items():
        print(f"| {k} | {w:.2f} | {c:.2f} | {m:.0f} | {rows / w / 1e6:.1f} M |")
    r, d = med[ours], med[peer]
    print(f"\nretain is {d[0] / r[0]:.2f}x DuckDB's speed (wall), peak memory {r[2]:.0f} MB vs {d[2]:.0f} MB")


def alternate(commands, repeats, out):
    """Each command `repeats` times, the commands taking turns (drift hits all alike), the
    output folder removed before each; medians of (wall, CPU, peak MB) by name."""
    results = {name: [] for name, _, _ in commands}
    for _ in range(repeats):
        for name, cmd, env in commands:
            shutil.rmtree(out, ignore_errors=True)
            results[name].append(measure(cmd, env))
    return {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in results.items()}


def with_env(**extra):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def workers(a, log, rows, size_mb, work, pipeline, out):
    """Ingest and ingest + features with 1 and 2 workers (`--workers`), and DuckDB with 1
    and 2 threads on the same jobs: the speed-up from a second core, each tool's own."""
    features_csv = os.path.join(work, "duckdb-features.csv")
    jobs = [
        ("ingest", ["--only", "ingest"], [sys.executable, os.path.join(HERE, "duckdb_load.py"), log]),
        ("ingest + features", ["--to", "features"], [sys.executable, os.path.join(HERE, "duckdb_features.py"), log, features_csv]),
    ]
    print(f"Worker threads: {rows:,} rows ({size_mb:,.0f} MB), median of {a.repeats}, on {os.cpu_count()} cores\n")
    print("| job | tool | 1 thread wall s (CPU s) | 2 threads wall s (CPU s) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for job, args, duck in jobs:
        commands = [(f"retain {n}", [a.retain, "run", pipeline, *args, "-q", "--workers", str(n)], None) for n in (1, 2)]
        commands += [(f"duckdb {n}", duck, with_env(BENCH_THREADS=n)) for n in (1, 2)]
        med = alternate(commands, a.repeats, out)
        for tool in ("retain", "duckdb"):
            one, two = med[f"{tool} 1"], med[f"{tool} 2"]
            print(f"| {job} | {'retain' if tool == 'retain' else 'DuckDB'} | {one[0]:.2f} ({one[1]:.2f}) | "
                  f"{two[0]:.2f} ({two[1]:.2f}) | {one[0] / two[0]:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


def compare(a, log, rows, size_mb, work, pipeline, out):
    """This build against `--baseline` (an earlier build) on the whole run, ingest, and
    ingest + features, with DuckDB's feature query as the peer, all in one run."""
    if not a.baseline:
        sys.exit("bench: --mode compare needs --baseline BINARY")
    features_csv = os.path.join(work, "duckdb-features.csv")
    duck = [sys.executable, os.path.join(HERE, "duckdb_features.py"), log, features_csv]
    jobs = [("whole run", []), ("ingest", ["--only", "ingest"]), ("ingest + features", ["--to", "features"])]
    print(f"This build against the baseline: {rows:,} rows ({size_mb:,.0f} MB), median of {a.repeats}, "
          f"on {os.cpu_count()} cores\n")
    print("| job | baseline wall s | this build wall s | this / baseline | DuckDB feature query wall s |")
    print("|---|---:|---:|---:|---:|")
    for job, args in jobs:
        med = alternate([("baseline", [a.baseline, "run", pipeline, *args, "-q"], None),
                         ("this", [a.retain, "run", pipeline, *args, "-q"], None),
                         ("duckdb", duck, None)], a.repeats, out)
        b, t, d = med["baseline"][0], med["this"][0], med["duckdb"][0]
        print(f"| {job} | {b:.2f} | {t:.2f} | {t / b:.3f} | {d:.2f} |")
    shutil.rmtree(work, ignore_errors=True)


# Ten features without empty values: the "1.4 million customers x 10 features".
TRAIN_FEATURES = ["recency_days", "frequency", "monetary", "tenure_days", "spend_last_window",
                  "spend_previous_window", "orders_last_window", "orders_previous_window",
                  "refund_rate", "discount_share"]


def train(a, log, rows, size_mb, work, pipeline, out):
    """retain's train stage against statsmodels' Newton fit of the matrix retain fitted
    (training_matrix.csv). The fits are compared (each tool's own timer around its fit:
    retain's `fit_seconds` in run.json, statsmodels' Logit(...).fit(method="newton") with
    the CSV already loaded); the whole processes are shown too."""
    import json
    features = "features = [" + ", ".join(f'"{x}"' for x in TRAIN_FEATURES) + "]\n"
    with open(pipeline) as f:
        text = f.read()
    # The sample's [model] section, with the benchmark's ten features and no transforms.
    text = text.replace("[model]\n", "[model]\n" + features, 1) if "[model]\n" in text else text + "\n[model]\n" + features
    text = text.split("[model.transforms]")[0] + ("\n[output]" + text.split("[output]")[1] if "[model.transforms]" in text else "")
    with open(pipeline, "w") as f:
        f.write(text)
    subprocess.run([a.retain, "run", pipeline, "--to", "features", "-q"], check=True)
    matrix = os.path.join(out, "training_matrix.csv")
    ours_cmd = [a.retain, "run", pipeline, "--only", "train", "-q"]
    peer_script = os.path.join(HERE, "statsmodels_fit.py")
    ours, peer = [], []
    for _ in range(a.repeats):
        wall, cpu, mem = measure(ours_cmd)
        record = json.load(open(os.path.join(out, "run.json")))["stages"]["train"]
        ours.append((record["measures"]["fit_seconds"], wall, cpu, mem))
        proc = subprocess.run([sys.executable, peer_script, matrix], capture_output=True, text=True, check=True)
        fit = float(proc.stdout.split()[1])
        wall, cpu, mem = measure([sys.executable, peer_script, matrix])
        peer.append((fit, wall, cpu, mem))
    n = record["counts"]["training_customers"]
    terms = record["counts"]["terms"]
    shutil.rmtree(work, ignore_errors=True)
    med = lambda xs: tuple(statistics.median(x[i] for x in xs) for i in range(4))
    o, p = med(ours), med(peer)
    print(f"Train: logistic fit of {n:,} customers x {terms} features ({rows:,}-row log), median of {a.repeats}, "
          f"on {os.cpu_count()} cores\n")
    print("| tool | fit s | whole process wall s | CPU s | peak MB |")
    print("|---|---:|---:|---:|---:|")
    print(f"| retain train stage (Newton, dsyrk/dpotrf) | {o[0]:.3f} | {o[1]:.2f} | {o[2]:.2f} | {o[3]:.0f} |")
    print(f"| statsmodels Logit.fit(method=\"newton\") | {p[0]:.3f} | {p[1]:.2f} | {p[2]:.2f} | {p[3]:.0f} |")
    print(f"\nretain's fit takes {o[0] / p[0]:.2f} of statsmodels' time ({p[0] / o[0]:.1f}x faster). "
          f"retain's stage also reads two snapshots, fits the out-of-time model, and writes the matrix, "
          f"coefficients and model.json; statsmodels' process only loads the CSV and fits.")


def spark(a, log, rows, size_mb, work, pipeline, out):
    """The Spark engine in local mode (`[engine] kind = "spark"`, master local[2], pyspark's
    spark-sql from scripts/install-deps --spark) against retain's own engine on the same
    log: the whole run, and ingest + features (the part Spark does)."""
    submit = os.path.join(ROOT, ".venv", "bin", "spark-sql")
    if not os.access(submit, os.X_OK):
        sys.exit("bench: no .venv/bin/spark-sql: run scripts/install-deps --spark")
    spark_pipeline = os.path.join(work, "spark.toml")
    with open(pipeline) as f:
        text = f.read()
    with open(spark_pipeline, "w") as f:
        f.write(text + f'\n[engine]\nkind = "spark"\nsubmit = "{submit}"\nmaster = "local[2]"\n'
                f'scratch = "{os.path.join(work, "scratch")}"\n\n[engine.conf]\n"spark.ui.enabled" = "false"\n'
                '"spark.driver.memory" = "4g"\n')
    med = alternate([("retain, whole run", [a.retain, "run", pipeline, "-q"], None),
                     ("Spark local[2], whole run", [a.retain, "run", spark_pipeline, "-q"], None),
                     ("retain, ingest + features", [a.retain, "run", pipeline, "--to", "features", "-q"], None),
                     ("Spark local[2], ingest + features", [a.retain, "run", spark_pipeline, "--to", "features", "-q"], None)],
                    a.repeats, out)
    print(f"Spark engine: {rows:,} rows ({size_mb:,.0f} MB), median of {a.repeats}, on {os.cpu_count()} cores\n")
    print("| run | wall s | CPU s | peak MB |")
    print("|---|---:|---:|---:|")
    for k, (w, c, m) in med.items():
        print(f"| {k} | {w:.2f} | {c:.2f} | {m:.0f} |")
    whole = med["Spark local[2], whole run"][0] / med["retain, whole run"][0]
    part = med["Spark local[2], ingest + features"][0] / med["retain, ingest + features"][0]
    print(f"\nSpark local[2] takes {whole:.2f}x retain's time for the whole run, {part:.2f}x for ingest + features.")
    shutil.rmtree(work, ignore_errors=True)


def limited(cmd, limit_gb=None):
    """One run of `cmd`, in a fresh memory cgroup of `limit_gb` GB when given (cgroup v2 or
    v1; needs root), its anonymous memory (RssAnon, the heap: what the kernel cannot drop
    and read back) sampled every 5 ms: (wall, CPU, peak anonymous MB, peak RSS MB, exit).
    RSS also counts mapped file pages, which the kernel reclaims under the limit."""
    import threading
    group = None
    if limit_gb:
        name = f"retain-bench-{os.getpid()}"
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            group = f"/sys/fs/cgroup/{name}"
            os.makedirs(group, exist_ok=True)
            open(f"{group}/memory.max", "w").write(str(int(limit_gb * 2**30)))
            open(f"{group}/memory.swap.max", "w").write("0")
        else:
            group = f"/sys/fs/cgroup/memory/{name}"
            os.makedirs(group, exist_ok=True)
            open(f"{group}/memory.limit_in_bytes", "w").write(str(int(limit_gb * 2**30)))
    procs = f"{group}/cgroup.procs" if group else None
    enter = (lambda: open(procs, "w").write(str(os.getpid()))) if procs else None
    err = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=enter)
    peak = [0]
    done = threading.Event()
    def sample():
        while not done.is_set():
            try:
                for line in open(f"/proc/{proc.pid}/status"):
                    if line.startswith("RssAnon:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.005)
    t = threading.Thread(target=sample)
    t.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set(); t.join()
    if group:
        for attempt in range(100):
            try:
                os.rmdir(group); break
            except OSError as e:
                if attempt == 99:
                    print(f"bench: cannot remove the cgroup {group}: {e}; rmdir it by hand", file=sys.stderr)
                time.sleep(0.05)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and code != -9:
        err.seek(0)
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err.read().decode()}")
    return wall, ru.ru_utime + ru.ru_stime, peak[0] / 1024, ru.ru_maxrss / 1024, code


def repeat_rows(path, copies):
    """The file's rows `copies` times under its header, in place (the same customers again,
    in the same order in every file: the value stage's walk of scores.csv against
    summary.csv still pairs them)."""
    if copies <= 1:
        return
    with open(path, "rb") as f, open(path + ".copies", "wb") as out:
        header = f.readline()
        out.write(header)
        body = f.tell()
        for _ in range(copies):
            f.seek(body)
            shutil.copyfileobj(f, out, 1 << 24)
    os.replace(path + ".copies", path)


def fit_memory(a, log, rows, size_mb, work, pipeline, out):
    """The fitting stages alone (`--only train`, then `--only value`) on the sample
    pipeline's snapshots (one `--to score` run), each input repeated `--copies` times,
    each run in a `--memory-limit` GB cgroup when given, taking turns with `--baseline`:
    wall time, peak anonymous memory (the heap), and whether it finished or was killed at
    the limit; the heap per customer, and so how many customers 4 GB holds."""
    import json
    subprocess.run([a.retain, "run", pipeline, "--to", "score", "-q"], check=True)
    current = os.path.join(out, "current")
    stages = [st for st in ["train", "value"] if st in a.fit_stages.split(",")]
    if not stages:
        sys.exit("bench: --fit-stages names neither train nor value")
    inputs = {"train": ["features.csv", "snapshots/validation.csv"], "value": ["snapshots/summary.csv", "scores.csv"]}
    for f in [f for st in stages for f in inputs[st]]:
        repeat_rows(os.path.join(current, f), a.copies)
    builds = [("this build", a.retain)] + ([("baseline", a.baseline)] if a.baseline else [])
    runs = {(name, st): [] for name, _ in builds for st in stages}
    counts = {}
    for _ in range(a.repeats):
        for name, binary in builds:
            for st in stages:
                r = limited([binary, "run", pipeline, "--only", st, "-q"], a.memory_limit)
                runs[(name, st)].append(r)
                if r[4] == 0:
                    c = json.load(open(os.path.join(out, "run.json")))["stages"][st]["counts"]
                    counts[st] = c["training_customers"] if st == "train" else c["summary_customers"]
    shutil.rmtree(work, ignore_errors=True)
    limit = f", each in a {a.memory_limit:g} GB memory cgroup" if a.memory_limit else ""
    who = {"train": f"{counts.get('train', 0):,} training customers", "value": f"{counts.get('value', 0):,} in the value stage's summary"}
    print(f"The fitting stages alone: the snapshots of a {rows:,}-row log, repeated {a.copies}x: "
          f"{', '.join(who[st] for st in stages)}; median of {a.repeats}, on {os.cpu_count()} cores{limit}\n")
    print("| build | stage | finished | wall s | CPU s | peak heap MB | peak RSS MB | heap bytes a customer | 4 GB of heap holds |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    med = {}
    for name, _ in builds:
        for st in stages:
            rs = runs[(name, st)]
            ok = [r for r in rs if r[4] == 0]
            if not ok:
                print(f"| {name} | {st} | no: killed at the limit ({len(rs)} of {len(rs)}) | | | | | | |")
                continue
            wall, cpu, heap, rss = (statistics.median(r[i] for r in ok) for i in range(4))
            med[(name, st)] = (wall, heap)
            per = heap * 1e6 / max(counts.get(st, 1), 1)
            print(f"| {name} | {st} | {len(ok)} of {len(rs)} | {wall:.2f} | {cpu:.2f} | {heap:.0f} | {rss:.0f} | {per:.0f} | {4e9 / per / 1e6:.1f} M |")
    if a.baseline:
        for st in stages:
            if (("this build", st) in med) and (("baseline", st) in med):
                (tw, tm), (bw, bm) = med[("this build", st)], med[("baseline", st)]
                print(f"\n{st}: this build takes {tw / bw:.3f}x the baseline's time and {tm / bm:.3f}x its peak heap.")


def value(a, log, rows, size_mb, work, pipeline, out):
    """retain's BG/NBD and Gamma-Gamma fits against lifetimes' on the same customer-base
    summary (snapshots/summary.csv, the scoring date's): each tool's own timer around its
    fits (retain's `btyd_scoring_fit_seconds` and `gamma_gamma_fit_seconds` in run.json;
    lifetimes with the CSV already loaded)."""
    import json
    ours, peer = [], []
    for _ in range(a.repeats):
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu, mem = measure([a.retain, "run", pipeline, "--to", "value", "-q"])
        stages = json.load(open(os.path.join(out, "run.json")))["stages"]
        ours.append((stages["features"]["measures"]["btyd_scoring_fit_seconds"], stages["value"]["measures"]["gamma_gamma_fit_seconds"]))
        proc = subprocess.run([sys.executable, os.path.join(HERE, "lifetimes_fit.py"), os.path.join(out, "snapshots", "summary.csv")],
                              capture_output=True, text=True, check=True)
        f = proc.stdout.split()
        peer.append((float(f[1]), float(f[3])))
    customers = stages["value"]["counts"]["summary_customers"]
    repeaters = stages["value"]["counts"]["repeat_buyers"]
    shutil.rmtree(work, ignore_errors=True)
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    print(f"Value models: BG/NBD on {customers:,} customers, Gamma-Gamma on {repeaters:,} repeat customers "
          f"({rows:,}-row log), median of {a.repeats}, on {os.cpu_count()} cores\n")
    print("| fit | retain s | lifetimes s | lifetimes / retain |")
    print("|---|---:|---:|---:|")
    total_o = total_p = 0.0
    for i, name in enumerate(["BG/NBD", "Gamma-Gamma"]):
        o, p = med(ours, i), med(peer, i)
        total_o += o; total_p += p
        print(f"| {name} | {o:.3f} | {p:.2f} | {p / o:.0f}x |")
    print(f"| both | {total_o:.3f} | {total_p:.2f} | {total_p / total_o:.0f}x |")


if __name__ == "__main__":
    main()
