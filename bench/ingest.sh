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

python="$(scripts/python-env)"   # DuckDB from PyPI, in a private virtual environment

mkdir -p bench/work
log="bench/work/log-${customers}-${seed}.csv"
if [ ! -s "$log" ]; then
  "$retain" generate --customers "$customers" --seed "$seed" "$log"
fi

"$python" bench/measure.py --retain "$retain" --log "$log" --repeats "$repeats"
