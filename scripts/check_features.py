"""Compares retain's features.csv with the same definitions computed in DuckDB SQL.

The SQL follows CONTRACT.md word for word: as of A (history = dates <= A),
recency_days = A - last purchase (amount > 0); frequency = distinct order ids with
amount > 0; monetary = net amount (refunds included) / frequency; tenure_days = A - first
purchase; churned = no purchase in (A, A + H]; the population = customers with a purchase
in (A - active window, A]. A, H and the window are read from retain's run.json.
"""
import csv, json, math, sys
import duckdb

log, out = sys.argv[1], sys.argv[2]
run = json.load(open(f"{out}/run.json"))
f = run["stages"]["features"]
a, h, window = f["dates"]["training_as_of"], f["counts"]["horizon_days"], f["counts"]["active_window_days"]

sql = f"""
WITH t AS (SELECT customer_id, CAST(date AS DATE) AS d, CAST(amount AS DOUBLE) AS amount, order_id
           FROM read_csv(?, header = true, all_varchar = true)),
hist AS (SELECT * FROM t WHERE d <= DATE '{a}'),
orders AS (SELECT customer_id, count(DISTINCT order_id) AS frequency FROM hist WHERE amount > 0 GROUP BY customer_id),
agg AS (SELECT customer_id, max(d) FILTER (WHERE amount > 0) AS last_p, min(d) FILTER (WHERE amount > 0) AS first_p,
               sum(amount) AS net FROM hist GROUP BY customer_id),
later AS (SELECT DISTINCT customer_id FROM t
          WHERE amount > 0 AND d > DATE '{a}' AND d <= DATE '{a}' + INTERVAL {h} DAY)
SELECT agg.customer_id, DATE '{a}' - last_p, frequency, net / frequency, DATE '{a}' - first_p,
       CASE WHEN later.customer_id IS NULL THEN 1 ELSE 0 END
FROM agg JOIN orders USING (customer_id) LEFT JOIN later USING (customer_id)
WHERE last_p > DATE '{a}' - INTERVAL {window} DAY
ORDER BY agg.customer_id
"""
expected = {r[0]: r[1:] for r in duckdb.connect().execute(sql, [log]).fetchall()}

got = {}
with open(f"{out}/features.csv", newline="") as fh:
    for row in csv.DictReader(fh):
        got[row["customer_id"]] = (int(row["recency_days"]), int(row["frequency"]), float(row["monetary"]),
                                   int(row["tenure_days"]), int(row["churned"]))

problems = []
if set(got) != set(expected):
    problems.append(f"customers differ: {len(set(got) - set(expected))} only in retain, {len(set(expected) - set(got))} only in DuckDB")
worst = 0.0
for cid in sorted(set(got) & set(expected)):
    g, e = got[cid], expected[cid]
    if (g[0], g[1], g[3], g[4]) != (e[0], e[1], e[3], e[4]):
        problems.append(f"{cid}: retain {g} DuckDB {e}")
    # Tolerance 1e-9, relative to the value, absolute below 1: features.csv writes money
    # correctly rounded to 9 decimals (absolute error at most 5e-10).
    diff = abs(g[2] - e[2]) / max(1.0, abs(e[2]))
    worst = max(worst, diff)
    if diff > 1e-9:
        problems.append(f"{cid}: monetary {g[2]!r} against {e[2]!r} (difference {diff:.2e})")
print(f"check-features: {len(got)} customers as of {a}; worst monetary difference {worst:.1e} (limit 1e-9 x max(1, |value|))")
for p in problems[:10]:
    print("  " + p)
sys.exit(1 if problems else 0)
