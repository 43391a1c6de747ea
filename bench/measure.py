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
    ap.add_argument("--mode", choices=["ingest", "features"], default="ingest")
    a = ap.parse_args()
    log = os.path.abspath(a.log)
    rows = sum(1 for _ in open(log, "rb")) - 1
    size_mb = os.path.getsize(log) / 1e6
    work = tempfile.mkdtemp(prefix="retain-bench-")
    pipeline = os.path.join(work, "bench.toml")
    out = os.path.join(work, "out")
    with open(pipeline, "w") as f:
        f.write(pipeline_for(log, out))

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


if __name__ == "__main__":
    main()
