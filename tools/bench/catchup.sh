#!/usr/bin/env bash
# The large-store scenario (issue 18's "Benchmark" proof), run on Cairn and on etcd 3.4 side by
# side in one sitting: 3 nodes on 127.0.0.1, fsync on, fresh data directories, default flags.
# For each system:
#   1. load    N keys of VALUE bytes, 64 clients on the leader, in batches of BATCH; ops/s and p99
#              of each batch (the goal: the last batch within 15 % of the first)
#   2. memory  RSS (VmRSS) and peak (VmHWM) of every node after the load
#   3. catch-up kill -9 a follower, write DOWN_OPS more keys (c64, "writes with a follower
#              down"), restart it and time it until its applied state reaches the leader's (as
#              taken after those writes), while CATCHUP_OPS more puts (c64) go to the leader ("put
#              c64 while a follower catches up"); then until it equals the leader's (load over).
#              Cairn: whether a snapshot was sent (leader's snapshots_sent, follower's
#              snapshots_installed); etcd: "sent database snapshot" lines in the leader's log
#   4. restart kill -9 all three, start all three at once, time to the first successful write
#              (one write at a time, 500 ms timeout each) and the failed attempts before it;
#              Cairn: snapshots_sent summed over the nodes afterwards (should be 0)
#   5. memory  again at the end (peak since the restart)
# Output: a table per system, lines `SCENARIO <system> <metric> <value>` (also in
# $OUT/scenario.txt), and a final side-by-side table (ratio = cairn / etcd).
#
#   bash tools/bench/catchup.sh                         # N=1000000, both systems
#   N=200000 bash tools/bench/catchup.sh                # a smaller look
#   SYSTEMS=cairn N=200000 bash tools/bench/catchup.sh  # one system only
# Env: N (1000000), VALUE (256), SYSTEMS ("cairn etcd"), BIN (Cairn build dir, default build/),
#      OUT (logs and results, default /tmp/catchup-<date>), BATCH (100000), CLIENTS (64),
#      DOWN_OPS (100000), CATCHUP_OPS (100000), SHARED (the side-by-side harness,
#      default ../shared/bench), ETCDLOAD (/tmp/etcdload, built from $SHARED/etcdload if
#      missing), KEEP_DATA=1 keeps the data directories (in $OUT/data-<system>), CAIRN_FLAGS
#      (extra cairnd flags, e.g. "--log-retain 0" to make the follower catch up by snapshot).
# Needs: Cairn built (cmake --build build --target cairnd cairn cairn-bench); etcd, etcdctl and go
# (bash $SHARED/setup.sh); jq and python3. Loopback only; every load run is bounded in count and
# capped in time; everything started is stopped by PID on exit or Ctrl-C.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build}
N=${N:-1000000}
VALUE=${VALUE:-256}
SYSTEMS=${SYSTEMS:-"cairn etcd"}
BATCH=${BATCH:-100000}
CLIENTS=${CLIENTS:-64}
DOWN_OPS=${DOWN_OPS:-100000}
CATCHUP_OPS=${CATCHUP_OPS:-100000}
SHARED=${SHARED:-$ROOT/../shared/bench}
ETCDLOAD=${ETCDLOAD:-/tmp/etcdload}
OUT=${OUT:-/tmp/catchup-$(date +%Y%m%d-%H%M%S)}
LOAD_CAP=${LOAD_CAP:-600}        # seconds: the most one load run may take
CATCHUP_CAP=${CATCHUP_CAP:-900}  # seconds: the most a catch-up or a restart is waited for
POLL=${POLL:-0.2}                # seconds between two polls of a node's state
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SCEN=$OUT/scenario.txt
: >"$SCEN"

die() { echo "catchup.sh: $*" >&2; exit 1; }
for s in $SYSTEMS; do
  case $s in
    cairn)
      [ -x "$BIN/node/cairnd" ] && [ -x "$BIN/tools/cairn" ] && [ -x "$BIN/tools/cairn-bench" ] ||
        die "build Cairn first: cmake --build build -j2 --target cairnd cairn cairn-bench" ;;
    etcd)
      command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
        die "etcd missing: bash $SHARED/setup.sh" ;;
    *) die "unknown system $s (cairn, etcd)" ;;
  esac
