#!/usr/bin/env bash
# Residents from a PostGIS table against the same rows from CSV: the load
# time (`BACINO_TIMINGS=1 bacino stats`, median of 3) of the Bergamo
# generator's dataset at SCALE (1 = 925,049 residents). Starts a throwaway
# PostgreSQL with PostGIS (tests/postgres/start.sh, port 55433) unless
# BACINO_TEST_POSTGRES names one, copies the CSV into a table with psql's
# \copy, and drops the database afterwards.
#   benches/formats/postgis.sh [SCALE] [BIN]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scale=${1:-1}
bin=$(realpath "${2:-target/release/bacino}")
[ -x "$bin" ] || cargo build --release -q
data=/tmp/bacino-bergamo-$scale
[ -f "$data/dataset.toml" ] || cargo run --release -q -p bacino-fixtures -- --scale "$scale" --out "$data"
started=
if [ -z "${BACINO_TEST_POSTGRES:-}" ]; then
  eval "$(tests/postgres/start.sh 55433)"
  started=1
  trap 'tests/postgres/stop.sh' EXIT
fi
admin=$BACINO_TEST_POSTGRES
db=bacino_bench_$$
url=${admin%/*}/$db
psql -q "$admin" -c "CREATE DATABASE $db"
work=$(mktemp -d)
cleanup() { rm -rf "$work"; psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" || true; }
trap 'cleanup; if [ -n "$started" ]; then tests/postgres/stop.sh; fi' EXIT
s=$(date +%s.%N)
psql -q "$url" <<SQL
CREATE EXTENSION postgis;
CREATE TEMP TABLE raw (id text, lon float8, lat float8, weight float8, municipality text, gp_id text, "group" text);
\copy raw FROM '$data/residents.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE assistiti (gid int8 PRIMARY KEY, id text NOT NULL, weight float8, municipality text,
  gp_id text, "group" text, geom geometry(Point, 4326));
INSERT INTO assistiti SELECT row_number() OVER (), id, weight, municipality, gp_id, "group",
  ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM raw;
ANALYZE assistiti;
SQL
printf 'table filled in %.1f s: %s rows\n' "$(echo "$(date +%s.%N) - $s" | bc)" \
  "$(psql -qtA "$url" -c 'SELECT count(*) FROM assistiti')"
for src in csv postgis; do
  mkdir -p "$work/$src"
  if [ $src = csv ]; then
    residents="path = \"$data/residents.csv\""
  else
    residents="postgres = \"$url\"
table = \"assistiti\""
  fi
  printf 'name = "bench"\n[facilities]\npath = "%s"\n[residents]\n%s\n[areas]\npath = "%s"\nid_property = "code"\nname_property = "name"\n' \
    "$data/facilities.csv" "$residents" "$data/areas.geojson" > "$work/$src/dataset.toml"
done
printf '%-8s %10s\n' source load_s
for src in csv postgis; do
  times=()
  for _ in 1 2 3; do
    t=$(BACINO_TIMINGS=1 "$bin" stats "$work/$src" --to assigned --kind gp 2>&1 >/dev/null \
        | sed -n 's/^load \([0-9.]*\)\(m\?s\).*/\1 \2/p' \
        | awk '{ if ($2 == "ms") printf "%.3f", $1 / 1000; else printf "%.3f", $1 }')
    times+=("$t")
  done
  printf '%-8s %10s\n' "$src" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)"
done
