#!/usr/bin/env bash
# Debian's Firefox ESR for the playground's browser tests (test/playground.test.ts drives it with
# puppeteer-core over WebDriver BiDi through its executablePath, as it drives Chromium: the npm
# packages' own browser downloads cannot work here, only the npm and Debian registries are
# reachable). Firefox wants a writable HOME and a profile of its own; the test gives it both.
# Never fails CI by itself: without Firefox those tests skip and say why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
apt_tool 41-firefox firefox-esr "firefox-esr --version" "Firefox browser tests will skip" firefox-esr fonts-dejavu-core
exit 0
