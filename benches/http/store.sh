#!/usr/bin/env bash
# What the store adds to POST /v1/datasets/bergamo/scenarios: N distinct
# plans (one GP ceases; thresholds from 10 up), each solved and stored, one
# at a time, timed by curl; then the same N again (answered from the store).
# Prints p50/p90 in ms per store: memory, SQLite (a file under /tmp) and,
# when BACINO_TEST_POSTGRES names a server, PostGIS (a fresh database).
# The overhead is a store's p50 minus memory's.
#   benches/http/store.sh [N] [BIN]        (default 200, target/release/bacino)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
n=${1:-200}
bin=${2:-target/release/bacino}
[ -x "$bin" ] || cargo build --release -q
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

stores=(memory "sqlite:$work/store.sqlite")
if [ -n "${BACINO_TEST_POSTGRES:-}" ]; then
  db="bacino_bench_$$"
  psql -q "$BACINO_TEST_POSTGRES" -c "CREATE DATABASE $db"
  stores+=("${BACINO_TEST_POSTGRES%/*}/$db")
fi

pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; printf "%.2f", a[i]*1000}'; }

printf '%-10s %8s %8s %10s %10s\n' store p50_ms p90_ms again_p50 again_p90
for store in "${stores[@]}"; do
  port=$((20000 + RANDOM % 20000))
  RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --store "$store" 2>"$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  for pass in first again; do
    : > "$work/$pass"
    for i in $(seq 0 $((n - 1))); do
      plan=$(printf '{"cease":["GP%04d"],"min_group_size":%d}' $((1 + i % 40)) $((10 + i / 40)))
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
        -d "$plan" "http://127.0.0.1:$port/v1/datasets/bergamo/scenarios" >> "$work/$pass"
    done
  done
  bad=$(awk '$1 != 201' "$work/first" | wc -l; awk '$1 != 200' "$work/again" | wc -l)
  [ "$(echo $bad | tr ' ' '+' | bc)" = 0 ] || { echo "unexpected statuses for $store:"; sort "$work/first" "$work/again" | cut -d' ' -f1 | uniq -c; exit 1; }
  name=${store%%:*}
  printf '%-10s %8s %8s %10s %10s\n' "$name" \
    "$(cut -d' ' -f2 "$work/first" | pct 50)" "$(cut -d' ' -f2 "$work/first" | pct 90)" \
    "$(cut -d' ' -f2 "$work/again" | pct 50)" "$(cut -d' ' -f2 "$work/again" | pct 90)"
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
if [ -n "${BACINO_TEST_POSTGRES:-}" ]; then
  psql -q "$BACINO_TEST_POSTGRES" -c "DROP DATABASE $db"
fi
