#!/usr/bin/env bash
# What CURVE costs (issue 17's proof), on 3 nodes on 127.0.0.1, fsync on, a fresh cluster per arm
# and shape: cairn-bench put and get with 1 and CLIENTS clients for DURATION s, in two arms
# alternated over ROUNDS rounds (the order turns each round):
#   plain   no keys (plain text)
#   curve   every node with --key and --clients, the bench's clients with a listed key: every
#           request and reply encrypted and authenticated, every connection through ZAP
# Output: RESULT lines (also in $OUT/curve.txt), then per shape the medians of each arm and
# curve/plain.
#
#   bash tools/bench/curve.sh
# Env: CLIENTS (64), DURATION (8), ROUNDS (3), BIN (build dir, default build/), OUT (default
#      /tmp/curve-<date>). Needs jq.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/curve-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/curve.txt
: >"$RES"
NAME=curve
# shellcheck source=tools/bench/cluster.sh
. "$ROOT/tools/bench/cluster.sh"

SHAPES=("put 1" "put $CLIENTS" "get 1" "get $CLIENTS")

# arm NAME ROUND: for each shape a fresh cluster, one cairn-bench run, the cluster stopped.
arm() {
  local name=$1 round=$2 shape workload clients label
  for shape in "${SHAPES[@]}"; do
    read -r workload clients <<<"$shape"
    label="cairn-$workload-c$clients-$name-$round"
    if [ "$name" = curve ]; then CURVE=1 start_cluster; else CURVE=0 start_cluster; fi
    say "cairn: $workload c$clients, $name, round $round"
    timeout $((DURATION + 120)) "$BIN/tools/cairn-bench" --addr "$ALL" --clients "$clients" \
      --threads 2 --duration "$DURATION" --label "$label" --workload "$workload" \
      >"$OUT/$label.txt" 2>&1 || die "cairn-bench $label failed: $(cat "$OUT/$label.txt")"
    grep RESULT "$OUT/$label.txt" | tee -a "$RES"
    stop_cluster
  done
}

arms=(plain curve)
for r in $(seq 1 "$ROUNDS"); do
  for k in 0 1; do
    arm "${arms[$(( (k + r - 1) % 2 ))]}" "$r"
  done
done

for shape in "${SHAPES[@]}"; do
  read -r workload clients <<<"$shape"
  for f in ops_s p50_ms p99_ms; do
    plain=$(grep -h -- "cairn-$workload-c$clients-plain-" "$RES" | field "$f" | median)
    curve=$(grep -h -- "cairn-$workload-c$clients-curve-" "$RES" | field "$f" | median)
    echo "AB $workload-c$clients $f plain=$plain curve=$curve (curve/plain=$(awk -v a="$curve" \
      -v b="$plain" 'BEGIN { printf "%.3f", a / b }'))" | tee -a "$RES"
  done
done
say "done: $RES"