done
command -v jq >/dev/null || die "jq missing (apt-get install jq)"
if [[ " $SYSTEMS " == *" etcd "* && ! -x $ETCDLOAD ]]; then
  command -v go >/dev/null || die "go missing: bash $SHARED/setup.sh"
  echo "building $ETCDLOAD from $SHARED/etcdload"
  mkdir -p /tmp/etcdload-gopath/src
  ln -sfn "$(cd "$SHARED/etcdload" && pwd)" /tmp/etcdload-gopath/src/etcdload
  (cd /tmp/etcdload-gopath/src/etcdload &&
    GOPATH=/tmp/etcdload-gopath:/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE=/tmp/gocache \
      go build -o "$ETCDLOAD" .)
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
say() { echo "[$(date +%T)] $*"; }
emit() { echo "SCENARIO $SYS $1 $2" | tee -a "$SCEN"; }  # emit METRIC VALUE

# --- processes: every node and load generator started here, by PID -------------------------------
declare -A NODE_PID=()  # node index 1..3 -> PID of the running node
BG=()                   # background load generators
DATA=""
kill_nodes() {  # kill_nodes SIGNAL: stop every running node and wait for it
  kill_nodes_ "$@" 2>/dev/null  # (without bash's "Killed" notices)
}
kill_nodes_() {
  local p pids=()
  for i in "${!NODE_PID[@]}"; do pids+=("${NODE_PID[$i]}"); done
  NODE_PID=()
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "-$1" "${pids[@]}" 2>/dev/null || true
  for p in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
cleanup() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
  BG=()
  kill_nodes TERM
  if [ -n "$DATA" ] && [ -z "${KEEP_DATA:-}" ]; then rm -rf "$DATA"; fi
  DATA=""
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; cleanup; exit 130' INT TERM

port_free() { ! ss -Htln "sport = :$1" | grep -q .; }

# --- Cairn ---------------------------------------------------------------------------------------
CAIRN_CLUSTER="1=tcp://127.0.0.1:17100,2=tcp://127.0.0.1:17200,3=tcp://127.0.0.1:17300"
cairn_ep() { echo "tcp://127.0.0.1:17${1}01"; }
cairn_all() { echo "$(cairn_ep 1),$(cairn_ep 2),$(cairn_ep 3)"; }
cairn_start() {  # cairn_start I: start node I on its data directory (kept across restarts)
  local i=$1
  "$BIN/node/cairnd" --data "$DATA/n$i" --id "$i" --cluster "$CAIRN_CLUSTER" \
    --client "$(cairn_ep "$i")" --events "tcp://127.0.0.1:17${i}02" ${CAIRN_FLAGS:-} \
    2>>"$DATA/n$i.log" &
  NODE_PID[$i]=$!
}
cairn_self() { "$BIN/tools/cairn" --timeout 300 --addr "$(cairn_ep "$1")" self --json 2>/dev/null; }
cairn_applied() { cairn_self "$1" | jq -r '.rev // empty' 2>/dev/null || true; }
cairn_stat() { cairn_self "$1" | jq -r --arg k "$2" '.stats[$k] // empty' 2>/dev/null || true; }
cairn_leader() {  # the index of the node that node 1..3 agree leads (itself reporting so)
  local i l
  for i in 1 2 3; do
    [ -n "${NODE_PID[$i]:-}" ] || continue
    l=$(cairn_self "$i" | jq -r '.leader // 0' 2>/dev/null) || true
    if [ -n "$l" ] && [ "$l" != 0 ] && [ "$(cairn_self "$l" | jq -r '.leader // 0')" = "$l" ]; then
      echo "$l"; return 0
    fi
  done
  return 1
}
cairn_put() {  # cairn_put LABEL EP COUNT: sets PUT, the command of a c$CLIENTS put load
  PUT=("$BIN/tools/cairn-bench" --addr "$2" --workload put --clients "$CLIENTS" --threads 2
    --count "$3" --value-size "$VALUE" --label "$1")
}
cairn_probe() {  # one write with a 500 ms timeout; prints the error on failure
  timeout --foreground 10 "$BIN/tools/cairn" --timeout 500 --addr "$(cairn_all)" set /probe/restart x 2>&1 >/dev/null
}

# --- etcd (the flags of $SHARED/etcd-cluster.sh, on the same ports, restartable per member) ------
ETCD_CLUSTER="m1=http://127.0.0.1:22380,m2=http://127.0.0.1:22480,m3=http://127.0.0.1:22580"
etcd_ep() { echo "127.0.0.1:22$(($1 + 2))79"; }
etcd_all() { echo "$(etcd_ep 1),$(etcd_ep 2),$(etcd_ep 3)"; }
etcd_start() {
  local i=$1 cp=22$(($1 + 2))79 pp=22$(($1 + 2))80
  etcd --name "m$i" --data-dir "$DATA/m$i.data" \
    --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-token anchor \
    --initial-cluster-state new --logger zap --log-outputs stderr >>"$DATA/m$i.log" 2>&1 &
  NODE_PID[$i]=$!
}
etcd_status() { ETCDCTL_API=3 etcdctl --dial-timeout=300ms --command-timeout=500ms \
  --endpoints="$(etcd_ep "$1")" endpoint status -w json 2>/dev/null; }
etcd_applied() { etcd_status "$1" | jq -r '.[0].Status.raftAppliedIndex // empty' 2>/dev/null || true; }
etcd_leader() {
  local i s
  for i in 1 2 3; do
    [ -n "${NODE_PID[$i]:-}" ] || continue
    s=$(etcd_status "$i") || continue
    [ -n "$s" ] || continue
    if [ "$(jq -r '.[0].Status.header.member_id == .[0].Status.leader' <<<"$s")" = true ]; then
      echo "$i"; return 0
    fi
  done
  return 1
}
etcd_put() {
  PUT=("$ETCDLOAD" -mode put -endpoints "$2" -clients "$CLIENTS" -total "$3" -val "$VALUE"
    -max "${LOAD_CAP}s")
}
etcd_probe() {
  timeout --foreground 10 env ETCDCTL_API=3 etcdctl --dial-timeout=500ms --command-timeout=500ms \
    --endpoints="$(etcd_all)" put /probe/restart x 2>&1 >/dev/null
}
# etcd's log lines about snapshots, from line FROM of member I's log on: etcd_snap I FROM WHAT
#   sent: how many it sent (one sent logs "sent database snapshot to writer", then "sent
#   database snapshot"), begun (sends started), sent_bytes, installed (applied), received_bytes
etcd_snap() {
  local lines
  lines=$(tail -n +"$2" "$DATA/m$1.log")
  case $3 in
    sent) grep -c '"msg":"sent database snapshot"' <<<"$lines" || true ;;
    begun) grep -c '"msg":"sending database snapshot"' <<<"$lines" || true ;;
    installed) grep -c '"msg":"applied snapshot"' <<<"$lines" || true ;;
    sent_bytes) grep '"msg":"sent database snapshot"' <<<"$lines" |
      sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }' ;;
    received_bytes) grep '"msg":"received and saved database snapshot"' <<<"$lines" |
      sed -n 's/.*"incoming-snapshot-size-bytes":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }' ;;
  esac
}

