"""The peer: DuckDB reading the CSV into an in-memory table (all columns, types sniffed)."""
import os
import sys
import duckdb

con = duckdb.connect()
if os.environ.get("BENCH_THREADS"):  # the workers comparison: a fixed thread count
    con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header = true)", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(n)
