#!/usr/bin/env bash
# System packages and downloads for the cross-arch kernel tests (test/kernel-cross.test.ts):
#   - qemu-system-arm (aarch64 guests) and qemu-system-misc (s390x guests), with apt-get;
#   - the cross compilers gcc-aarch64-linux-gnu and gcc-s390x-linux-gnu with their libc6-dev
#     cross packages (the oracle and the launcher are linked statically for the guest), and
#     gcc-arm-linux-gnueabihf for the 32-bit arm program of the aarch64 guest's compat ABI
#     (built without a C library, so no libc6-dev cross package);
#   - the guests' kernels through multiarch (dpkg --add-architecture arm64 / s390x, then
#     `apt-get download` of the newest linux-image-6.1.0-*-cloud-arm64 / -s390x and
#     `dpkg-deb -x`) into the git-ignored .cache/qemu-cross/ (vmlinuz-aarch64, vmlinuz-s390x).
# Only the kernel image is taken from each package: the tests boot a static init from an
# initramfs, without modules. Nothing fetched is committed.
# Never fails CI by itself: when something cannot be had the tests skip and say why.
set -uo pipefail
. "$(dirname "$0")/apt-tool.bash"
cd "$(dirname "$0")/../.."
cache=.cache/qemu-cross
mkdir -p "$cache"

ci_script 30-qemu-cross "the aarch64/s390x kernel tests will skip" || exit 0
t0=$(date +%s)

# Multiarch, so that apt knows the arm64 and s390x kernel packages (only downloaded, never
# installed: dpkg-deb -x unpacks them into the cache).
added=0
for a in arm64 s390x; do
  dpkg --print-foreign-architectures | grep -qx "$a" || { dpkg --add-architecture "$a" && added=1; }
done
[ $added = 1 ] && update

need=()
command -v qemu-system-aarch64 >/dev/null 2>&1 || need+=(qemu-system-arm)
command -v qemu-system-s390x >/dev/null 2>&1 || need+=(qemu-system-misc)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v s390x-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-s390x-linux-gnu libc6-dev-s390x-cross)
command -v arm-linux-gnueabihf-gcc >/dev/null 2>&1 || need+=(gcc-arm-linux-gnueabihf)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  update
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || say "apt-get install ${need[*]} failed"
fi

ci_kernel "$cache" vmlinuz-aarch64 arm64 cloud-arm64
ci_kernel "$cache" vmlinuz-s390x s390x s390x
say "done in $(( $(date +%s) - t0 )) s"
exit 0
