"""Recomputes retain's retention_history.csv from the raw CSV in DuckDB SQL and compares.

  python scripts/check_retention.py LOG.csv OUTPUT_DIR [ACTIVE_WINDOW_DAYS]

The periods are taken from retain's file (their calendar boundaries are checked by the
Swift tests); everything else is recomputed from the log, by the definitions of
README.md / Sources/Segmentation/RetentionHistory.swift: active at day b = a purchase
(amount > 0) in (b - window, b]; S = active the day before the period starts, E = active
on its last day, N = first purchase within it; sales of S and E in the period against S's
sales in the period of the same length before it; profit = amount - cost - service cost
(an empty cost counts 0). Counts must be equal, money and rates equal to 1e-6 relative.
Then retention_cohorts.csv: per cohort (first purchase in a period) and later period, the
cohort's customers and those active at the period's end, counts equal.
Exit 0 when all hold, 1 otherwise."""
import csv, sys
import duckdb

log, out = sys.argv[1], sys.argv[2]
window = int(sys.argv[3]) if len(sys.argv) > 3 else 365
rows = list(csv.DictReader(open(f"{out}/retention_history.csv")))
con = duckdb.connect()
con.execute(f"""CREATE TABLE t AS SELECT customer_id AS c, CAST(date AS DATE) AS d, amount AS a,
    amount - coalesce(cost, 0) - coalesce(service_cost, 0) AS profit FROM read_csv('{log}', header = true)""")
problems, checked = [], 0


def close(x, y):
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


for r in rows:
    ps, pe = r["period_start"], r["period_end"]
    q = f"""
    WITH bounds AS (SELECT DATE '{ps}' AS ps, DATE '{pe}' AS pe,
                           DATE '{ps}' - CAST(DATE '{pe}' - DATE '{ps}' + 1 AS INTEGER) AS bs),
    s AS (SELECT DISTINCT c FROM t, bounds WHERE a > 0 AND d > ps - 1 - {window} AND d <= ps - 1),
    e AS (SELECT DISTINCT c FROM t, bounds WHERE a > 0 AND d > pe - {window} AND d <= pe),
    firsts AS (SELECT c, min(d) AS f FROM t WHERE a > 0 GROUP BY c),
    n AS (SELECT c FROM firsts, bounds WHERE f >= ps AND f <= pe),
    kept AS (SELECT c FROM s INTERSECT SELECT c FROM e)
    SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM e), (SELECT count(*) FROM n), (SELECT count(*) FROM kept),
           (SELECT coalesce(sum(a), 0) FROM t, bounds WHERE d >= ps AND d <= pe AND c IN (SELECT c FROM kept)),
           (SELECT coalesce(sum(profit), 0) FROM t, bounds WHERE d >= ps AND d <= pe AND c IN (SELECT c FROM kept)),
           (SELECT coalesce(sum(a), 0) FROM t, bounds WHERE d >= bs AND d < ps AND c IN (SELECT c FROM s)),
           (SELECT coalesce(sum(profit), 0) FROM t, bounds WHERE d >= bs AND d < ps AND c IN (SELECT c FROM s))
    """
    S, E, N, K, sales, profit, base, pbase = con.execute(q).fetchone()
    expect = {
        "customers_start": S, "customers_end": E, "new_customers": N, "retained_customers": K, "lost_customers": S - K,
        "sales_retained": sales, "sales_base": base, "profit_retained": profit, "profit_base": pbase,
        "retention_rate": (E - N) / S * 100 if S else None, "churn_rate": (S - K) / S * 100 if S else None,
        "sales_adjusted_retention": sales / base * 100 if base else None,
        "profit_retention": profit / pbase * 100 if pbase else None,
    }
    for k, v in expect.items():
        got = r[k]
        checked += 1
        if v is None:
            if got != "":
                problems.append(f"{ps} {k}: retain {got}, expected empty")
            continue
        g = float(got)
        # Money and rates are written with 2 decimals: compare at that precision.
        tolerance = 0.005 + 1e-9 * abs(v) if k not in ("customers_start", "customers_end", "new_customers",
                                                       "retained_customers", "lost_customers") else 0
        if abs(g - float(v)) > tolerance:
            problems.append(f"{ps} {k}: retain {got}, DuckDB {v}")
ends = {r["period_start"]: r["period_end"] for r in rows}
cohorts = list(csv.DictReader(open(f"{out}/retention_cohorts.csv")))
if len(cohorts) != len(rows) * (len(rows) + 1) // 2:
    problems.append(f"retention_cohorts.csv: {len(cohorts)} rows for {len(rows)} periods")
for r in cohorts:
    cs, ps = r["cohort_start"], r["period_start"]
    q = f"""
    WITH firsts AS (SELECT c, min(d) AS f FROM t WHERE a > 0 GROUP BY c),
    cohort AS (SELECT c FROM firsts WHERE f >= DATE '{cs}' AND f <= DATE '{ends[cs]}'),
    active AS (SELECT DISTINCT c FROM t WHERE a > 0 AND d > DATE '{ends[ps]}' - {window} AND d <= DATE '{ends[ps]}')
    SELECT (SELECT count(*) FROM cohort), (SELECT count(*) FROM cohort WHERE c IN (SELECT c FROM active))
    """
    size, kept = con.execute(q).fetchone()
    checked += 2
    if int(r["customers_start"]) != size or int(r["retained"]) != kept:
        problems.append(f"cohort {cs} in {ps}: retain {r['customers_start']}/{r['retained']}, DuckDB {size}/{kept}")
    if size and abs(float(r["retention_rate"]) - kept / size * 100) > 0.005 + 1e-9:
        problems.append(f"cohort {cs} in {ps}: retention_rate {r['retention_rate']}, DuckDB {kept / size * 100}")
print(f"check-retention: {len(rows)} periods x {len(expect)} figures, {len(cohorts)} cohort cells: {len(problems)} problems")
for p in problems[:10]:
    print("  " + p)
sys.exit(1 if problems else 0)
