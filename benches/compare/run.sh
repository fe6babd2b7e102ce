#!/usr/bin/env bash
# Compare `bacino stats` with Python peers (scipy, geopandas) on generated data,
# as whole processes (wall time, peak RSS), and verify bacino's numbers against
# the exact reference in peers.py.
#
#   benches/compare/run.sh [--scale 1] [--skip-geopandas] [--work DIR] [--keep]
#
# The Python environment lives OUTSIDE the repo, in
# ${BACINO_VENV:-$HOME/.cache/bacino-compare-venv}; it is created and filled
# from requirements.txt (PyPI only) when missing or when requirements.txt
# changes.  Overrides: PYTHON (interpreter used to create the venv, >= 3.11),
# CARGO (default cargo), CARGO_TARGET_DIR, BACINO (path of the bacino binary).
# Exit status: 0 if every verification passed, 1 otherwise.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SCALE=1
SKIP_GPD=0
WORK=""
KEEP=0
RUNS=3

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) SCALE="$2"; shift 2 ;;
    --scale=*) SCALE="${1#*=}"; shift ;;
    --skip-geopandas) SKIP_GPD=1; shift ;;
    --work) WORK="$2"; KEEP=1; shift 2 ;;
    --work=*) WORK="${1#*=}"; KEEP=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -z "$WORK" ]]; then
  WORK="$(mktemp -d -t bacino-compare.XXXXXX)"
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
if [[ "$KEEP" == 0 ]]; then
  trap 'rm -rf "$WORK"' EXIT
fi
log() { printf '==> %s\n' "$*" >&2; }

# ---------------------------------------------------------------- venv
VENV="${BACINO_VENV:-$HOME/.cache/bacino-compare-venv}"
REQ="$HERE/requirements.txt"
PY="$VENV/bin/python"
if [[ ! -x "$PY" ]]; then
  log "creating venv $VENV"
  "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "run.sh: need Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
  "${PYTHON:-python3}" -m venv "$VENV"
fi
STAMP="$VENV/.bacino-compare-requirements.sha256"
WANT="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  log "installing $REQ into $VENV"
  "$PY" -m pip install -q --disable-pip-version-check -r "$REQ"
  echo "$WANT" > "$STAMP"
fi
export PROJ_NETWORK=OFF  # the reference must not depend on downloaded grids

# ---------------------------------------------------------------- data + build
CARGO="${CARGO:-cargo}"
cd "$ROOT"
log "generating data (scale $SCALE) in $WORK"
rm -rf "$WORK/data" "$WORK/data-proj"
"$CARGO" run --release -q -p bacino-fixtures -- --scale "$SCALE" --out "$WORK/data"
"$CARGO" run --release -q -p bacino-fixtures -- --scale "$SCALE" --out "$WORK/data-proj" \
  --facilities-crs EPSG:3003 --residents-crs EPSG:32632
log "building bacino"
"$CARGO" build --release -q
BACINO="${BACINO:-${CARGO_TARGET_DIR:-$ROOT/target}/release/bacino}"
[[ -x "$BACINO" ]] || { echo "run.sh: no bacino binary at $BACINO" >&2; exit 1; }

# ---------------------------------------------------------------- timing
# timed OUT_JSON CMD... : run once, stdout -> OUT_JSON, sets T_WALL (s) T_RSS (KiB)
PYTIME='
import resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as fh:
    fh.write(f"{wall:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\n")
sys.exit(rc)
'
timed() {
  local out="$1"; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$@" > "$out"
  else
    "$PY" -c "$PYTIME" "$WORK/time.txt" "$@" > "$out"
  fi
  read -r T_WALL T_RSS < <(tail -n 1 "$WORK/time.txt")
}

NAMES=(); WALLS=(); RSSS=()
bench() {  # bench NAME OUT_JSON CMD...: best wall and highest peak RSS of $RUNS runs
  local name="$1" out="$2"; shift 2
  local best="" peak=0 i
  for ((i = 1; i <= RUNS; i++)); do
    timed "$out" "$@"
    log "$name run $i: ${T_WALL} s, ${T_RSS} KiB"
    if [[ -z "$best" ]] || awk -v a="$T_WALL" -v b="$best" 'BEGIN{exit !(a < b)}'; then best="$T_WALL"; fi
    if (( T_RSS > peak )); then peak="$T_RSS"; fi
  done
  NAMES+=("$name"); WALLS+=("$best"); RSSS+=("$peak")
}

