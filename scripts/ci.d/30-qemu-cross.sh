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

# fetch_kernel DEBARCH FLAVOUR OUT: the newest linux-image-6.1.0-N-FLAVOUR:DEBARCH, its
# /boot/vmlinuz-* copied to $cache/OUT.
fetch_kernel() {
  local arch=$1 flavour=$2 out=$3 pkg tmp
  [ -s "$cache/$out" ] && return 0
  update
  pkg=$(apt-cache search --names-only "^linux-image-6\\.1\\.0-[0-9]+-$flavour\$" | awk '{print $1}' | sort -V | tail -1)
  if [ -z "$pkg" ]; then
    say "no linux-image-6.1.0-*-$flavour package for $arch on this mirror"
    return 0
  fi
  tmp=$(mktemp -d); chmod 755 "$tmp"
  if (cd "$tmp" && apt-get download -qq "$pkg:$arch" >/dev/null) && dpkg-deb -x "$tmp"/*.deb "$tmp/x"; then
    cp "$tmp"/x/boot/vmlinuz-* "$cache/$out.tmp" && mv "$cache/$out.tmp" "$cache/$out"
    echo "$pkg:$arch" > "$cache/$out.package"
    say "$out from $pkg:$arch"
  else
    say "could not download or extract $pkg:$arch"
  fi
  rm -rf "$tmp"
}
fetch_kernel arm64 cloud-arm64 vmlinuz-aarch64
fetch_kernel s390x s390x vmlinuz-s390x
say "done in $(( $(date +%s) - t0 )) s"
exit 0
