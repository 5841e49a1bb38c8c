#!/usr/bin/env bash
# Debian's strace for the trace tests that record real runs (test/replay-real.test.ts,
# test/learn-cli.test.ts, test/traces-audit.test.ts record with `strace -f -X raw`).
# Never fails CI by itself: without strace those tests skip and say why.
set -uo pipefail

say() { echo "ci.d/10-strace: $*"; }

if command -v strace >/dev/null 2>&1; then
  say "strace present: $(strace -V 2>/dev/null | head -1)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "strace missing and cannot install it (not root or no apt-get): recorded-trace tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends strace >/dev/null; then
  say "installed $(strace -V 2>/dev/null | head -1)"
else
  say "apt-get install strace failed: recorded-trace tests will skip"
fi
exit 0
