#!/usr/bin/env bash
# Benchmarks, each tool measured in the same run on the same generated file, printed as
# Markdown tables (see bench/README.md):
# - scale (the default): `retain run` whole and per stage at 1, 10, 30 and 100 million rows,
#   against DuckDB's feature query, pandas + lifetimes' summary (up to 10 million) and
#   statsmodels' Newton fit (up to 30 million), with the ledger's size and the peak memory
#   per customer; writes bench/results/latest.md and bench/results/scaling.svg;
# - nightly: at each of --sizes (default 100), a full run, then the run after one new daily
#   file joins the inputs; writes bench/results/nightly.md;
# - ingest: `retain run --only ingest` against DuckDB loading the CSV into a table;
# - features: `retain run --to features` against DuckDB's feature query;
# - train: the train stage's fit against statsmodels' on the same matrix (2.6 M customers:
#   1.4 M in the training snapshot);
# - fit-memory: the train and value stages alone on the sample pipeline's snapshots (their
#   rows repeated --copies N times, default 1), each in a --memory-limit GB cgroup if given
#   (needs root): finished or killed, peak heap per customer (and how many customers 4 GB of
#   heap holds), against --baseline BINARY if given; --fit-stages train (or value) runs
#   one of them and repeats only its inputs;
# - value: the value stage's BG/NBD and Gamma-Gamma fits against lifetimes' on the same summary;
# - workers: ingest and ingest + features with 1 and 2 workers, DuckDB with 1 and 2 threads;
# - compare: this build against --baseline BINARY (an earlier build) on the whole run,
#   ingest, and ingest + features, DuckDB's feature query alongside;
# - spark: the Spark engine in local mode (local[2]) against retain's own, whole run and
#   ingest + features (needs scripts/install-deps --spark).
#
#   bench/run.sh [--only scale|nightly|ingest|features|train|fit-memory|value|workers|compare|spark[,...]] [--sizes 1,10,30,100] [--customers N] [--repeats R]
#                [--seed S] [--results DIR] [--baseline BINARY] [--copies N] [--memory-limit GB]
#                [--fit-stages train,value]
#
# --sizes (millions of rows) and --results (default bench/results) are for scale and nightly; --customers for the others (default 1,900,000:
# about 10.5 million rows, 684 MB). Generated logs are kept in bench/work/ and reused.
set -euo pipefail
cd "$(dirname "$0")/.."

customers=""
repeats=3
seed=7
sizes=""
modes="scale"
results="bench/results"
baseline=""
copies=1
limit=""
fit_stages=""
while [ $# -gt 0 ]; do
  case "$1" in
    --customers) customers="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --only) modes="${2//,/ }"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    --copies) copies="$2"; shift 2 ;;
    --memory-limit) limit="$2"; shift 2 ;;
    --fit-stages) fit_stages="$2"; shift 2 ;;
    *) echo "usage: bench/run.sh [--only scale|nightly|ingest|features|train|fit-memory|value|workers|compare|spark[,...]] [--sizes 1,10,30,100] [--customers N] [--repeats R] [--seed S] [--baseline BINARY] [--copies N] [--memory-limit GB] [--fit-stages train,value]" >&2; exit 64 ;;
  esac
done

scripts/install-deps
swift build -c release --product retain >&2
retain="$(swift build -c release --show-bin-path)/retain"

python="$(scripts/python-env)"   # DuckDB, statsmodels, pandas, lifetimes from PyPI, in a private virtual environment

mkdir -p bench/work
for mode in $modes; do
  if [ "$mode" = scale ]; then
    "$python" bench/scale.py --retain "$retain" --sizes "${sizes:-1,10,30,100}" --repeats "$repeats" --seed "$seed" --results "$results"
    echo
    continue
  fi
  if [ "$mode" = nightly ]; then
    "$python" bench/scale.py --nightly --retain "$retain" --sizes "${sizes:-100}" --repeats "$repeats" --seed "$seed" --results "$results"
    echo
    continue
  fi
  n="$customers"
  [ -n "$n" ] || { [ "$mode" = train ] && n=2600000 || n=1900000; }
  log="bench/work/log-${n}-${seed}.csv"
  if [ ! -s "$log" ]; then
    "$retain" generate --customers "$n" --seed "$seed" "$log"
  fi
  "$python" bench/measure.py --retain "$retain" --log "$log" --repeats "$repeats" --mode "$mode" ${baseline:+--baseline "$baseline"} \
    --copies "$copies" ${limit:+--memory-limit "$limit"} ${fit_stages:+--fit-stages "$fit_stages"}
  echo
done