# --- the scenario, system-neutral -----------------------------------------------------------------
logf() { if [ "$SYS" = cairn ]; then echo "$DATA/n$1.log"; else echo "$DATA/m$1.log"; fi; }
# A put load in the foreground (prints its RESULT line, labelled LABEL), or in the background (its
# output to FILE, its PID in BG). `timeout --foreground` keeps it in our process group, so Ctrl-C
# reaches it; a TERM to the timeout process is passed on to the load generator.
put() {  # put LABEL EP COUNT
  "${SYS}_put" "$@"
  timeout --foreground "$((LOAD_CAP + 30))" "${PUT[@]}" 2>>"$OUT/$SYS.bench.err" |
    grep '^RESULT' | sed "s/^RESULT [^ ]*/RESULT $1/" || true
}
put_bg() {  # put_bg LABEL EP COUNT FILE
  "${SYS}_put" "$1" "$2" "$3"
  timeout --foreground "$((LOAD_CAP + 30))" "${PUT[@]}" >"$4" 2>>"$OUT/$SYS.bench.err" &
  BG+=($!)
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }  # field NAME "RESULT ..." -> value
record_load() {  # record_load PREFIX "RESULT ..." COUNT: ops/s and percentiles as metrics
  local k n
  if [ -z "$2" ]; then emit "${1}_ops_s" NA; return 0; fi
  n=$(field n "$2")
  emit "${1}_n" "$n"
  for k in ops_s p50_ms p99_ms p999_ms max_ms; do emit "${1}_$k" "$(field "$k" "$2")"; done
  # errors: replies that were errors (cairn-bench); missing: operations that never completed
  # (etcdload stops a client at its first error)
  if [ -n "$(field errors "$2")" ]; then emit "${1}_errors" "$(field errors "$2")"; fi
  if [ "$n" -lt "$3" ]; then emit "${1}_missing" "$(($3 - n))"; fi
}
memory() {  # memory PHASE: VmRSS and VmHWM of every node, per node and the largest
  local i rss hwm maxr=0 maxh=0
  for i in 1 2 3; do
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/${NODE_PID[$i]}/status" 2>/dev/null || echo 0)
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/${NODE_PID[$i]}/status" 2>/dev/null || echo 0)
    emit "rss_${1}_n${i}_kb" "$rss"
    emit "hwm_${1}_n${i}_kb" "$hwm"
    if ((rss > maxr)); then maxr=$rss; fi
    if ((hwm > maxh)); then maxh=$hwm; fi
  done
  emit "rss_${1}_max_kb" "$maxr"
  emit "hwm_${1}_max_kb" "$maxh"
}
wait_leader() {  # wait_leader SECONDS: sets LEADER
  local deadline=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    LEADER=$("${SYS}_leader") && return 0
    sleep "$POLL"
  done
  return 1
}
wait_applied() {  # wait_applied NODE TARGET SECONDS: until NODE's applied state >= TARGET
  local deadline a
  deadline=$(awk -v n="$(now)" -v s="$3" 'BEGIN { printf "%d", n + s }')
  while [ "$(date +%s)" -lt "$deadline" ]; do
    a=$("${SYS}_applied" "$1")
    [ -n "$a" ] && [ "$a" -ge "$2" ] && return 0
    sleep "$POLL"
  done
  return 1
}

