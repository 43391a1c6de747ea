"""Compares retain's features.csv with the same definitions computed by DuckDB SQL
(scripts/features_sql.py), customer by customer and feature by feature. A, H, W and the
active window are read from retain's run.json.

Tolerance: integers and labels exactly; other values to 1e-9 x max(1, |value|) (retain
writes them correctly rounded to 9 decimals: absolute error at most 5e-10); empty on both
sides where a value does not exist."""
import csv, json, math, sys
import duckdb
from features_sql import COLUMNS, features_sql

log, out = sys.argv[1], sys.argv[2]
f = json.load(open(f"{out}/run.json"))["stages"]["features"]
a, c = f["dates"]["training_as_of"], f["counts"]
with open(f"{out}/features.csv", newline="") as fh:
    rows = list(csv.DictReader(fh))
present = [k for k in COLUMNS if rows and k in rows[0]]
optional = "margin_rate" in present
sql = features_sql(log, f"DATE '{a}'", c["horizon_days"], c["trend_window_days"], c["active_window_days"], optional)
expected = {r[0]: dict(zip(COLUMNS, r[1:])) for r in duckdb.connect().execute(sql).fetchall()}
got = {r["customer_id"]: r for r in rows}

problems = []
if set(got) != set(expected):
    problems.append(f"customers differ: {len(set(got) - set(expected))} only in retain, {len(set(expected) - set(got))} only in DuckDB")
worst = 0.0
for cid in sorted(set(got) & set(expected)):
    for k in present:
        g, e = got[cid][k], expected[cid][k]
        if e is None or (isinstance(e, float) and math.isnan(e)):
            if g != "":
                problems.append(f"{cid} {k}: retain {g!r}, DuckDB empty")
            continue
        if g == "":
            problems.append(f"{cid} {k}: retain empty, DuckDB {e!r}")
            continue
        diff = abs(float(g) - float(e)) / max(1.0, abs(float(e)))
        worst = max(worst, diff)
        if diff > 1e-9:
            problems.append(f"{cid} {k}: retain {g} against DuckDB {e!r}")
print(f"check-features: {len(got)} customers x {len(present)} columns as of {a}; worst difference {worst:.1e} "
      f"(limit 1e-9 x max(1, |value|)); {len(problems)} problems")
for p in problems[:10]:
    print("  " + p)
sys.exit(1 if problems else 0)
