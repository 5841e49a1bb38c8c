#!/usr/bin/env bash
# Debian's strace for the trace tests that record real runs (test/replay-real.test.ts,
# test/learn-cli.test.ts, test/traces-audit.test.ts record with `strace -f -X raw`).
# Never fails CI by itself: without strace those tests skip and say why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
apt_tool 10-strace strace "strace -V" "recorded-trace tests will skip" strace
exit 0
