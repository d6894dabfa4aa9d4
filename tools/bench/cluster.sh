#!/usr/bin/env bash
# Starts a fresh 3-node Cairn cluster on loopback (fsync on), runs cairn-bench's shapes against
# it, prints the table and RESULT lines, and stops the cluster. Build first (tools/dev.sh test).
#   SCALE=0.2 bash tools/bench/cluster.sh     # a quicker look
#   ONLY=watch bash tools/bench/cluster.sh     # only the shapes whose label matches a regex
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-build}
SCALE=${SCALE:-1}
n() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 100 ? 100 : v) }'; }
DATA=$(mktemp -d /tmp/cairn-bench-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT INT TERM
CLUSTER="1=tcp://127.0.0.1:17100,2=tcp://127.0.0.1:17200,3=tcp://127.0.0.1:17300"
for i in 1 2 3; do
  "$BIN/node/cairnd" --data "$DATA/n$i" --id "$i" --cluster "$CLUSTER" \
    --client "tcp://127.0.0.1:17${i}01" --events "tcp://127.0.0.1:17${i}02" 2>"$DATA/n$i.log" &
  pids+=($!)
done
ALL=tcp://127.0.0.1:17101,tcp://127.0.0.1:17201,tcp://127.0.0.1:17301
leader=0
for _ in $(seq 1 100); do  # readiness: poll until a leader is known
  leader=$("$BIN/tools/cairn" --timeout 300 --addr tcp://127.0.0.1:17101 self 2>/dev/null |
           awk '/^leader/ { print $2 }') || true
  [ -n "$leader" ] && [ "$leader" != 0 ] && break
  sleep 0.1
done
[ -n "$leader" ] && [ "$leader" != 0 ] || { echo "no leader elected" >&2; exit 1; }
LEADER=tcp://127.0.0.1:17${leader}01
B="$BIN/tools/cairn-bench"
shape() {  # shape LABEL cairn-bench-args...: runs one shape unless ONLY excludes it
  local label=$1
  shift
  [[ -z "${ONLY:-}" || "$label" =~ $ONLY ]] || return 0
  "$B" "$@"
}
shape put-c1-leader --addr "$LEADER" --workload put --clients 1 --count "$(n 5000)" --label put-c1-leader --baseline
shape put-c16-leader --addr "$LEADER" --workload put --clients 16 --count "$(n 50000)" --label put-c16-leader
shape put-c64-leader --addr "$LEADER" --workload put --clients 64 --count "$(n 100000)" --label put-c64-leader
shape put-c64-all --addr "$ALL" --workload put --clients 64 --count "$(n 100000)" --label put-c64-all
shape get-lin-c16-all --addr "$ALL" --workload get --clients 16 --count "$(n 100000)" --label get-lin-c16-all
shape get-lin-c64-all --addr "$ALL" --workload get --clients 64 --count "$(n 100000)" --label get-lin-c64-all
shape get-local-c64-all --addr "$ALL" --workload get --local --clients 64 --count "$(n 100000)" --label get-local-c64-all
# Notification latency: a writer paced at 200 writes/s to the leader, watchers on a follower.
FOLLOWER=tcp://127.0.0.1:17$((leader % 3 + 1))01
for subs in 1 100 1000; do
  shape "watch-s$subs" --addr "$LEADER" --watch-addr "$FOLLOWER" --workload watch --rate 200 --count "$(n 2000)" \
    --subscribers "$subs" --baseline
done
