#!/usr/bin/env bash
# Debian's Chromium for the playground's browser tests (test/playground.test.ts drives it with
# playwright-core through its executablePath: the npm packages' own browser downloads cannot
# work here, only the npm and Debian registries are reachable).
# Never fails CI by itself: without Chromium those tests skip and say why.
set -uo pipefail

say() { echo "ci.d/40-chromium: $*"; }

if command -v chromium >/dev/null 2>&1; then
  say "chromium present: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "chromium missing and cannot install it (not root or no apt-get): browser tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
  say "installed $(chromium --version 2>/dev/null | head -1) in $(( $(date +%s) - start )) s"
else
  say "apt-get install chromium failed: browser tests will skip"
fi
exit 0
