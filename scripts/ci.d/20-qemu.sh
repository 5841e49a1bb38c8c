#!/usr/bin/env bash
# System packages and downloads for the launcher's end-to-end test (test/launch-qemu.test.ts)
# and its benchmark (bench/launch.mjs):
#   - qemu-system-x86 (the VMM) and bubblewrap (the bench's comparison), installed with apt-get;
#   - a Debian cloud kernel (linux-image-6.1.0-*-cloud-amd64) and busybox-static, fetched with
#     `apt-get download` and extracted into the git-ignored .cache/qemu/ (kernel: vmlinuz,
#     busybox: busybox). The test builds its initramfs from them.
# Never fails CI by itself: when something cannot be installed the test skips and says why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
cd "$(dirname "$0")/../.."
cache=.cache/qemu
mkdir -p "$cache"

ci_script 20-qemu "QEMU end-to-end test and bwrap bench will skip" || exit 0

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if [ ${#need[@]} -gt 0 ]; then
  update
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || say "apt-get install ${need[*]} failed"
fi

# The guest kernel (the newest 6.1 cloud flavour) and busybox for the initramfs.
ci_kernel "$cache" vmlinuz amd64 cloud-amd64
ci_deb_file "$cache" busybox busybox-static "bin/busybox"
exit 0
