#!/usr/bin/env bash
# The long fault-injection run: a 5-node cluster under every fault kind for MINUTES (default 30),
# 10 clients on colliding keys and 2 watchers, checked at the end for linearizability, lost or
# phantom writes and the watch guarantee. Build first (bash tools/dev.sh test).
#   bash tools/soak.sh [MINUTES] [SEED] [extra cairn_fault flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
SEED=${2:-$(date +%s)}
shift $(( $# > 2 ? 2 : $# ))
[ -x build/tests/cairn_fault ] || { echo "build first: bash tools/dev.sh test" >&2; exit 1; }
echo "soak: $MINUTES min, seed $SEED"
exec build/tests/cairn_fault --nodes 5 --seed "$SEED" --duration "$((MINUTES * 60))" "$@"
