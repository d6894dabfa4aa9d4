#!/usr/bin/env bash
# Joining a running cluster (issue 13's "Benchmark" proof): 3 nodes on 127.0.0.1, fsync on, fresh
# data directories, default flags, N keys of VALUE bytes loaded first. Then:
#   1. baseline  puts at CLIENTS clients for DURATION s, no join: ops/s and p99
#   2. join      a 4th node starts with --join while the same put load runs, and is timed until
#                  joined   its "ready" line (the cluster took it in: a learner),
#                  serving  its own state holds the leader's rev at the moment it was started (it
#                           serves local reads of everything written before it joined),
#                  voter    `cairn members` says it votes (the leader promoted it);
#                the put load's ops/s and p99 during the join, and their ratio to the baseline
# Output: lines `JOIN <metric> <value>` (also in $OUT/join.txt).
#
#   N=10000 bash tools/bench/join.sh        # 10k keys
#   N=1000000 bash tools/bench/join.sh      # 1M keys (about 300 MB of values, a 1-2 minute load)
# Env: N (10000), VALUE (256), CLIENTS (64), DURATION (20), BIN (build dir, default build/),
#      OUT (default /tmp/join-<date>), CAP (600: seconds a load or a wait may take at most).
# Needs: cmake --build build --target cairnd cairn cairn-bench; jq. Everything started here is
# stopped by PID on exit or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
N=${N:-10000}
VALUE=${VALUE:-256}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-20}
CAP=${CAP:-600}
OUT=${OUT:-/tmp/join-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/join.txt
: >"$RES"
NAME=join
# shellcheck source=tools/bench/cluster.sh
. "$ROOT/tools/bench/cluster.sh"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
emit() { echo "JOIN $1 $2" | tee -a "$RES"; }
start_cluster

say "loading $N keys of $VALUE bytes (c$CLIENTS)"
t0=$(now)
timeout "$CAP" "$BIN/tools/cairn-bench" --addr "$ALL" --workload put --clients "$CLIENTS" \
  --count "$N" --value-size "$VALUE" --label load >"$OUT/load.txt"
emit load_s "$(since "$t0")"
grep RESULT "$OUT/load.txt" | tee -a "$RES"

put() {  # put LABEL: the put load for DURATION s; its RESULT line in $OUT/LABEL.txt
  timeout $((DURATION + 60)) "$BIN/tools/cairn-bench" --addr "$ALL" --workload put \
    --clients "$CLIENTS" --duration "$DURATION" --value-size "$VALUE" --label "$1" >"$OUT/$1.txt"
}
field() { grep RESULT "$OUT/$1.txt" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

say "baseline: put c$CLIENTS for $DURATION s"
put baseline
grep RESULT "$OUT/baseline.txt" | tee -a "$RES"

say "join: node 4 starts with --join while put c$CLIENTS runs"
put during &
LOAD=$!
PIDS+=($LOAD)
sleep 1
head=$(cairn --addr "$ALL" rev)
t0=$(now)
"$BIN/node/cairnd" --data "$DATA/n4" --join "$(ep 1)" --peer tcp://127.0.0.1:18400 \
  --client "$(ep 4)" --events tcp://127.0.0.1:18402 2>>"$DATA/n4.log" &
PIDS+=($!)
joined="" serving="" voter=""
end=$(( $(date +%s) + CAP ))
while [ -z "$voter" ] || [ -z "$serving" ]; do
  [ "$(date +%s)" -lt "$end" ] || die "node 4 did not catch up and become a voter in $CAP s"
  if [ -z "$joined" ] && grep -q "ready client=" "$DATA/n4.log" 2>/dev/null; then
    joined=$(since "$t0")
  fi
  if [ -n "$joined" ] && [ -z "$serving" ]; then
    r=$(cairn --addr "$(ep 4)" --local rev 2>/dev/null || true)
    if [ -n "$r" ] && [ "$r" -ge "$head" ]; then serving=$(since "$t0"); fi
  fi
  if [ -n "$joined" ] && [ -z "$voter" ]; then
    role=$(cairn --addr "$ALL" members --json 2>/dev/null | jq -r 'select(.id == 4) | .role' || true)
    if [ "$role" = voter ]; then voter=$(since "$t0"); fi
  fi
  sleep 0.1
done
wait "$LOAD" || die "the put load during the join failed"
emit joined_s "$joined"
emit serving_s "$serving"
emit voter_s "$voter"
grep RESULT "$OUT/during.txt" | tee -a "$RES"
if [ -n "$(field during ops_s)" ] && [ -n "$(field baseline ops_s)" ]; then
  emit ops_ratio "$(awk -v a="$(field during ops_s)" -v b="$(field baseline ops_s)" \
    'BEGIN { printf "%.2f", a / b }')"
  emit p99_ratio "$(awk -v a="$(field during p99_ms)" -v b="$(field baseline p99_ms)" \
    'BEGIN { printf "%.2f", a / b }')"
fi
grep -h "snapshot\|promoting\|JOIN" "$DATA"/n*.log | head -20 >"$OUT/events.txt" || true
say "done: $RES"
