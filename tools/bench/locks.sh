#!/usr/bin/env bash
# Locks and leases (issue 14's "Benchmark" proof), on 3 nodes on 127.0.0.1, fsync on, fresh data
# directories, default flags:
#   1. lock cycles  cairn-bench --workload lock with 1 and CONTENDERS contenders for DURATION s:
#                   acquire -> release cycles/s and their latency, handoff latency (a holder
#                   begins to release -> the next holder's lock() returns), p50/p99
#   2. keep-alives  LEASES leases of TTL ms kept alive (each every third of its ttl): the nodes'
#                   CPU (from /proc) and the log slots chosen per second, against the same
#                   cluster idle for DURATION s just before
#   3. etcd         (if etcd and go are installed, ETCD=1) etcd 3.4's lock recipe
#                   (clientv3/concurrency.Mutex, tools/bench/etcdbench) with the same shapes, on a
#                   3-member etcd started by ../shared/bench/etcd-cluster.sh, in the same run
# Output: RESULT lines and `LEASES <metric> <value>` lines (also in $OUT/locks.txt).
#
#   bash tools/bench/locks.sh
# Env: CONTENDERS (16), DURATION (15), LEASES (10000), TTL (10000), THREADS (16: keep-alive
#      senders, each one request at a time), ETCD (1), BIN (build dir,
#      default build/), OUT (default /tmp/locks-<date>).
# Needs: cmake --build build --target cairnd cairn cairn-bench; jq. Everything started here is
# stopped by PID on exit or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
CONTENDERS=${CONTENDERS:-16}
DURATION=${DURATION:-15}
[ "$DURATION" -ge 5 ] || { echo "locks.sh: DURATION must be at least 5 (seconds)" >&2; exit 1; }
LEASES=${LEASES:-10000}
TTL=${TTL:-10000}
THREADS=${THREADS:-16}
ETCD=${ETCD:-1}
OUT=${OUT:-/tmp/locks-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/locks.txt
: >"$RES"
NAME=locks
# shellcheck source=tools/bench/cluster.sh
. "$ROOT/tools/bench/cluster.sh"
emit() { echo "LEASES $1 $2" | tee -a "$RES"; }
start_cluster

# CPU ticks (user + system) of the three nodes, and the leader's chosen log prefix.
ticks() {
  local t=0 p
  for p in "${NODES[@]}"; do
    t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$p/stat") ))
  done
  echo "$t"
}
slot() { cairn --addr "$ALL" members --json | jq -s 'map(.learned // 0) | max'; }
now() { date +%s.%N; }
HZ=$(getconf CLK_TCK)
# window START_TICKS START_SLOT START_TIME NAME: CPU % of one core (the three nodes together) and
# slots chosen per second since the start.
window() {
  local t s e
  t=$(ticks); s=$(slot); e=$(now)
  emit "$4_cpu_pct" "$(awk -v a="$1" -v b="$t" -v hz="$HZ" -v t0="$3" -v t1="$e" \
    'BEGIN { printf "%.1f", 100 * (b - a) / hz / (t1 - t0) }')"
  emit "$4_slots_per_s" "$(awk -v a="$2" -v b="$s" -v t0="$3" -v t1="$e" \
    'BEGIN { printf "%.2f", (b - a) / (t1 - t0) }')"
}

for c in 1 "$CONTENDERS"; do
  say "cairn: lock, $c contender(s), $DURATION s"
  timeout $((DURATION + 120)) "$BIN/tools/cairn-bench" --addr "$ALL" --workload lock \
    --clients "$c" --duration "$DURATION" --label "cairn-lock-c$c" >"$OUT/cairn-lock-c$c.txt" ||
    die "the lock load failed: $(cat "$OUT/cairn-lock-c$c.txt")"
  grep RESULT "$OUT/cairn-lock-c$c.txt" | tee -a "$RES"
done

say "cairn: idle for $DURATION s"
t0=$(ticks); s0=$(slot); e0=$(now)
sleep "$DURATION"  # the idle window measured
window "$t0" "$s0" "$e0" idle

say "cairn: $LEASES leases of $TTL ms kept alive for $DURATION s"
"$BIN/tools/cairn-bench" --addr "$ALL" --workload keepalive --leases "$LEASES" --ttl "$TTL" \
  --duration "$DURATION" --threads "$THREADS" --label "cairn-keepalive-l$LEASES" >"$OUT/keepalive.txt" &
KA=$!
PIDS+=($KA)
until grep -q "KEEPALIVE start" "$OUT/keepalive.txt" 2>/dev/null; do
  kill -0 "$KA" 2>/dev/null || die "cairn-bench keepalive ended early: $(cat "$OUT/keepalive.txt")"
  sleep 0.05
done
t0=$(ticks); s0=$(slot); e0=$(now)
# Measured while the keep-alives run, ending 2 s before they stop (the leases are revoked then:
# those log writes are not the keep-alives').
sleep $((DURATION - 2))
kill -0 "$KA" 2>/dev/null || die "cairn-bench keepalive ended early: $(cat "$OUT/keepalive.txt")"
window "$t0" "$s0" "$e0" keepalive
wait "$KA" || die "the keep-alive load failed: $(cat "$OUT/keepalive.txt")"
grep RESULT "$OUT/keepalive.txt" | tee -a "$RES"

if etcd_wanted; then
  etcd_start
  for c in 1 "$CONTENDERS"; do
    say "etcd: lock, $c contender(s), $DURATION s"
    timeout $((DURATION + 120)) "$DATA/etcdbench" --workload lock --clients "$c" --duration "$DURATION" \
      >"$OUT/etcd-lock-c$c.txt" || die "etcd's lock load failed: $(cat "$OUT/etcd-lock-c$c.txt")"
    grep RESULT "$OUT/etcd-lock-c$c.txt" | tee -a "$RES"
  done
  etcd_stop
fi
say "done: $RES"
