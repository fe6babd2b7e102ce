#!/usr/bin/env bash
# Soak test of `bacino serve` on loopback: six wrk processes at once for
# SECONDS, one route each — cached distances, OGC pages, catchments (three
# methods), scenario POSTs (never cached: they fill the pool), bad requests
# (400, 404, 405, 422) and /health — against the bundled datasets, with a
# small pool (2 threads, queue 4) so that the scenario flood meets 503.
# Samples the server's RSS every 0.2 s. Prints per route: requests, p50 and
# p99 latency, socket errors and answers by status; fails on any status a
# route should not give (a 5xx other than a scenario's 503, a 4xx on a good
# route), any socket error, or a dead server.
#
#   benches/http/soak.sh [SECONDS] [BINARY]     # default 60, target/release/bacino
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-60}
bin=${2:-target/release/bacino}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" --compute-threads 2 --queue 4 --store "sqlite:$work/store.sqlite" \
  2>"$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port"
# Warm the cached routes: the soak measures serving, the first computations
# are reported in the README separately.
curl -sf "$base/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality" >/dev/null
for m in voronoi bands assigned; do
  curl -sf "$base/v1/datasets/bergamo/catchments?kind=gp&method=$m" >/dev/null
done
curl -sf "$base/ogc/collections/bergamo_facilities_gp/items?limit=1" >/dev/null
rss_start=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
(
  peak=0
  while kill -0 $pid 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" > "$work/peak"
    sleep 0.2
  done
) &
sampler=$!
for route in distances ogc catchments scenarios bad health; do
  conns=4
  [ "$route" = scenarios ] && conns=8
  wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s -s benches/http/soak.lua "$base" -- "$route" \
    > "$work/$route.out" 2>&1 &
done
wait $(jobs -p | grep -v "^$sampler$" | grep -v "^$pid$") 2>/dev/null || true
kill $sampler 2>/dev/null || true
kill -0 $pid || { echo "the server died:"; cat "$work/serve.log"; exit 1; }
rss_end=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
status=0
printf '%-11s %9s %8s %10s %10s %7s  %s\n' route requests req/s p50_ms p99_ms errors statuses
for route in distances ogc catchments scenarios bad health; do
  line=$(grep '^SOAK' "$work/$route.out" || true)
  if [ -z "$line" ]; then echo "no result for $route:"; cat "$work/$route.out"; status=1; continue; fi
  read -r _ name requests p50 p99 errors rest <<<"$line"
  printf '%-11s %9d %8.0f %10.2f %10.2f %7d  %s\n' "$route" "$requests" \
    "$(echo "$requests / $secs" | bc -l)" "$(echo "$p50 / 1000" | bc -l)" \
    "$(echo "$p99 / 1000" | bc -l)" "$errors" "$rest"
  [ "$errors" -eq 0 ] || { echo "  socket errors on $route"; status=1; }
  for kv in $rest; do
    code=${kv%%=*}
    case "$route:$code" in
      distances:200|ogc:200|catchments:200|health:200) ;;
      scenarios:200|scenarios:201|scenarios:503) ;;
      bad:400|bad:404|bad:405|bad:422) ;;
      *) echo "  unexpected status $code on $route"; status=1 ;;
    esac
  done
done
echo "RSS: ${rss_start} kB after warm-up, peak $(cat "$work/peak" 2>/dev/null || echo 0) kB, ${rss_end} kB at the end"
grep -E '"level":"ERROR"|ERROR' "$work/serve.log" | head -5 || true
exit $status
