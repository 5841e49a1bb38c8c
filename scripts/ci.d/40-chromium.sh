#!/usr/bin/env bash
# Debian's Chromium for the playground's browser tests (test/playground.test.ts drives it with
# playwright-core through its executablePath: the npm packages' own browser downloads cannot
# work here, only the npm and Debian registries are reachable).
# Never fails CI by itself: without Chromium those tests skip and say why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
apt_tool 40-chromium chromium "chromium --version" "browser tests will skip" chromium fonts-dejavu-core
exit 0
