#!/usr/bin/env bash
# Benchmarks, each measured in the same run on the same file, printed as Markdown tables:
# - ingest: `retain run --only ingest` against DuckDB loading the CSV into a table;
# - features: `retain run --to features` (ingest + features) against DuckDB computing the
#   same features and label from the CSV in one SQL query, written to CSV.
#
#   bench/run.sh [--customers N] [--repeats R] [--seed S] [--only ingest|features|train]
#
# - train: the train stage's logistic fit against statsmodels' Newton fit of the same
#   matrix (default 2,600,000 customers: about 1.4 million in the training snapshot).
#
# Default: 1,900,000 customers (about 10 million rows, 650 MB). The generated log is kept
# in bench/work/ and reused while its size and seed are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=""
repeats=5
seed=7
modes="ingest features train"
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --only) modes="$2"; shift 2 ;;
    *) echo "usage: bench/run.sh [--customers N] [--repeats R] [--seed S] [--only ingest|features|train]" >&2; exit 64 ;;
  esac
done

scripts/install-deps
swift build -c release --product retain >&2
retain="$(swift build -c release --show-bin-path)/retain"

python="$(scripts/python-env)"   # DuckDB, statsmodels, pandas from PyPI, in a private virtual environment

mkdir -p bench/work
for mode in $modes; do
  n="$customers"
  [ -n "$n" ] || { [ "$mode" = train ] && n=2600000 || n=1900000; }
  log="bench/work/log-${n}-${seed}.csv"
  if [ ! -s "$log" ]; then
    "$retain" generate --customers "$n" --seed "$seed" "$log"
  fi
  "$python" bench/measure.py --retain "$retain" --log "$log" --repeats "$repeats" --mode "$mode"
  echo
done
