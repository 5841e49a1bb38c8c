#!/usr/bin/env bash
# Debian's python3-seccomp (libseccomp 2.5.4's own Python binding): test/libseccomp-semantics.test.ts
# builds libseccomp's filter for a profile with it and checks sysfence's compile against it, and
# the compile bench uses it as the peer compiler. Not a command on PATH, so apt-tool.bash's
# check does not fit: the test is `import seccomp` under /usr/bin/python3.
# Never fails CI by itself: without it those tests skip and say why.
set -uo pipefail
name=30-python-seccomp
skips="the libseccomp-semantics tests will skip"
have() { /usr/bin/python3 -c "import seccomp" >/dev/null 2>&1; }
version() { dpkg-query -W -f='${Version}' python3-seccomp 2>/dev/null; }
if have; then
  echo "ci.d/$name: present: python3-seccomp $(version)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci.d/$name: python3-seccomp missing and cannot install it (not root or no apt-get): $skips"
  exit 0
fi
if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-seccomp >/dev/null && have; then
  echo "ci.d/$name: installed python3-seccomp $(version)"
else
  echo "ci.d/$name: apt-get install python3-seccomp failed: $skips"
fi
exit 0
