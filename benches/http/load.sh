#!/usr/bin/env bash
# Loopback load test of `bacino serve` with wrk (Debian package `wrk`):
# a cached distances query and an OGC items page, each for a bounded time.
# Usage: benches/http/load.sh [SECONDS] [CONNECTIONS]
# Prints wrk's latency distribution (p50/p90/p99) and requests per second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
port=$((20000 + RANDOM % 20000))
RUST_LOG=warn target/release/bacino serve --bind "127.0.0.1:$port" --store memory 2>/tmp/bacino-load.log &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
for path in \
  "/v1/datasets/bergamo/distances?to=nearest&kind=gp&group_by=municipality" \
  "/ogc/collections/bergamo_facilities_gp/items?limit=100"; do
  url="http://127.0.0.1:$port$path"
  curl -sf "$url" >/dev/null # fill the cache
  echo "== GET $path  ($conns connections, ${secs}s, 2 threads)"
  wrk -t2 -c"$conns" -d"${secs}s" --timeout 5s --latency "$url" |
    grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors'
done
