#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, install the tarball into an empty project in a
# temporary folder, and run `npx sysfence demo` and `npx sysfence launch ... -- /bin/true` there.
# Run by .ci/run after `npm test`; fails CI when the installed package does not work. Prints the
# tarball size and the install time (the numbers the README quotes).
#
# Needs the registry for sysfence's runtime dependencies (CI reaches the npm registry).
# Usage: scripts/pack-check.sh            (from a checkout where `npm install` has built dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "pack-check: $*"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/sysfence-pack-XXXXXX")"
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tgz="$(ls "$work"/sysfence-*.tgz)"
say "tarball $(basename "$tgz"): $(stat -c %s "$tgz") bytes, $(tar tzf "$tgz" | wc -l) files"
if tar tzf "$tgz" | grep -q '^package/launcher/build/'; then
  say "FAIL: the tarball ships a launcher binary (it must be built on the installing machine)"
  exit 1
fi

mkdir "$work/proj"
cd "$work/proj"
echo '{ "name": "sysfence-pack-check", "version": "1.0.0", "private": true }' > package.json
start=$(date +%s%N)
npm install --no-audit --no-fund "$tgz"
end=$(date +%s%N)
say "npm install of the tarball: $(( (end - start) / 1000000 )) ms"

npx sysfence demo > demo.out
say "npx sysfence demo: ok ($(wc -l < demo.out) lines)"

if [ -x node_modules/sysfence/launcher/build/sysfence-launcher ]; then
  npx sysfence launch --policy node_modules/sysfence/filters/qemu-microvm.seccompiler.json --thread qemu -- /bin/true
  say "npx sysfence launch --policy .../qemu-microvm.seccompiler.json --thread qemu -- /bin/true: ok"
else
  # The install script says why (no C compiler); launch must then say so in one line, exit 4.
  set +e
  npx sysfence launch -- /bin/true 2> launch.err
  rc=$?
  set -e
  say "no launcher was built; launch exits $rc: $(cat launch.err)"
  [ "$rc" = 4 ] || { say "FAIL: expected exit 4"; exit 1; }
fi
