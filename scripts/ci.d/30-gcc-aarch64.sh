#!/usr/bin/env bash
# Debian's aarch64 cross compiler for the launcher's aarch64 build check (test/package.test.ts
# cross-compiles launcher/ statically with aarch64-linux-gnu-gcc and checks the ELF machine).
# libc6-dev-arm64-cross brings the static C library the launcher links against.
# Never fails CI by itself: without the cross compiler that test skips and says why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
apt_tool 30-gcc-aarch64 aarch64-linux-gnu-gcc "aarch64-linux-gnu-gcc --version" \
  "the aarch64 launcher build check will skip" gcc-aarch64-linux-gnu libc6-dev-arm64-cross
exit 0
