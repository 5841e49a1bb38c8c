#!/usr/bin/env bash
# Debian's aarch64 cross compiler for the launcher's aarch64 build check (test/package.test.ts
# cross-compiles launcher/ statically with aarch64-linux-gnu-gcc and checks the ELF machine).
# Never fails CI by itself: without the cross compiler that test skips and says why.
set -uo pipefail

say() { echo "ci.d/30-gcc-aarch64: $*"; }

if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
  say "present: $(aarch64-linux-gnu-gcc --version | head -1)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "aarch64-linux-gnu-gcc missing and cannot install it (not root or no apt-get): the aarch64 build check will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# libc6-dev-arm64-cross brings the static libc the launcher links against.
if apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null; then
  say "installed $(aarch64-linux-gnu-gcc --version | head -1)"
else
  say "apt-get install gcc-aarch64-linux-gnu failed: the aarch64 build check will skip"
fi
exit 0
