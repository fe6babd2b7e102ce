#!/usr/bin/env bash
# bacino's road metrics side by side with OSRM 26.10 and Valhalla 3.9 (run
# from the executables in their PyPI wheels; see network/peers_setup.sh),
# as whole processes on the same data.
#
#   benches/compare/network.sh monaco            # nearest pharmacy, car vs OSRM table, foot vs Valhalla matrix
#   benches/compare/network.sh synth [--nodes 500000 --residents 1000000]
#                                                # synthetic province: bacino vs OSRM extract+contract+table
#
# Work files go to ${WORK:-a temporary directory}; peers are cached in
# ${BACINO_PEERS:-~/.cache/bacino-peers}. Needs python3 and /usr/bin/time.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODE="${1:-monaco}"; shift || true
NODES=500000
RESIDENTS=1000000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) NODES="$2"; shift 2 ;;
    --residents) RESIDENTS="$2"; shift 2 ;;
    *) echo "network.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
WORK="${WORK:-$(mktemp -d -t bacino-network.XXXXXX)}"
mkdir -p "$WORK"
echo "work directory: $WORK"

bash "$HERE/network/peers_setup.sh" >/dev/null
(cd "$ROOT" && cargo build --release --quiet)
BACINO="${BACINO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/bacino}"

# timed LABEL CMD...: whole-process wall time and peak RSS.
timed() {
  local label="$1"; shift
  /usr/bin/time -f "$label: %e s wall, %M KB peak" "$@"
}

case "$MODE" in
  monaco)
    DS="$ROOT/fixtures/monaco"
    CACHE="$WORK/cache"
    for metric in car foot; do
      # First run builds the graph cache, second reads it.
      timed "bacino stats --metric $metric (cold cache)" \
        "$BACINO" --cache-dir "$CACHE" stats "$DS" --to nearest --kind pharmacy --metric "$metric" \
        --per-resident "$WORK/bacino_$metric.csv" >/dev/null
      timed "bacino stats --metric $metric (warm cache)" \
        "$BACINO" --cache-dir "$CACHE" stats "$DS" --to nearest --kind pharmacy --metric "$metric" \
        --per-resident "$WORK/bacino_$metric.csv" >/dev/null
      timed "bacino isochrones --metric $metric 5,10,15 (all pharmacies, warm cache)" \
        "$BACINO" --cache-dir "$CACHE" isochrones "$DS" --metric "$metric" --kind pharmacy \
        --out "$WORK/iso_$metric.geojson"
    done
    timed "OSRM car (extract + contract + table)" \
      python3 "$HERE/network/peers.py" osrm-nearest --pbf "$DS/monaco.osm.pbf" --profile car \
      --residents "$DS/residents.csv" --facilities "$DS/facilities.csv" --kind pharmacy \
      --out "$WORK/osrm_car.csv"
    timed "Valhalla pedestrian (tiles + matrix)" \
      python3 "$HERE/network/peers.py" valhalla-nearest --pbf "$DS/monaco.osm.pbf" --costing pedestrian \
      --residents "$DS/residents.csv" --facilities "$DS/facilities.csv" --kind pharmacy \
      --out "$WORK/valhalla_foot.csv"
    python3 "$HERE/network/agreement.py" "$WORK/bacino_car.csv" "$WORK/osrm_car.csv" --label OSRM
    python3 "$HERE/network/agreement.py" "$WORK/bacino_foot.csv" "$WORK/valhalla_foot.csv" --label Valhalla
    ;;
  synth)
    DS="$WORK/synth"
    if [[ ! -f "$DS/dataset.toml" ]]; then
      timed "synth_province.py" python3 "$HERE/network/synth_province.py" --out "$DS" \
        --nodes "$NODES" --residents "$RESIDENTS"
    fi
    CACHE="$WORK/cache"
    timed "bacino stats --metric car (cold cache: parse + build + cache)" \
      "$BACINO" --cache-dir "$CACHE" stats "$DS" --to nearest --kind pharmacy --metric car >/dev/null
    for i in 1 2 3; do
      timed "bacino stats --metric car (warm cache, run $i)" \
        "$BACINO" --cache-dir "$CACHE" stats "$DS" --to nearest --kind pharmacy --metric car \
        --per-resident "$WORK/bacino_car.csv" >/dev/null
    done
    timed "OSRM car (extract + contract + table)" \
      python3 "$HERE/network/peers.py" osrm-nearest --pbf "$DS/roads.osm.pbf" --profile car \
      --residents "$DS/residents.csv" --facilities "$DS/facilities.csv" --kind pharmacy \
      --out "$WORK/osrm_car.csv" --chunk 2000
    python3 "$HERE/network/agreement.py" "$WORK/bacino_car.csv" "$WORK/osrm_car.csv" --label OSRM
    ;;
  *) echo "network.sh: mode is monaco or synth" >&2; exit 2 ;;
esac