run_system() {
  SYS=$1
  local t phase i b batches left count r first last target t0 f a lead fails tmo unav other err
  local -A errs=()
  DATA=$OUT/data-$SYS
  rm -rf "$DATA"
  mkdir -p "$DATA"
  : >"$OUT/$SYS.bench.err"
  if [ "$SYS" = cairn ]; then
    for p in 17100 17101 17102 17200 17201 17202 17300 17301 17302; do
      port_free "$p" || die "port $p is in use (another cluster running?)"
    done
  else
    for p in 22379 22380 22479 22480 22579 22580; do
      port_free "$p" || die "port $p is in use (another etcd running? $SHARED/etcd-cluster.sh stop)"
    done
  fi
  echo
  say "== $SYS: N=$N VALUE=$VALUE clients=$CLIENTS, data in $DATA"
  if [ "$SYS" = cairn ]; then
    emit version "$("$BIN/node/cairnd" --version | head -1 | sed 's/^cairnd \([^ ]*\) (commit \(.*\))$/cairn-\1@\2/;s/ /_/g')"
  else
    emit version "etcd-$(etcd --version | awk '/etcd Version/ { print $3 }')"
  fi
  emit loadavg_start "$(cut -d' ' -f1 /proc/loadavg)"
  for i in 1 2 3; do "${SYS}_start" "$i"; done
  wait_leader 60 || die "$SYS: no leader after 60 s (logs in $DATA)"
  emit leader_node "$LEADER"
  local ep
  ep=$("${SYS}_ep" "$LEADER")

  # 1. load ----------------------------------------------------------------------------------------
  phase=$(now)
  batches=$(((N + BATCH - 1) / BATCH))
  left=$N
  first="" last=""
  local errors=0
  for b in $(seq 1 "$batches"); do
    count=$((left < BATCH ? left : BATCH))
    left=$((left - count))
    r=$(put "load-b$b" "$ep" "$count")
    say "load batch $b/$batches: ${r:-no result (see $OUT/$SYS.bench.err)}"
    record_load "$(printf 'load_b%02d' "$b")" "$r" "$count"
    errors=$((errors + $(field errors "$r" | grep . || echo 0)))
    [ -n "$first" ] || first=$r
    last=$r
  done
  if [ -n "$first" ] && [ -n "$last" ]; then
    emit load_last_vs_first_ops "$(awk -v a="$(field ops_s "$last")" -v b="$(field ops_s "$first")" \
      'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
    emit load_last_vs_first_p99 "$(awk -v a="$(field p99_ms "$last")" -v b="$(field p99_ms "$first")" \
      'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
  fi
  emit load_errors "$errors"
  emit phase_load_s "$(since "$phase")"

  # 2. memory after the load -----------------------------------------------------------------------
  memory after_load
  emit disk_after_load_kb "$(du -sk "$DATA" | cut -f1)"

  # 3. a follower down, then catching up ---------------------------------------------------------
  phase=$(now)
  wait_leader 30 || die "$SYS: no leader before the catch-up"
  lead=$LEADER
  ep=$("${SYS}_ep" "$lead")
  f=$((lead % 3 + 1))
  emit catchup_leader_node "$lead"
  emit catchup_follower_node "$f"
  local sent0="" flines=0 llines=0
  if [ "$SYS" = cairn ]; then sent0=$(cairn_stat "$lead" snapshots_sent); fi
  if [ "$SYS" = etcd ]; then
    flines=$(($(wc -l <"$DATA/m$f.log") + 1))
    llines=$(($(wc -l <"$DATA/m$lead.log") + 1))
  fi
  say "kill -9 follower $f (leader is $lead)"
  { kill -9 "${NODE_PID[$f]}"; wait "${NODE_PID[$f]}" || true; } 2>/dev/null
  unset "NODE_PID[$f]"
  r=$(put down "$ep" "$DOWN_OPS")
  say "writes with follower $f down: ${r:-no result}"
  record_load down_put "$r" "$DOWN_OPS"
  target=$("${SYS}_applied" "$lead")
  [ -n "$target" ] || die "$SYS: cannot read the leader's applied state"
  emit catchup_target "$target"
  t0=$(now)
  "${SYS}_start" "$f"
  put_bg catchup "$ep" "$CATCHUP_OPS" "$DATA/catchup-load.txt"
  if wait_applied "$f" "$target" "$CATCHUP_CAP"; then
    t=$(since "$t0")
    emit catchup_s "$t"
    say "follower $f reached the leader's rev/index $target after $t s"
  else
    emit catchup_s NA
    say "follower $f did not reach $target within $CATCHUP_CAP s"
  fi
  wait "${BG[-1]}" || true
  unset 'BG[-1]'
  emit catchup_load_ended_s "$(since "$t0")"
  r=$(grep '^RESULT' "$DATA/catchup-load.txt" | sed 's/^RESULT [^ ]*/RESULT catchup/' || true)
  say "put c$CLIENTS while follower $f catches up: ${r:-no result}"
  record_load catchup_put "$r" "$CATCHUP_OPS"
  # Then, the load over, until the follower's applied state equals the leader's.
  local deadline=$(($(date +%s) + CATCHUP_CAP)) equal=NA
  while [ "$(date +%s)" -lt "$deadline" ]; do
    a=$("${SYS}_applied" "$f")
    target=$("${SYS}_applied" "$lead")
    if [ -n "$a" ] && [ "$a" = "$target" ]; then equal=$(since "$t0"); break; fi
    sleep "$POLL"
  done
  emit catchup_equal_s "$equal"
  if [ "$SYS" = cairn ]; then
    a=$(cairn_stat "$lead" snapshots_sent)
    emit catchup_snapshots_sent "$([ -n "$a" ] && [ -n "$sent0" ] && echo $((a - sent0)) || echo NA)"
    a=$(cairn_stat "$lead" snapshot_bytes_sent)
    emit catchup_snapshot_bytes_sent "${a:-NA}"
    a=$(cairn_stat "$f" snapshots_installed)
    emit catchup_snapshots_installed "${a:-NA}"
    a=$(cairn_stat "$f" snapshot_bytes_received)
    emit catchup_snapshot_bytes_received "${a:-NA}"
  else
    emit catchup_snapshots_sent "$(etcd_snap "$lead" "$llines" sent)"
    emit catchup_snapshot_bytes_sent "$(etcd_snap "$lead" "$llines" sent_bytes)"
    emit catchup_snapshots_installed "$(etcd_snap "$f" "$flines" installed)"
    emit catchup_snapshot_bytes_received "$(etcd_snap "$f" "$flines" received_bytes)"
  fi
  emit phase_catchup_s "$(since "$phase")"
  memory after_catchup

  # 4. full restart ------------------------------------------------------------------------------
  phase=$(now)
  local lines=()  # where each node's log stood before the restart
  for i in 1 2 3; do lines[$i]=$(($(wc -l <"$(logf "$i")") + 1)); done
  say "kill -9 all three, start all three"
  kill_nodes KILL
  t0=$(now)
  for i in 1 2 3; do "${SYS}_start" "$i"; done
  fails=0 tmo=0 unav=0 other=0
  local ok=0 ta deadline2=$(($(date +%s) + CATCHUP_CAP))
  while [ "$(date +%s)" -lt "$deadline2" ]; do
    ta=$(now)
    if err=$("${SYS}_probe"); then ok=1; break; fi
    fails=$((fails + 1))
    # the error itself (etcdctl prints its client's log lines before it)
    err=$( (grep -m1 -E '^(Error|cairn):' <<<"$err" || tail -1 <<<"$err") | cut -c1-160)
    case $err in
      *TIMEOUT* | *"deadline exceeded"* | *"timed out"*) tmo=$((tmo + 1)) ;;
      *UNAVAILABLE* | *Unavailable* | *"connection refused"* | *"no leader"*) unav=$((unav + 1)) ;;
      *) other=$((other + 1)) ;;
    esac
    err=$(sed 's/[0-9]\{3,\}/#/g' <<<"$err")  # the same error, whatever its numbers
    errs["$err"]=$((${errs["$err"]:-0} + 1))
    # an attempt that failed at once (nothing listening yet) waits a little before the next
    if awk -v a="$ta" -v b="$(now)" 'BEGIN { exit !(b - a < 0.1) }'; then sleep 0.1; fi
  done
  if [ "$ok" = 1 ]; then
    t=$(since "$t0")
    emit restart_first_write_s "$t"
    say "first write $t s after the restart, after $fails failed attempts"
  else
    emit restart_first_write_s NA
    say "no successful write within $CATCHUP_CAP s of the restart"
  fi
  emit restart_failed_attempts "$fails"
  emit restart_failed_timeout "$tmo"
  emit restart_failed_unavailable "$unav"
  emit restart_failed_other "$other"
  for err in "${!errs[@]}"; do echo "  ${errs[$err]} x $err"; done | tee -a "$OUT/$SYS.restart-errors.txt"
  # Then until the three nodes' applied states are equal (the cluster has settled), and the
  # snapshots sent since the restart: transfers completed, and transfers begun (from the logs; a
  # transfer still under way counts there only).
  local equal=NA a1 a2 a3
  deadline2=$(($(date +%s) + CATCHUP_CAP))
  while [ "$(date +%s)" -lt "$deadline2" ]; do
    a1=$("${SYS}_applied" 1) a2=$("${SYS}_applied" 2) a3=$("${SYS}_applied" 3)
    if [ -n "$a1" ] && [ "$a1" = "$a2" ] && [ "$a2" = "$a3" ]; then equal=$(since "$t0"); break; fi
    sleep "$POLL"
  done
  emit restart_all_equal_s "$equal"
  sleep 2
  local sum=0 begun=0 s
  for i in 1 2 3; do
    if [ "$SYS" = cairn ]; then
      s=$(cairn_stat "$i" snapshots_sent)
      begun=$((begun + $(tail -n +"${lines[i]}" "$(logf "$i")" | grep -c 'sending the snapshot' || true)))
    else
      s=$(etcd_snap "$i" "${lines[i]}" sent)
      begun=$((begun + $(etcd_snap "$i" "${lines[i]}" begun)))
    fi
    if [ -z "$s" ] || [ "$sum" = NA ]; then sum=NA; else sum=$((sum + s)); fi
  done
  emit restart_snapshots_sent "$sum"  # NA: a node did not answer
  emit restart_snapshots_begun "$begun"
  emit phase_restart_s "$(since "$phase")"

  # 5. memory at the end ---------------------------------------------------------------------------
  memory end
  for i in 1 2 3; do
    a=$("${SYS}_applied" "$i")
    emit "end_applied_n$i" "${a:-NA}"
  done
  emit loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
  kill_nodes TERM
  [ -n "${KEEP_DATA:-}" ] || { rm -rf "$DATA"; DATA=""; }
  report system "$SYS"
}

