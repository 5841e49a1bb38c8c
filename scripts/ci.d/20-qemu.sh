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

# The guest kernel: the newest 6.1 cloud flavour the mirror has (apt-cache knows its name).
if [ ! -s "$cache/vmlinuz" ]; then
  update
  pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | awk '{print $1}' | sort -V | tail -1)
  if [ -z "$pkg" ]; then
    say "no linux-image-6.1.0-*-cloud-amd64 package on this mirror"
  else
    tmp=$(mktemp -d); chmod 755 "$tmp"
    if (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null) && dpkg-deb -x "$tmp"/*.deb "$tmp/x"; then
      cp "$tmp"/x/boot/vmlinuz-* "$cache/vmlinuz.tmp" && mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
      echo "$pkg" > "$cache/vmlinuz.package"
      say "kernel from $pkg"
    else
      say "could not download or extract $pkg"
    fi
    rm -rf "$tmp"
  fi
fi

if [ ! -s "$cache/busybox" ]; then
  update
  tmp=$(mktemp -d); chmod 755 "$tmp"
  if (cd "$tmp" && apt-get download -qq busybox-static >/dev/null) && dpkg-deb -x "$tmp"/*.deb "$tmp/x"; then
    cp "$tmp/x/bin/busybox" "$cache/busybox.tmp" && mv "$cache/busybox.tmp" "$cache/busybox"
    say "busybox from busybox-static"
  else
    say "could not download or extract busybox-static"
  fi
  rm -rf "$tmp"
fi
exit 0
