#!/usr/bin/env bash
# Smoke test of the static build (CAIRN_STATIC): the binaries need no shared library, and a 3-node
# cluster of them serves, loses a node, gets it back with --data alone, takes in a node that
# joins, and restores a backup into a new node. Usage: tools/static-smoke.sh BUILD_DIR (tools/dev.sh static runs it).
set -euo pipefail
BUILD=${1:?usage: tools/static-smoke.sh BUILD_DIR}
CAIRND=$BUILD/node/cairnd
CAIRN=$BUILD/tools/cairn
DIR=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "static smoke: FAILED: $*" >&2; for f in "$DIR"/*.log; do echo "== $f"; cat "$f"; done >&2; exit 1; }

for bin in "$CAIRND" "$CAIRN"; do
  out=$(ldd "$bin" 2>&1 || true)
  [[ $out == *"not a dynamic executable"* ]] || fail "$bin is dynamic: $out"
done
"$CAIRND" --version

base=$((17000 + RANDOM % 2000 * 4))  # four ports per node: peer, client, events (and a spare)
peer() { echo "tcp://127.0.0.1:$((base + 10 * $1))"; }
client() { echo "127.0.0.1:$((base + 10 * $1 + 1))"; }
events() { echo "tcp://127.0.0.1:$((base + 10 * $1 + 2))"; }
CLUSTER="1=$(peer 1),2=$(peer 2),3=$(peer 3)"
start() {  # start ID [flags...]: a node on its ports, logging to DIR/nID.log
  local i=$1
  shift
  "$CAIRND" --data "$DIR/n$i" --client "tcp://$(client "$i")" --events "$(events "$i")" "$@" \
    >>"$DIR/n$i.log" 2>&1 &
  pids[$i]=$!
}
ready() {  # ready ID: the node answers SELF within 10 s (polled, no fixed sleep)
  for _ in $(seq 1 100); do
    "$CAIRN" --addr "$(client "$1")" --timeout 100 self >/dev/null 2>&1 && return 0
    kill -0 "${pids[$1]}" 2>/dev/null || fail "node $1 exited"
  done
  fail "node $1 not ready"
}

web() { echo "127.0.0.1:$((base + 10 * $1 + 3))"; }
for i in 1 2 3; do start "$i" --id "$i" --cluster "$CLUSTER" --http "$(web "$i")"; done
for i in 1 2 3; do ready "$i"; done
export CAIRN_ADDR="$(client 1),$(client 2),$(client 3)"
"$CAIRN" set /smoke/a one >/dev/null || fail "set"
[ "$("$CAIRN" get /smoke/a)" = one ] || fail "get"
# The web room (Boost.Beast, linked in whole): /healthz once the node reports a leader, /metrics.
healthy=""
for _ in $(seq 1 100); do
  healthy=$(curl -s -m 1 "http://$(web 2)/healthz" || true)
  [ "$healthy" = ok ] && break
  kill -0 "${pids[2]}" 2>/dev/null || fail "node 2 exited"
  sleep 0.05  # poll interval
done
[ "$healthy" = ok ] || fail "/healthz of node 2 said: $healthy"
# Read the page whole before matching: `curl | grep -q` under pipefail fails when grep stops
# reading at its match and curl takes SIGPIPE on the rest of the page.
metrics=$(curl -s -m 2 "http://$(web 2)/metrics" || true)
grep -q '^cairn_has_leader 1$' <<<"$metrics" || fail "/metrics of node 2: no 'cairn_has_leader 1' in ${#metrics} bytes"

kill -9 "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
"$CAIRN" set /smoke/b two >/dev/null || fail "set with node 1 killed"
[ "$("$CAIRN" get /smoke/b)" = two ] || fail "get with node 1 killed"
head=$("$CAIRN" rev)

start 1  # --data alone: the directory knows its cluster
ready 1
for _ in $(seq 1 100); do
  r=$("$CAIRN" --addr "$(client 1)" --local rev 2>/dev/null || echo 0)
  [ "$r" -ge "$head" ] && break
  sleep 0.1
done
[ "$("$CAIRN" --addr "$(client 1)" --local get /smoke/b)" = two ] || fail "node 1 did not catch up"

# A fifth static node joins the running cluster and becomes a voter once caught up.
start 5 --join "$(client 2)" --peer "$(peer 5)"
ready 5
[ "$("$CAIRN" --addr "$(client 5)" get /smoke/b)" = two ] || fail "the joined node lacks /smoke/b"
for _ in $(seq 1 100); do
  "$CAIRN" members --json | grep -q '"id":4,"role":"voter"' && break
  sleep 0.1
done
"$CAIRN" members --json | grep -q '"id":4,"role":"voter"' || fail "the joined node (id 4) was not made a voter"

"$CAIRN" snapshot save "$DIR/backup.cairn" || fail "snapshot save"
start 4 --restore "$DIR/backup.cairn"
ready 4
[ "$("$CAIRN" --addr "$(client 4)" get /smoke/a)" = one ] || fail "restored node lacks /smoke/a"
echo "static smoke: ok (3 static nodes, a kill, a restart with --data alone, a node joined," \
  "a backup restored)"
