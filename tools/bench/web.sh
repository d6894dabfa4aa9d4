#!/usr/bin/env bash
# The web room's cost (issue 16's proof), on 3 nodes on 127.0.0.1, fsync on, a fresh cluster per
# arm (so no arm inherits a grown tree): cairn-bench --workload put with CLIENTS clients for
# DURATION s, in each of these arms, alternated over ROUNDS rounds (the order turns each round):
#   base     BASE's cairnd (a build of an earlier commit, if BASE is set), no --http
#   plain    this build, no --http
#   http     this build, --http on every node, no viewer
#   viewers  this build, --http on every node, a viewer on each that reads every message
#   stuck    this build, --http on every node, a viewer on each that never reads (it is dropped)
# Output: RESULT lines (also in $OUT/web.txt), the medians per arm and their ratio to "plain"
# (and plain to base), and what each viewer read (a stuck one: closed by the server).
#
#   BASE=/tmp/base-build bash tools/bench/web.sh
# Env: CLIENTS (64), DURATION (10), ROUNDS (3), BIN (build dir, default build/), BASE (none),
#      OUT (default /tmp/web-<date>). Needs node (for tools/bench/viewer.mjs) and jq.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
NEW=$BIN
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
BASE=${BASE:-}
OUT=${OUT:-/tmp/web-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/web.txt
: >"$RES"
NAME=web
# shellcheck source=tools/bench/cluster.sh
. "$ROOT/tools/bench/cluster.sh"
command -v node >/dev/null || die "node missing (tools/bench/viewer.mjs)"
VIEWERS=()
cleanup_extra() { stop_viewers; }
stop_viewers() {
  local p
  for p in "${VIEWERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${VIEWERS[@]}"; do wait "$p" 2>/dev/null || true; done
  VIEWERS=()
}

# arm NAME ROUND: a fresh cluster set up for the arm, one cairn-bench run, the cluster stopped.
arm() {
  local name=$1 round=$2 i label="cairn-put-c$CLIENTS-$1-$2"
  case "$name" in
    base) BIN=$BASE start_cluster ;;
    plain) BIN=$NEW start_cluster ;;
    http | viewers | stuck) BIN=$NEW start_cluster --http "127.0.0.1:18{i}80" ;;
  esac
  if [ "$name" = viewers ] || [ "$name" = stuck ]; then
    local mode=()
    [ "$name" = stuck ] && mode=(--stuck)
    for i in 1 2 3; do
      node "$ROOT/tools/bench/viewer.mjs" "127.0.0.1:18${i}80" "${mode[@]}" \
        2>>"$OUT/$label.viewers.txt" &
      VIEWERS+=($!)
    done
  fi
  say "cairn: put c$CLIENTS, $name, round $round"
  timeout $((DURATION + 120)) "$NEW/tools/cairn-bench" --addr "$ALL" --clients "$CLIENTS" \
    --duration "$DURATION" --label "$label" --workload put >"$OUT/$label.txt" 2>&1 ||
    die "cairn-bench $label failed: $(cat "$OUT/$label.txt")"
  grep RESULT "$OUT/$label.txt" | tee -a "$RES"
  if [ "$name" = viewers ] || [ "$name" = stuck ]; then
    curl -s "127.0.0.1:18180/metrics" | grep -E '^cairn_web_clients' | sed "s/^/  $label node 1: /"
  fi
  stop_viewers
  stop_cluster
}

arms=(plain http viewers stuck)
[ -n "$BASE" ] && arms=(base "${arms[@]}")
for r in $(seq 1 "$ROUNDS"); do
  n=${#arms[@]}
  for k in $(seq 0 $((n - 1))); do
    arm "${arms[$(( (k + r - 1) % n ))]}" "$r"
  done
done

for f in ops_s p50_ms p99_ms; do
  line="AB put-c$CLIENTS $f"
  plain=$(grep -h -- "-plain-" "$RES" | field "$f" | median)
  for a in "${arms[@]}"; do
    v=$(grep -h -- "-$a-" "$RES" | field "$f" | median)
    line+=" $a=$v"
    [ "$a" != plain ] && line+=" ($a/plain=$(awk -v a="$v" -v b="$plain" 'BEGIN { printf "%.3f", a / b }'))"
  done
  echo "$line" | tee -a "$RES"
done
cat "$OUT"/*.viewers.txt 2>/dev/null | sed 's/^/viewer: /' | tee -a "$RES"
say "done: $RES"
