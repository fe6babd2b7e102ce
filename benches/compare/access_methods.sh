#!/usr/bin/env bash
# Every accessibility method at resident level, whole process, on one
# dataset: time and peak memory of each (`/usr/bin/time`), the documents
# kept in OUT for comparing two builds (`cmp OUT_A/M.json OUT_B/M.json`).
#
#   benches/compare/access_methods.sh [DIR] [BIN] [OUT]
#
# DIR defaults to the full-scale fixture
# (`cargo run --release -p bacino-fixtures -- --scale 1 --out /tmp/bacino-bergamo-1`),
# BIN to target/release/bacino. Decays as in the README's figures; reach
# 10 km.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-/tmp/bacino-bergamo-1}
bin=${2:-$here/target/release/bacino}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
[ -d "$dir" ] || { echo "no dataset at $dir (see the header)" >&2; exit 1; }
run() {
    local name=$1
    shift
    /usr/bin/time -f "$name %e s %M KB" "$bin" access "$dir" --kind gp --max-cost 10000 \
        "$@" >"$out/$name.json"
}
run 2sfca --method 2sfca
run e2sfca --method e2sfca
run g2sfca --method g2sfca --gaussian 3000
run 3sfca --method 3sfca --gaussian 3000
run gravity --method gravity --gravity=-1,1000,100
run bfca --method bfca --logistic 5000,1000
run sa --method sa --gaussian 3000
run huff --method huff --gravity=-1,1000,100
run raam --method raam
echo "documents in $out" >&2
