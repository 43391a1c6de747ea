"""The peer: DuckDB reading the CSV into an in-memory table (all columns, types sniffed)."""
import sys
import duckdb

con = duckdb.connect()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header = true)", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(n)
