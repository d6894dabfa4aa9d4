#!/usr/bin/env bash
# ctest's entry to the browser test: checks what it needs, then runs it with node --test.
#   run.sh CAIRND CAIRN ARTIFACTS
set -euo pipefail
cd "$(dirname "$0")"
for need in node /usr/bin/chromium; do
  command -v "$need" >/dev/null || { echo "browser test: $need is missing (bash tools/dev.sh test installs it)" >&2; exit 1; }
done
[ -d node_modules/playwright-core ] || { echo "browser test: playwright-core is missing: npm ci --prefix tests/browser" >&2; exit 1; }
mkdir -p "$3"
echo "browser test: screenshots and node logs go to $3"
CAIRND="$1" CAIRN="$2" CAIRN_ARTIFACTS="$3" exec node --test viewer.test.mjs
