#!/usr/bin/env bash
# Cairn's one entry point for people and CI: install what is missing, build, then
#   run     start a local 3-node cluster (Ctrl-C stops it)
#   test    run every test (unit + integration) with ctest
#   asan    the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz    build the libFuzzer targets with clang and run each for FUZZ_SECONDS (default 60)
#   static  build cairnd and cairn as static executables (build-static/) and smoke-test them
#   format  check clang-format on every C++ file (exit 1 if any file needs formatting)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}

PACKAGES=(build-essential cmake libzmq3-dev cppzmq-dev libmsgpack-cxx-dev catch2 libcli11-dev
          nlohmann-json3-dev libboost-dev python3-zmq python3-msgpack clang-14 clang-format curl
          libclang-rt-14-dev)
# What the tests use besides: Prometheus (promtool checks /metrics, a server scrapes a cluster) and
# Chromium (the viewer's browser test, driven by playwright-core from the npm registry).
TEST_PACKAGES=(prometheus chromium)

install_deps() {  # install_deps [extra packages...]
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

# The test tools: Debian's packages above, Node.js and npm (Debian's, unless a node is on PATH
# already), and playwright-core for tests/browser (npm ci: the version package-lock.json pins).
install_test_deps() {
  local node=()
  command -v node >/dev/null && command -v npm >/dev/null || node=(nodejs npm)
  install_deps "${TEST_PACKAGES[@]}" "${node[@]}"
  local stamp=tests/browser/node_modules/.cairn-installed-lock
  if ! cmp -s tests/browser/package-lock.json "$stamp"; then
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
    cp tests/browser/package-lock.json "$stamp"
  fi
}

# A unity build (CMake compiles the files of a target in batches): a fresh build takes about 40%
# less time here (344 s against 561 s for build/), CI's largest cost. Developers who rebuild one
# file at a time may configure their own build directory without it.
build() {  # build DIR [cmake args...]; TARGET= builds one target only
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS" ${TARGET:+--target "$TARGET"}
}

run_tests() {  # run_tests DIR [ctest args...]
  local dir=$1
  shift
  (cd "$dir" && ctest -j "$JOBS" --output-on-failure --timeout 300 "$@")
}

# Left out under the sanitizers, for CI's time (about 60 s): the four longest integration tests,
# each a long burst through code the sanitized fault schedules also run (kills during writes, a
# big snapshot's install, lock holders on leases). The plain pass runs them all.
ASAN_SKIP='^integration:(lock: 20 contenders|durability: kill -9 in the middle|cluster: kill -9 of every node|catch-up: a follower installs a snapshot larger)'


cmd=${1:-}
case "$cmd" in
  run)
    install_deps
    build build
    mkdir -p build/data
    # Three nodes on loopback: node i serves clients on 7i01, its feed on 7i02, peers on 7i00, the
    # web viewer (and /metrics, /healthz) on 7i80.
    # Each node's output goes to build/data/ni.log; this shell reports a node that exits, keeps the
    # others running, and ends on Ctrl-C (stopping them) or when none is left.
    CLUSTER="1=tcp://127.0.0.1:7100,2=tcp://127.0.0.1:7200,3=tcp://127.0.0.1:7300"
    declare -A node_of=()  # pid -> node number, for the nodes still running
    for i in 1 2 3; do
      echo "== $(date '+%F %T') starting node $i" >>"build/data/n$i.log"
      build/node/cairnd --data "build/data/n$i" --id "$i" --cluster "$CLUSTER" \
        --client "tcp://127.0.0.1:7${i}01" --events "tcp://127.0.0.1:7${i}02" \
        --http "127.0.0.1:7${i}80" "${@:2}" >>"build/data/n$i.log" 2>&1 &
      node_of[$!]=$i
    done
    trap 'kill "${!node_of[@]}" 2>/dev/null; wait; echo "== cluster stopped"; exit 0' INT TERM
    echo "== a 3-node cluster is starting (data in build/data/n1..n3, logs in build/data/n1.log..n3.log)"
    echo "   cairnd is $ROOT/build/node/cairnd (cairnd --help); in another shell try:"
    echo "     export PATH=$ROOT/build/tools:$ROOT/build/node:\$PATH"
    echo "     export CAIRN_ADDR=tcp://127.0.0.1:7101,tcp://127.0.0.1:7201,tcp://127.0.0.1:7301"
    echo "     cairn status"
    echo "     cairn set /config/db/url postgres://db1 && cairn get /config/db/url"
    echo "     cairn watch '/config/**'"
    echo "   the web viewer: http://127.0.0.1:7180/ (node 1; 7280, 7380 for the others),"
    echo "   metrics: http://127.0.0.1:7180/metrics, health: http://127.0.0.1:7180/healthz"
    echo "   Ctrl-C stops the cluster."
    while [ ${#node_of[@]} -gt 0 ]; do
      pid="" st=0
      # (bash's own "Killed" notice is silenced: the line below says it with the node's number)
      { wait -n -p pid "${!node_of[@]}"; } 2>/dev/null || st=$?
      [ -n "$pid" ] || continue  # interrupted without an exit (the trap handles Ctrl-C)
      i=${node_of[$pid]}
      unset "node_of[$pid]"
      how="exited with status $st"
      [ "$st" -gt 128 ] && how="was killed by SIG$(kill -l $((st - 128)))"
      left="the others keep running"
      [ ${#node_of[@]} -eq 0 ] && left="no node is left"
      echo "== node $i (pid $pid) $how; $left; its log: build/data/n$i.log, which ends:" >&2
      tail -n 5 "build/data/n$i.log" | sed 's/^/     /' >&2
    done
    echo "== every node has exited; the logs are in build/data/n1.log..n3.log" >&2
    exit 1
    ;;
  test)
    install_deps
    install_test_deps
    build build
    run_tests build
    ;;
  asan)
    install_deps
    install_test_deps
    build build-asan -DCAIRN_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_tests build-asan -E "$ASAN_SKIP"
    ;;
  fuzz)
    install_deps
    # Every libFuzzer target (tests/fuzz: one per decoder of untrusted bytes), one after another,
    # each for FUZZ_SECONDS on its own copy of its seed corpus (build-fuzz/corpus/<target>). The
    # first crash, leak, timeout, out-of-memory or undefined behaviour ends the step with exit 1
    # and the path of the input that caused it (replay: build-fuzz/tests/fuzz_<target> FILE).
    CXX=clang++-14 TARGET=fuzzers build build-fuzz -DCAIRN_FUZZ=ON -DCAIRN_TESTS=ON
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    export ASAN_OPTIONS=detect_leaks=1
    for bin in build-fuzz/tests/fuzz_*; do
      t=${bin##*/fuzz_}
      [ "$t" = corpus ] && continue  # the seed corpus writer, not a target
      max_len=4096
      case "$t" in wal | snapshot) max_len=16384 ;; esac
      mkdir -p "build-fuzz/corpus/$t"
      cp -n "tests/fuzz/corpus/$t"/* "build-fuzz/corpus/$t/" 2>/dev/null || true
      art="build-fuzz/crashes/$t"
      rm -rf "$art"
      mkdir -p "$art"
      log="build-fuzz/fuzz-$t.log"
      st=0
      "$bin" -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=1024 -max_len="$max_len" \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$art/" \
        "build-fuzz/corpus/$t" >"$log" 2>&1 || st=$?
      found=$(find "$art" -type f | sort)
      if [ "$st" -ne 0 ] || [ -n "$found" ]; then
        tail -n 60 "$log" >&2
        echo "== fuzz_$t FAILED (exit $st); its log: $log; the input(s):" >&2
        echo "${found:-(none written)}" | sed 's/^/     /' >&2
        exit 1
      fi
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
      echo "== fuzz_$t: $runs runs, $(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')," \
        "$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'exec/s: [0-9]+'), no crash"
    done
    ;;
  static)
    install_deps
    # (glibc warns, for each of its name-service calls, that a static binary needs the same
    # glibc's NSS modules at run time to resolve host and user names: endpoints by IP need none)
    log=$(mktemp)
    if ! build build-static -DCAIRN_STATIC=ON -DCAIRN_TESTS=OFF >"$log" 2>&1; then
      grep -v "statically linked applications requires" "$log" >&2
      exit 1
    fi
    rm -f "$log"
    bash tools/static-smoke.sh build-static
    ;;
  format)
    files=$(git ls-files '*.cc' '*.h')
    bad=$(for f in $files; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
    if [ -n "$bad" ]; then
      echo "not clang-formatted (run: clang-format -i FILE):"
      echo "$bad"
      exit 1
    fi
    echo "clang-format: all $(echo "$files" | wc -w) files clean"
    ;;
  *)
    echo "usage: tools/dev.sh run|test|asan|fuzz|static|format" >&2
    exit 127
    ;;
esac
