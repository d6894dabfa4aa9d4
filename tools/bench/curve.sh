#!/usr/bin/env bash
# What CURVE costs (issue 17's proof), on 3 nodes on 127.0.0.1, fsync on, a fresh cluster per arm
# and shape: cairn-bench put and get with 1 and CLIENTS clients for DURATION s, in two arms
# alternated over ROUNDS rounds (the order turns each round):
#   plain   no keys (plain text)
#   curve   every node with --key and --clients, the bench's clients with a listed key: every
#           request and reply encrypted and authenticated, every connection through ZAP
# and, when etcd and go are installed (ETCD=0 leaves them out), etcd's counterparts, the same
# shapes through tools/bench/etcdbench (linearizable gets):
#   etcd      3 members, plain text (../shared/bench/etcd-cluster.sh)
#   etcd-tls  the same with TLS on every client and peer connection, client certificates required
# Output: RESULT lines (also in $OUT/curve.txt), then per shape the medians of each arm,
# curve/plain and etcd-tls/etcd.
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
  case $name in etcd*) etcd_arm "$@"; return ;; esac
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

# etcd_arm NAME ROUND: the same for etcd (a fresh cluster per shape).
etcd_arm() {
  local name=$1 round=$2 shape workload clients label tls=()
  for shape in "${SHAPES[@]}"; do
    read -r workload clients <<<"$shape"
    label="etcd-$workload-c$clients-$name-$round"
    if [ "$name" = etcd-tls ]; then ETCD_TLS=1 etcd_start; else ETCD_TLS=0 etcd_start; fi
    tls=()
    if [ "$name" = etcd-tls ]; then tls=("${ETCD_TLS_FLAGS[@]}"); fi
    say "etcd: $workload c$clients, $name, round $round"
    timeout $((DURATION + 120)) "$DATA/etcdbench" --workload "$workload" --clients "$clients" \
      --duration "$DURATION" ${tls[@]+"${tls[@]}"} \
      --endpoints "$([ "$name" = etcd-tls ] && echo "https://127.0.0.1:22379,https://127.0.0.1:22479,https://127.0.0.1:22579" || echo "127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579")" \
      >"$OUT/$label.txt" 2>&1 || die "etcdbench $label failed: $(tail -3 "$OUT/$label.txt")"
    grep RESULT "$OUT/$label.txt" | sed "s/^RESULT [^ ]*/RESULT $label/" | tee -a "$RES"
    etcd_stop
  done
}

arms=(plain curve)
if etcd_wanted; then arms+=(etcd etcd-tls); fi
for r in $(seq 1 "$ROUNDS"); do
  for k in $(seq 0 $((${#arms[@]} - 1))); do
    arm "${arms[$(((k + r - 1) % ${#arms[@]}))]}" "$r"
  done
done

# ab SYSTEM BASE NEW: per shape and field, the medians of two arms and their ratio.
ab() {
  local sys=$1 base=$2 new=$3 shape workload clients f b n
  for shape in "${SHAPES[@]}"; do
    read -r workload clients <<<"$shape"
    for f in ops_s p50_ms p99_ms; do
      b=$(grep -hE -- "RESULT $sys-$workload-c$clients-$base-[0-9]+ " "$RES" | field "$f" | median)
      n=$(grep -hE -- "RESULT $sys-$workload-c$clients-$new-[0-9]+ " "$RES" | field "$f" | median)
      echo "AB $sys $workload-c$clients $f $base=$b $new=$n ($new/$base=$(awk -v a="$n" \
        -v b="$b" 'BEGIN { printf "%.3f", a / b }'))" | tee -a "$RES"
    done
  done
}
ab cairn plain curve
if [[ " ${arms[*]} " == *" etcd "* ]]; then ab etcd etcd etcd-tls; fi
say "done: $RES"
