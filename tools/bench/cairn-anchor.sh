#!/usr/bin/env bash
# Cairn's side of the side-by-side benchmark (../shared/bench/README.md has the contract): for each
# of RUNS runs, a fresh 3-node cluster on 127.0.0.1 (fsync on, fresh data directories), every
# canonical shape once, then the cluster is stopped. Each shape's output, with its RESULT lines,
# goes to $OUT/<test>.<run>.txt and to stdout. Build first (bash tools/dev.sh test).
#
#   bash tools/bench/cairn-anchor.sh                       # RUNS=3, SCALE=1, OUT=/tmp/cairn-anchor-*
#   RUNS=1 SCALE=0.2 bash tools/bench/cairn-anchor.sh      # a quick look
#   ONLY='^watch' FANOUT=1 bash tools/bench/cairn-anchor.sh  # only matching shapes; FANOUT adds
#                                                          # watch with 100 and 1000 subscribers
#   NEW_BENCH=$PWD/tools/bench/cairn-anchor.sh ../shared/bench/run-all.sh etcd zk new
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
RUNS=${RUNS:-3}
SCALE=${SCALE:-1}
OUT=${OUT:-/tmp/cairn-anchor-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
n() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 100 ? 100 : v) }'; }
[ -x "$BIN/node/cairnd" ] && [ -x "$BIN/tools/cairn-bench" ] ||
  { echo "build first: bash tools/dev.sh test" >&2; exit 1; }

DATA=""
pids=()
stop_cluster() {
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  pids=()
  [ -n "$DATA" ] && rm -rf "$DATA"
  DATA=""
}
trap stop_cluster EXIT
trap 'stop_cluster; exit 130' INT TERM

CLUSTER="1=tcp://127.0.0.1:17100,2=tcp://127.0.0.1:17200,3=tcp://127.0.0.1:17300"
ALL=tcp://127.0.0.1:17101,tcp://127.0.0.1:17201,tcp://127.0.0.1:17301
start_cluster() {
  DATA=$(mktemp -d /tmp/cairn-anchor-data-XXXXXX)
  for i in 1 2 3; do
    "$BIN/node/cairnd" --data "$DATA/n$i" --id "$i" --cluster "$CLUSTER" \
      --client "tcp://127.0.0.1:17${i}01" --events "tcp://127.0.0.1:17${i}02" 2>"$DATA/n$i.log" &
    pids+=($!)
  done
  leader=0
  for _ in $(seq 1 100); do  # readiness: poll until a leader is known
    leader=$("$BIN/tools/cairn" --timeout 300 --addr tcp://127.0.0.1:17101 self 2>/dev/null |
      awk '/^leader/ { print $2 }') || true
    [ -n "$leader" ] && [ "$leader" != 0 ] && break
    sleep 0.1
  done
  [ -n "$leader" ] && [ "$leader" != 0 ] || { echo "no leader elected" >&2; exit 1; }
  LEADER=tcp://127.0.0.1:17${leader}01
  FOLLOWER=tcp://127.0.0.1:17$((leader % 3 + 1))01
}

shape() {  # shape TEST RUN cairn-bench-args...
  local test=$1 r=$2
  shift 2
  [[ -z "${ONLY:-}" || "$test" =~ $ONLY ]] || return 0
  timeout 120 "$BIN/tools/cairn-bench" --label "$test" "$@" 2>/dev/null | tee "$OUT/$test.$r.txt" |
    grep -E '^(RESULT|RATIO)' || echo "$test: no result (see $OUT/$test.$r.txt)" >&2
}

{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cpus, kernel $(uname -r)"
  echo "cairn: $("$BIN/node/cairnd" --version) at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
  echo "runs: $RUNS scale: $SCALE"
} | tee "$OUT/env.txt"

for r in $(seq 1 "$RUNS"); do
  start_cluster
  echo "== run $r: leader is node $leader"
  shape put-c1-leader "$r" --addr "$LEADER" --workload put --clients 1 --count "$(n 10000)"
  shape put-c16-leader "$r" --addr "$LEADER" --workload put --clients 16 --count "$(n 50000)"
  shape put-c64-leader "$r" --addr "$LEADER" --workload put --clients 64 --count "$(n 100000)"
  shape put-c64-all "$r" --addr "$ALL" --workload put --clients 64 --count "$(n 100000)"
  shape get-lin-c1-leader "$r" --addr "$LEADER" --workload get --clients 1 --count "$(n 10000)"
  shape get-lin-c16-all "$r" --addr "$ALL" --workload get --clients 16 --count "$(n 50000)"
  shape get-lin-c64-all "$r" --addr "$ALL" --workload get --clients 64 --count "$(n 100000)"
  shape get-local-c64-all "$r" --addr "$ALL" --workload get --local --clients 64 \
    --count "$(n 100000)"
  # A writer paced at 200 writes/s to the leader, a Watcher on a follower.
  shape watch-e2e "$r" --addr "$LEADER" --watch-addr "$FOLLOWER" --workload watch --rate 200 \
    --count "$(n 2000)" --subscribers 1
  if [ -n "${FANOUT:-}" ]; then
    for subs in 1 100 1000; do
      shape "watch-fanout-s$subs" "$r" --addr "$LEADER" --watch-addr "$FOLLOWER" \
        --workload watch --rate 200 --count "$(n 2000)" --subscribers "$subs" --baseline \
        --label watch-fanout
    done
  fi
  # Memory after the whole matrix (every shape's keys are still in the tree): peak and current
  # resident set of each node, from /proc.
  for i in 1 2 3; do
    echo "RSS node $i: $(awk '/^VmHWM|^VmRSS/ { printf "%s %s kB  ", $1, $2 }' \
      "/proc/${pids[$((i - 1))]}/status")"
  done | tee "$OUT/memory.$r.txt"
  stop_cluster
done
echo "results in $OUT"
