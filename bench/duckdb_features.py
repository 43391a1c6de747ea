"""The peer for the features stage: DuckDB computing the training snapshot's features and
label from the CSV in one SQL query (scripts/features_sql.py), written to CSV as retain
writes features.csv. A = last date - H; H = W = 90, active window 365 (retain's defaults)."""
import os, sys
import duckdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from features_sql import features_sql  # noqa: E402

log, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
if os.environ.get("BENCH_THREADS"):  # the workers comparison: a fixed thread count
    con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
con.execute(f"COPY ({features_sql(log, None, 90, 90, 365)}) TO '{out}' (HEADER)")
