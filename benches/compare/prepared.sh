#!/usr/bin/env bash
# Parsed against prepared: `bacino stats --to nearest --kind gp` on one
# dataset, whole process, runs alternating, documents compared byte for
# byte. The page cache is warm for both (the CSV is read by every run;
# the prepared file by the prepared runs).
#
#   benches/compare/prepared.sh DIR [RUNS]
#
# Uses target/release/bacino and a cache directory of its own (removed at
# the end).
set -euo pipefail
dir=${1:?usage: prepared.sh DIR [RUNS]}
runs=${2:-3}
bin=${BACINO:-target/release/bacino}
cache=$(mktemp -d)
out=$(mktemp -d)
trap 'rm -rf "$cache" "$out"' EXIT
stats=(stats "$dir" --to nearest --kind gp)
"$bin" --no-cache "${stats[@]}" >/dev/null # warm the page cache
/usr/bin/time -f "prepare: %e s, peak %M KB" "$bin" --cache-dir "$cache" prepare "$dir"
run() { # label, then bacino's global flags
  local label=$1
  shift
  BACINO_QUIET=1 BACINO_TIMINGS=1 /usr/bin/time -o "$out/time" -f "%e %M" \
    "$bin" "$@" "${stats[@]}" >"$out/$label.json" 2>"$out/err"
  read -r wall peak <"$out/time"
  load=$(sed -n 's/^load \([0-9.]*[mµ]*s\).*/\1/p' "$out/err")
  printf '%-9s whole %6s s  load %12s  peak %5d MB\n' "$label" "$wall" "$load" $((peak / 1024))
}
for _ in $(seq "$runs"); do
  run parsed --no-cache
  run prepared --cache-dir "$cache"
  cmp "$out/parsed.json" "$out/prepared.json"
done
echo "documents identical"