report() {  # report system SYS | report side: the readable tables, from $SCEN
  python3 - "$SCEN" "$@" <<'EOF'
import sys, re
path, mode = sys.argv[1], sys.argv[2]
m = {}
for line in open(path):
    p = line.split()
    if len(p) == 4 and p[0] == "SCENARIO":
        m.setdefault(p[1], {})[p[2]] = p[3]

def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None

def fmt(v, unit=""):
    x = num(v)
    if x is None:
        return v if v is not None else "-"
    if unit == "kb":
        return f"{x / 1024:,.0f} MiB"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == int(x):
        return f"{int(x)}"
    return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) < 10 else f"{x:.1f}"

if mode == "system":
    s = sys.argv[3]
    d = m.get(s, {})
    print(f"\n== {s} ({d.get('version', '?')}): leader node {d.get('leader_node', '?')}")
    batches = sorted(k[:-6] for k in d if re.fullmatch(r"load_b\d+_ops_s", k))
    rows = [("", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms")]
    for b in batches:
        rows.append((f"load batch {int(b[6:])}", *(fmt(d.get(f"{b}_{k}")) for k in
                     ("ops_s", "p50_ms", "p99_ms", "p999_ms", "max_ms"))))
    for pre, name in (("down_put", "put c64, a follower down"),
                      ("catchup_put", "put c64 while it catches up")):
        rows.append((name, *(fmt(d.get(f"{pre}_{k}")) for k in
                     ("ops_s", "p50_ms", "p99_ms", "p999_ms", "max_ms"))))
    w = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        print("  " + r[0].ljust(w[0]) + "".join("  " + c.rjust(w[i + 1]) for i, c in enumerate(r[1:])))
    print(f"  last batch / first: ops/s x{d.get('load_last_vs_first_ops', '-')}, "
          f"p99 x{d.get('load_last_vs_first_p99', '-')} (goal: ops/s within 15 %)")
    print("  memory             " + "".join(f"{'node ' + str(i):>22}" for i in (1, 2, 3)))
    for ph in ("after_load", "after_catchup", "end"):
        print(f"  {ph:<18} " + "".join(
            f"{fmt(d.get(f'rss_{ph}_n{i}_kb'), 'kb') + ' / ' + fmt(d.get(f'hwm_{ph}_n{i}_kb'), 'kb'):>22}"
            for i in (1, 2, 3)) + "   (RSS / peak)")
    print(f"  data on disk after the load: {fmt(d.get('disk_after_load_kb'), 'kb')}")
    print(f"  catch-up: follower {d.get('catchup_follower_node')} (leader {d.get('catchup_leader_node')}) "
          f"reached the leader's state {d.get('catchup_target')} in {d.get('catchup_s')} s; "
          f"equal to the leader {d.get('catchup_equal_s')} s after its restart "
          f"(the load ended at {d.get('catchup_load_ended_s')} s)")
    print(f"    snapshots sent by the leader: {d.get('catchup_snapshots_sent')}, installed by the follower: "
          f"{d.get('catchup_snapshots_installed')}, bytes sent "
          f"{fmt(d.get('catchup_snapshot_bytes_sent'))}, received "
          f"{fmt(d.get('catchup_snapshot_bytes_received'))}")
    print(f"  full restart: first write after {d.get('restart_first_write_s')} s, "
          f"{d.get('restart_failed_attempts')} failed attempts before it (timeout "
          f"{d.get('restart_failed_timeout')}, unavailable {d.get('restart_failed_unavailable')}, "
          f"other {d.get('restart_failed_other')});\n    all three nodes' states equal "
          f"{d.get('restart_all_equal_s')} s after the restart; snapshots since the restart: "
          f"{d.get('restart_snapshots_sent')} sent, {d.get('restart_snapshots_begun')} begun")
    print(f"  phases: load {d.get('phase_load_s')} s, catch-up {d.get('phase_catchup_s')} s, "
          f"restart {d.get('phase_restart_s')} s")
else:
    systems = [s for s in ("cairn", "etcd") if s in m] + [s for s in m if s not in ("cairn", "etcd")]
    keys = []
    for s in systems:
        for k in m[s]:
            if k not in keys and not re.search(r"_n\d_", k) and not re.fullmatch(r"end_applied_n\d", k) \
                    and not re.fullmatch(r"load_b\d+_(n|p50_ms|p999_ms|max_ms|errors|missing)", k):
                keys.append(k)
    hdr = ["metric"] + systems + (["cairn/etcd"] if "cairn" in m and "etcd" in m else [])
    rows = [hdr]
    for k in keys:
        r = [k] + [fmt(m[s].get(k)) if not k.endswith("_kb") else fmt(m[s].get(k), "kb")
                   for s in systems]
        if len(hdr) > len(systems) + 1:
            a, b = num(m["cairn"].get(k)), num(m["etcd"].get(k))
            r.append(f"{a / b:.2f}" if a is not None and b not in (None, 0)
                     and k not in ("leader_node", "catchup_leader_node", "catchup_follower_node",
                                   "catchup_target") else "")
        rows.append(r)
    w = [max(len(r[i]) for r in rows) for i in range(len(hdr))]
    print("\n== side by side (ratio = cairn / etcd; ops/s: higher is better, the rest: lower)")
    for r in rows:
        print("  " + r[0].ljust(w[0]) + "".join("  " + c.rjust(w[i]) for i, c in enumerate(r) if i))
EOF
}

# Everything also goes to $OUT/catchup.log; tee ignores Ctrl-C so that it sees the cleanup through.
exec > >(trap '' INT TERM; exec tee -a "$OUT/catchup.log") 2>&1
{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cpus, $(free -g | awk '/^Mem/ { print $2 }') GiB, kernel $(uname -r)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the numbers)"
  echo "N=$N VALUE=$VALUE BATCH=$BATCH CLIENTS=$CLIENTS DOWN_OPS=$DOWN_OPS CATCHUP_OPS=$CATCHUP_OPS"
  echo "systems: $SYSTEMS; out: $OUT"
} | tee "$OUT/env.txt"
for s in $SYSTEMS; do
  start=$(now)
  run_system "$s"
  emit total_s "$(since "$start")"
done
report side | tee "$OUT/side-by-side.txt"
echo "results in $OUT (scenario.txt: the SCENARIO lines)"
