# Sourced by the benchmark scripts (join.sh, locks.sh): a fresh 3-node Cairn cluster on
# 127.0.0.1, fsync on, default flags, in a temporary directory, stopped by PID on exit or Ctrl-C.
# Before sourcing: NAME (the script's name, for messages) and BIN (the build directory). Gives:
#   die MSG, say MSG          an error (exit 1) / a timestamped progress line
#   start_cluster [FLAGS...]  starts the nodes ($BIN's cairnd, each with FLAGS, "{i}" in a flag
#                             replaced by the node's number) and waits until a write succeeds;
#                             sets ALL (the client endpoints), NODES (their PIDs), DATA. With
#                             CURVE=1: every node gets a key pair and --clients listing one client
#                             key (admin /), exported as CAIRN_KEY; ALL names the nodes' keys
#   stop_cluster              stops the nodes and removes their data (start_cluster may follow)
#   ep I                      node I's client endpoint (a 4th node may use 4)
#   cairn ARGS...             the CLI with a 2 s timeout
#   PIDS+=(PID)               anything else to stop on exit; cleanup_extra, if defined, runs too
#   field NAME < RESULT lines the values of NAME=, one a line; median < numbers: their median
#   etcd_wanted               true if ETCD=1 and etcd and go are installed (else says why not)
#   etcd_start                builds tools/bench/etcdbench (Go, GOPATH mode) as $DATA/etcdbench
#                             and starts a 3-member etcd (../shared/bench/etcd-cluster.sh);
#                             etcd_stop stops it (also on exit). With ETCD_TLS=1: the same
#                             members and ports with TLS on every client and peer URL
#                             (certificates from a CA made here with openssl, client
#                             certificates required); ETCD_TLS_FLAGS has etcdbench's flags
die() { echo "$NAME: $*" >&2; exit 1; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
say() { echo "[$(date +%T)] $*"; }
[ -x "$BIN/node/cairnd" ] && [ -x "$BIN/tools/cairn" ] && [ -x "$BIN/tools/cairn-bench" ] ||
  die "build first: cmake --build build -j2 --target cairnd cairn cairn-bench"
command -v jq >/dev/null || die "jq missing (apt-get install jq)"

PIDS=()
NODES=()
DATA=$(mktemp -d "/tmp/cairn-$NAME-data-XXXXXX")
cleanup() {
  local p
  trap - EXIT
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  etcd_stop || true
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; cleanup; exit 130' INT TERM

# (with CURVE=1 and the node's key made: tcp://KEY@127.0.0.1:18I01)
ep() {
  if [ -f "$DATA/n$1.pub" ]; then
    echo "tcp://$(cat "$DATA/n$1.pub")@127.0.0.1:18${1}01"
  else
    echo "tcp://127.0.0.1:18${1}01"
  fi
}
ALL="$(ep 1),$(ep 2),$(ep 3)"
cairn() { "$BIN/tools/cairn" --timeout 2000 "$@"; }

start_cluster() {
  local i deadline
  local cluster="1=tcp://127.0.0.1:18100,2=tcp://127.0.0.1:18200,3=tcp://127.0.0.1:18300"
  "$BIN/tools/cairn" --timeout 500 --addr "$ALL" rev >/dev/null 2>&1 &&
    die "something already answers at $ALL (a cluster left running?)"
  local flags f secure=()
  rm -f "$DATA"/n*.pub "$DATA"/n*.key "$DATA"/client.* "$DATA"/clients.acl
  unset CAIRN_KEY
  if [ "${CURVE:-0}" = 1 ]; then
    for i in 1 2 3; do "$BIN/tools/cairn" keygen >"$DATA/n$i.key" 2>"$DATA/n$i.pub"; done
    "$BIN/tools/cairn" keygen >"$DATA/client.key" 2>"$DATA/client.pub"
    echo "$(cat "$DATA/client.pub") bench admin /" >"$DATA/clients.acl"
    export CAIRN_KEY=$DATA/client.key
    cluster=""
    for i in 1 2 3; do
      cluster+="${cluster:+,}$i=tcp://$(cat "$DATA/n$i.pub")@127.0.0.1:18${i}00"
    done
    secure=(--key "$DATA/n{i}.key" --clients "$DATA/clients.acl")
  fi
  ALL="$(ep 1),$(ep 2),$(ep 3)"
  for i in 1 2 3; do
    flags=()
    for f in "$@" "${secure[@]}"; do flags+=("${f//\{i\}/$i}"); done
    "$BIN/node/cairnd" --data "$DATA/n$i" --id "$i" --cluster "$cluster" \
      --client "tcp://127.0.0.1:18${i}01" \
      --events "tcp://127.0.0.1:18${i}02" "${flags[@]}" 2>>"$DATA/n$i.log" &
    PIDS+=($!)
    NODES+=($!)
  done
  deadline=$(( $(date +%s) + 30 ))
  until cairn --addr "$ALL" set "/$NAME/ready" yes >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "the cluster did not elect a leader in 30 s"
    sleep 0.2
  done
}

stop_cluster() {
  local p keep=()
  for p in "${NODES[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODES[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    [[ " ${NODES[*]} " == *" $p "* ]] || keep+=("$p")
  done
  PIDS=("${keep[@]}")
  NODES=()
  rm -rf "$DATA"/n1 "$DATA"/n2 "$DATA"/n3 "$DATA"/n*.log
}

ETCD_UP=0
SHARED=${SHARED:-$ROOT/../shared/bench}
etcd_wanted() {
  if [ "${ETCD:-1}" = 1 ] && command -v etcd >/dev/null && command -v go >/dev/null; then
    return 0
  fi
  say "etcd: skipped (ETCD=${ETCD:-1}; needs etcd and go: ../shared/bench/setup.sh)"
  return 1
}
etcd_start() {
  local tool=etcdbench
  if [ ! -x "$DATA/$tool" ]; then
    say "etcd: building tools/bench/$tool"
    mkdir -p "$DATA/gopath/src"
    ln -sfn "$ROOT/tools/bench/$tool" "$DATA/gopath/src/$tool"
    (cd "$DATA/gopath/src/$tool" &&
      GOPATH=$DATA/gopath:/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE=${GOCACHE:-/tmp/gocache} \
        go build -o "$DATA/$tool" .)
  fi
  if [ "${ETCD_TLS:-0}" = 1 ]; then
    etcd_start_tls
  else
    ETCD_DIR=$DATA/etcd bash "$SHARED/etcd-cluster.sh" start
  fi
  ETCD_UP=1
}
ETCD_TLS_PIDS=()
etcd_stop() {
  local p
  if [ "$ETCD_UP" = 1 ] && [ ${#ETCD_TLS_PIDS[@]} -eq 0 ]; then
    ETCD_DIR=$DATA/etcd bash "$SHARED/etcd-cluster.sh" stop
  fi
  for p in ${ETCD_TLS_PIDS[@]+"${ETCD_TLS_PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${ETCD_TLS_PIDS[@]+"${ETCD_TLS_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  ETCD_TLS_PIDS=()
  rm -rf "$DATA/etcd"
  ETCD_UP=0
}
etcd_start_tls() {
  local t=$DATA/tls i peers="" eps=""
  mkdir -p "$t" "$DATA/etcd"
  if [ ! -f "$t/client.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj /CN=bench-ca -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$t/ext"
    for i in server client; do
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bench-$i" \
        -keyout "$t/$i.key" -out "$t/$i.csr" 2>/dev/null
      openssl x509 -req -in "$t/$i.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
        -days 2 -extfile "$t/ext" -out "$t/$i.pem" 2>/dev/null
    done
  fi
  ETCD_TLS_FLAGS=(--cacert "$t/ca.pem" --cert "$t/client.pem" --key "$t/client.key")
  for i in 1 2 3; do peers+="${peers:+,}m$i=https://127.0.0.1:22$((i + 2))80"; done
  for i in 1 2 3; do
    etcd --name "m$i" --data-dir "$DATA/etcd/m$i.data" \
      --listen-client-urls "https://127.0.0.1:22$((i + 2))79" \
      --advertise-client-urls "https://127.0.0.1:22$((i + 2))79" \
      --listen-peer-urls "https://127.0.0.1:22$((i + 2))80" \
      --initial-advertise-peer-urls "https://127.0.0.1:22$((i + 2))80" \
      --initial-cluster "$peers" --initial-cluster-token bench-tls \
      --initial-cluster-state new --logger zap --log-outputs stderr \
      --cert-file "$t/server.pem" --key-file "$t/server.key" --client-cert-auth \
      --trusted-ca-file "$t/ca.pem" --peer-cert-file "$t/server.pem" \
      --peer-key-file "$t/server.key" --peer-client-cert-auth --peer-trusted-ca-file "$t/ca.pem" \
      2>"$DATA/etcd/m$i.log" &
    ETCD_TLS_PIDS+=($!)
    eps+="${eps:+,}https://127.0.0.1:22$((i + 2))79"
  done
  for _ in $(seq 1 100); do
    if ETCDCTL_API=3 etcdctl --endpoints="$eps" --cacert "$t/ca.pem" --cert "$t/client.pem" \
      --key "$t/client.key" endpoint health >/dev/null 2>&1; then
      say "etcd (TLS) up: $eps"
      return 0
    fi
    sleep 0.2
  done
  die "etcd with TLS did not become healthy; see $DATA/etcd/m*.log"
}
