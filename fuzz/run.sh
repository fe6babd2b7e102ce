#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, starting from the
# committed seeds and the corpus grown by earlier runs (fuzz/corpus, not
# committed). Exits non-zero at the first target that finds a crash; the
# input that crashed is left in fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh 600                 # ten minutes per target
#   fuzz/run.sh 60 http_query       # one target
#
# FUZZ_BUILD picks cargo fuzz's build: `-O` (optimised, the default) for
# long runs; `--dev` (unoptimised, with overflow checks, built in about
# half the time) for CI's short runs.
#
# cargo fuzz wants a nightly compiler for its sanitizer flags; on the
# stable toolchain RUSTC_BOOTSTRAP=1 lets it through.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(residents_csv residents_gis facilities_csv areas_geojson manifest osm_pbf http_query plan_json)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
build="${FUZZ_BUILD:--O}"
cargo fuzz build "$build"
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t: ${seconds} s"
  # -detect_leaks=0: the HTTP targets keep one service for the whole run
  # on purpose (Box::leak); safe Rust does not leak otherwise.
  cargo fuzz run "$build" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -detect_leaks=0 -print_final_stats=1 -timeout=60 \
    2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)|Done [0-9]+ runs|ERROR|panicked|SUMMARY' || true
  if compgen -G "fuzz/artifacts/$t/*-*" >/dev/null; then
    echo "fuzz target $t found a failing input:" >&2
    ls "fuzz/artifacts/$t" >&2
    exit 1
  fi
done
