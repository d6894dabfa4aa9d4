#!/usr/bin/env bash
# Transactions and exactly-once writes (issue 15's "Benchmark" proof), on 3 nodes on 127.0.0.1,
# fsync on, fresh data directories, default flags, clients spread over the three nodes:
#   1. A/B        cairn-bench --workload put with CLIENTS clients for DURATION s, with and
#                 without --exactly-once (each client's writes carry a session and a seq),
#                 alternated ROUNDS times each way (off on on off off on ...) in one cluster
#   2. txn        cairn-bench --workload txn: one compare and 4 SETs of unique keys per request
#   3. etcd       (if etcd and go are installed, ETCD=1) the same transaction on etcd 3.4
#                 (tools/bench/etcdbench), on a 3-member etcd started by
#                 ../shared/bench/etcd-cluster.sh, in the same run
# Output: RESULT lines (also in $OUT/txn.txt), then the medians of the A/B arms and their ratio.
#
#   bash tools/bench/txn.sh
# Env: CLIENTS (64), DURATION (10), ROUNDS (3), ETCD (1), BIN (build dir, default build/),
#      OUT (default /tmp/txn-<date>).
# Needs: cmake --build build --target cairnd cairn cairn-bench; jq. Everything started here is
# stopped by PID on exit or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
ETCD=${ETCD:-1}
OUT=${OUT:-/tmp/txn-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RES=$OUT/txn.txt
: >"$RES"
NAME=txn
# shellcheck source=tools/bench/cluster.sh
. "$ROOT/tools/bench/cluster.sh"
start_cluster

# bench LABEL ARGS...: one cairn-bench run, its RESULT line kept.
bench() {
  local label=$1
  shift
  timeout $((DURATION + 120)) "$BIN/tools/cairn-bench" --addr "$ALL" --clients "$CLIENTS" \
    --duration "$DURATION" --label "$label" "$@" >"$OUT/$label.txt" 2>&1 ||
    die "cairn-bench $label failed: $(cat "$OUT/$label.txt")"
  grep RESULT "$OUT/$label.txt" | tee -a "$RES"
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for arm in $order; do
    say "cairn: put c$CLIENTS, exactly-once $arm, round $r"
    if [ "$arm" = on ]; then
      bench "cairn-put-c$CLIENTS-eo-on-$r" --workload put --exactly-once
    else
      bench "cairn-put-c$CLIENTS-eo-off-$r" --workload put
    fi
  done
done
say "cairn: txn (a compare and 4 SETs) c$CLIENTS"
bench "cairn-txn-c$CLIENTS" --workload txn
say "cairn: txn c$CLIENTS with exactly-once"
bench "cairn-txn-c$CLIENTS-eo" --workload txn --exactly-once

# The medians of each arm (ops/s, p50, p99) and on/off ratios.
for f in ops_s p50_ms p99_ms; do
  off=$(grep -h "eo-off" "$RES" | field "$f" | median)
  on=$(grep -h "eo-on" "$RES" | field "$f" | median)
  echo "AB put-c$CLIENTS $f off=$off on=$on on/off=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')" |
    tee -a "$RES"
done

if etcd_wanted; then
  etcd_start
  say "etcd: txn (a compare and 4 puts) c$CLIENTS"
  timeout $((DURATION + 120)) "$DATA/etcdbench" --workload txn --clients "$CLIENTS" --duration "$DURATION" \
    >"$OUT/etcd-txn.txt" || die "etcd's txn load failed: $(cat "$OUT/etcd-txn.txt")"
  grep RESULT "$OUT/etcd-txn.txt" | tee -a "$RES"
  etcd_stop
fi
say "done: $RES"
