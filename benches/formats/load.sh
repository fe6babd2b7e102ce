#!/usr/bin/env bash
# Residents from CSV, GeoParquet and GeoPackage: the load time of the same
# dataset (`BACINO_TIMINGS=1 bacino stats`, median of 3), and what
# `bacino convert` takes to write each. The dataset is the Bergamo
# generator's at SCALE (1 = 925,000 residents; 8.7 ≈ 8 M).
#   benches/formats/load.sh [SCALE] [BIN]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scale=${1:-1}
bin=${2:-target/release/bacino}
[ -x "$bin" ] || cargo build --release -q
data=/tmp/bacino-bergamo-$scale
[ -f "$data/dataset.toml" ] || cargo run --release -q -p bacino-fixtures -- --scale "$scale" --out "$data"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=$(($(wc -l < "$data/residents.csv") - 1))
echo "residents: $rows ($(du -h "$data/residents.csv" | cut -f1) CSV)"
for ext in csv parquet gpkg; do
  mkdir -p "$work/$ext"
  if [ $ext = csv ]; then
    ln -s "$data/residents.csv" "$work/csv/residents.csv"
  else
    s=$(date +%s.%N)
    "$bin" convert "$data/residents.csv" "$work/$ext/residents.$ext" 2>/dev/null
    printf 'convert to %-8s %6.2f s  %s\n' "$ext" "$(echo "$(date +%s.%N) - $s" | bc)" \
      "$(du -h "$work/$ext/residents.$ext" | cut -f1)"
  fi
  sed -e "s|^path = \"residents.csv\"|path = \"residents.$ext\"|" \
      -e "s|^path = \"facilities.csv\"|path = \"$data/facilities.csv\"|" \
      -e "s|^path = \"areas.geojson\"|path = \"$data/areas.geojson\"|" \
      -e '/^\[agendas\]/,$d' "$data/dataset.toml" > "$work/$ext/dataset.toml"
done
printf '%-8s %10s\n' format load_s
for ext in csv parquet gpkg; do
  times=()
  for _ in 1 2 3; do
    t=$(BACINO_TIMINGS=1 "$bin" stats "$work/$ext" --to assigned --kind gp 2>&1 >/dev/null \
        | sed -n 's/^load \([0-9.]*\)\(m\?s\).*/\1 \2/p' \
        | awk '{ if ($2 == "ms") printf "%.3f", $1 / 1000; else printf "%.3f", $1 }')
    times+=("$t")
  done
  printf '%-8s %10s\n' "$ext" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)"
done
