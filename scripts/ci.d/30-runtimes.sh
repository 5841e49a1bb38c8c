#!/usr/bin/env bash
# Debian's runc, crun and busybox-static for the live-filter tests that read back the filters of
# real containers (test/live-runtimes.test.ts). Never fails CI by itself: without them those
# tests skip and say why.
set -uo pipefail

say() { echo "ci.d/30-runtimes: $*"; }

missing=()
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v crun >/dev/null 2>&1 || missing+=(crun)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -eq 0 ]; then
  say "present: $(runc --version | head -1); $(crun --version | head -1); busybox $(/bin/busybox | head -1 | cut -d' ' -f2)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing ${missing[*]} and cannot install (not root or no apt-get): container tests will skip"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  say "installed ${missing[*]}"
else
  say "apt-get install ${missing[*]} failed: container tests will skip"
fi
exit 0
