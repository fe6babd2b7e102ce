#!/usr/bin/env bash
# The acceptance check of the pool (issue: production hardening): 50
# scenario POSTs at a time flood `bacino serve` (default pool: one thread
# per core, queue 16) while one connection reads /health and one a cached
# distances answer. Prints each route's p50/p99 and the POSTs' statuses
# (200 or 503 with Retry-After, nothing else).
#
#   benches/http/flood.sh [SECONDS] [BINARY]    # default 30, target/release/bacino
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-30}
bin=${2:-target/release/bacino}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
RUST_LOG=off "$bin" serve --bind "127.0.0.1:$port" --store "sqlite:$work/store.sqlite" 2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port"
curl -sf "$base/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality" >/dev/null
wrk -t1 -c50 -d"${secs}s" --timeout 30s -s benches/http/soak.lua "$base" -- scenarios > "$work/scenarios.out" 2>&1 &
sleep 1
wrk -t1 -c1 -d"$((secs - 2))s" -s benches/http/soak.lua "$base" -- health > "$work/health.out" 2>&1 &
wrk -t1 -c1 -d"$((secs - 2))s" -s benches/http/soak.lua "$base" -- distances > "$work/distances.out" 2>&1 &
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
printf '%-11s %9s %10s %10s %7s  %s\n' route requests p50_ms p99_ms errors statuses
for route in scenarios health distances; do
  read -r _ _ requests p50 p99 errors rest <<<"$(grep '^SOAK' "$work/$route.out")"
  printf '%-11s %9d %10.2f %10.2f %7d  %s\n' "$route" "$requests" \
    "$(echo "$p50 / 1000" | bc -l)" "$(echo "$p99 / 1000" | bc -l)" "$errors" "$rest"
done
curl -s "$base/health"; echo
