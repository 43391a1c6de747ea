#!/usr/bin/env bash
# Ingest benchmark: `retain run --only ingest` against DuckDB loading the same CSV into a
# table, measured in the same run on the same file. Prints a Markdown table.
#
#   bench/ingest.sh [--customers N] [--repeats R] [--seed S]
#
# Default: 1,900,000 customers (about 10 million rows, 650 MB). The generated log is kept
# in bench/work/ and reused while its size and seed are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=1900000
repeats=5
seed=7
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: bench/ingest.sh [--customers N] [--repeats R] [--seed S]" >&2; exit 64 ;;
  esac
done

scripts/install-deps
swift build -c release --product retain >&2
retain="$(swift build -c release --show-bin-path)/retain"

# DuckDB from PyPI, in a private virtual environment.
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv >&2 || { echo "bench: python3 -m venv failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
fi
bench/.venv/bin/python -c "import duckdb" 2>/dev/null || bench/.venv/bin/pip install -q "duckdb>=2,<3" >&2

mkdir -p bench/work
log="bench/work/log-${customers}-${seed}.csv"
if [ ! -s "$log" ]; then
  "$retain" generate --customers "$customers" --seed "$seed" "$log"
fi

bench/.venv/bin/python bench/measure.py --retain "$retain" --log "$log" --repeats "$repeats"
