#!/usr/bin/env bash
# A/B of two builds (a change against the commit before it): BASE's and NEW's cairnd and
# cairn-bench, each in plain text and under CURVE (CURVE=1 in cluster.sh), on put c1, put c64 and
# get c64; a fresh 3-node cluster (fsync on) per run, the four arms turned each round. Output:
# RESULT lines in $OUT/ab.txt, then per shape and mode the medians and new/base.
#
#   git worktree add /tmp/wt-base REV && cmake -S /tmp/wt-base -B /tmp/rel-base \
#     -DCMAKE_BUILD_TYPE=Release -DCAIRN_TESTS=OFF && cmake --build /tmp/rel-base -j2 \
#     --target cairnd cairn cairn-bench            # and the same for NEW
#   BASE=/tmp/rel-base NEW=/tmp/rel-new bash tools/bench/ab.sh
# Env: BASE, NEW (build directories), DURATION (8), ROUNDS (3), OUT (/tmp/ab-<time>). Needs jq.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BASE=${BASE:?BASE: the base build directory}
NEW=${NEW:?NEW: the new build directory}
BIN=$NEW
DURATION=${DURATION:-8}; ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/ab-$(date +%H%M%S)}; mkdir -p "$OUT"; RES=$OUT/ab.txt; : >"$RES"
NAME=ab
. "$ROOT/tools/bench/cluster.sh"
SHAPES=("put 1" "put 64" "get 64")
run() {  # run BUILD MODE ROUND
  local b=$1 mode=$2 r=$3 shape workload clients label
  BIN=$([ "$b" = base ] && echo "$BASE" || echo "$NEW")
  for shape in "${SHAPES[@]}"; do
    read -r workload clients <<<"$shape"
    label="$workload-c$clients-$b-$mode-$r"
    if [ "$mode" = curve ]; then CURVE=1 start_cluster; else CURVE=0 start_cluster; fi
    timeout $((DURATION + 120)) "$BIN/tools/cairn-bench" --addr "$ALL" --clients "$clients" \
      --threads 2 --duration "$DURATION" --label "$label" --workload "$workload" >"$OUT/$label.txt" 2>&1 || die "bench $label failed"
    grep RESULT "$OUT/$label.txt" | tee -a "$RES"
    stop_cluster
  done
}
arms=("base plain" "new plain" "base curve" "new curve")
for r in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2 3; do
    read -r b m <<<"${arms[$(( (k + r - 1) % 4 ))]}"
    run "$b" "$m" "$r"
  done
done
for shape in "${SHAPES[@]}"; do
  read -r workload clients <<<"$shape"
  for mode in plain curve; do
    for f in ops_s p50_ms p99_ms; do
      base=$(grep -h -- "$workload-c$clients-base-$mode-" "$RES" | field "$f" | median)
      new=$(grep -h -- "$workload-c$clients-new-$mode-" "$RES" | field "$f" | median)
      echo "AB $workload-c$clients $mode $f base=$base new=$new (new/base=$(awk -v a="$new" -v b="$base" 'BEGIN { printf "%.3f", a / b }'))" | tee -a "$RES"
    done
  done
done