D="$WORK/data"
bench "bacino stats --to nearest --kind gp" "$WORK/bacino.json" \
  "$BACINO" stats "$D" --to nearest --kind gp
bench "python peers.py scipy (cKDTree k=4 + Geod)" "$WORK/scipy.json" \
  "$PY" "$HERE/peers.py" scipy "$D"
bench "python peers.py scipy-k1 (UTM cKDTree k=1 + Geod)" "$WORK/scipy-k1.json" \
  "$PY" "$HERE/peers.py" scipy-k1 "$D"
if [[ "$SKIP_GPD" == 0 ]]; then
  bench "python peers.py geopandas (sjoin_nearest + Geod)" "$WORK/geopandas.json" \
    "$PY" "$HERE/peers.py" geopandas "$D"
fi

# ---------------------------------------------------------------- verification
FAILED=0
VERIFY=()
verify() {  # verify LABEL A.json B.json [informational]
  local label="$1" a="$2" b="$3" info="${4:-}"
  if "$PY" "$HERE/peers.py" check "$a" "$b" --tol-m 0.01; then
    VERIFY+=("| $label | ok |")
  elif [[ -n "$info" ]]; then
    VERIFY+=("| $label | DIFFERS (informational) |")
  else
    VERIFY+=("| $label | **FAIL** |"); FAILED=1
  fi
}
for ds in data data-proj; do
  log "verifying on $ds"
  "$PY" "$HERE/peers.py" exact "$WORK/$ds" > "$WORK/$ds.exact.json"
  "$PY" "$HERE/peers.py" exact-assigned "$WORK/$ds" > "$WORK/$ds.exact-assigned.json"
  "$BACINO" stats "$WORK/$ds" --to nearest --kind gp > "$WORK/$ds.bacino-nearest.json"
  "$BACINO" stats "$WORK/$ds" --to assigned --kind gp > "$WORK/$ds.bacino-assigned.json"
  verify "bacino --to nearest vs exact ($ds)" "$WORK/$ds.bacino-nearest.json" "$WORK/$ds.exact.json"
  verify "bacino --to assigned vs exact-assigned ($ds)" "$WORK/$ds.bacino-assigned.json" "$WORK/$ds.exact-assigned.json"
done
verify "scipy vs exact (data)" "$WORK/scipy.json" "$WORK/data.exact.json" info
verify "scipy-k1 vs exact (data)" "$WORK/scipy-k1.json" "$WORK/data.exact.json" info
if [[ "$SKIP_GPD" == 0 ]]; then
  verify "geopandas vs exact (data)" "$WORK/geopandas.json" "$WORK/data.exact.json" info
fi

# ---------------------------------------------------------------- report
CPU="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
[[ -n "$CPU" ]] || CPU="$(uname -m)"
MEM="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)"
ROWS_R=$(( $(wc -l < "$D/residents.csv") - 1 ))
ROWS_F=$(( $(wc -l < "$D/facilities.csv") - 1 ))

echo
echo "## bacino vs Python peers (scale $SCALE: $ROWS_R residents, $ROWS_F facilities)"
echo
echo "Best wall time of $RUNS whole-process runs; peak RSS is the highest of the runs."
echo
echo "| tool | wall s | peak MB | ratio vs bacino |"
echo "| --- | ---: | ---: | ---: |"
for i in "${!NAMES[@]}"; do
  awk -v n="${NAMES[$i]}" -v w="${WALLS[$i]}" -v r="${RSSS[$i]}" -v b="${WALLS[0]}" \
    'BEGIN { printf "| %s | %.2f | %.1f | %s |\n", n, w, r / 1024, (b > 0 ? sprintf("%.1fx", w / b) : "n/a") }'
done
echo
echo "| verification (tol 0.01 m) | result |"
echo "| --- | --- |"
printf '%s\n' "${VERIFY[@]}"
echo
echo "Machine: $(nproc) CPU(s), $CPU${MEM:+, $MEM RAM}; $(uname -sr)"
echo "Python: $("$PY" -c 'import sys, numpy, scipy, pandas, pyproj, geopandas, shapely; print(sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__, "pandas", pandas.__version__, "pyproj", pyproj.__version__, "(PROJ", pyproj.proj_version_str + ")", "geopandas", geopandas.__version__, "shapely", shapely.__version__)')"
echo "bacino: $("$BACINO" --version 2>/dev/null || echo unknown)"
if [[ "$KEEP" == 1 ]]; then echo "Work dir: $WORK"; fi
exit "$FAILED"
