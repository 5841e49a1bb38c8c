# Sourced by scripts/ci.d/*.sh (not run on its own: .ci/run runs only *.sh): installs the Debian
# packages that provide one command, or says why it cannot. Never fails.
#
#   apt_tool NAME COMMAND "VERSION COMMAND" "WHAT SKIPS" PACKAGE...
#
# NAME prefixes every line; COMMAND is what the tests need on PATH; VERSION COMMAND prints one
# line naming the version; WHAT SKIPS ends the message when it cannot be had.
apt_tool() {
  local name=$1 cmd=$2 version=$3 skips=$4
  shift 4
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "ci.d/$name: present: $(sh -c "$version" 2>/dev/null | head -1)"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ci.d/$name: $cmd missing and cannot install it (not root or no apt-get): $skips"
    return 0
  fi
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    echo "ci.d/$name: installed $(sh -c "$version" 2>/dev/null | head -1)"
  else
    echo "ci.d/$name: apt-get install $* failed: $skips"
  fi
  return 0
}

# The preamble of the scripts that do more than install one command (downloads into .cache/):
#   ci_script NAME "WHAT SKIPS"
# defines say() prefixed with NAME and update() (apt-get update at most once), and answers
# non-zero, after saying why, when it cannot install anything (not root or no apt-get): the
# caller then exits 0 and its tests skip.
ci_script() {
  local name=$1 skips=$2
  eval "say() { echo \"ci.d/$name: \$*\"; }"
  updated=0
  update() { [ "$updated" = 1 ] || { apt-get update -qq && updated=1; }; }
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "not root or no apt-get: $skips"
    return 1
  fi
  return 0
}

# ci_deb_file DIR OUT PKG PATH: extracts PATH (a glob inside the package, e.g. boot/vmlinuz-*)
# of Debian package PKG (name or name:arch; downloaded, never installed) to DIR/OUT, and records
# PKG in DIR/OUT.package. Needs ci_script's say/update. Does nothing when DIR/OUT is there.
ci_deb_file() {
  local dir=$1 out=$2 pkg=$3 path=$4 tmp
  [ -s "$dir/$out" ] && return 0
  update
  tmp=$(mktemp -d); chmod 755 "$tmp"
  # shellcheck disable=SC2086 # $path is a glob inside the extracted package
  if (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null) && dpkg-deb -x "$tmp"/*.deb "$tmp/x" &&
    cp $tmp/x/$path "$dir/$out.tmp" && mv "$dir/$out.tmp" "$dir/$out"; then
    echo "$pkg" > "$dir/$out.package"
    say "$out from $pkg"
  else
    say "could not download or extract $pkg"
  fi
  rm -rf "$tmp"
}

# ci_kernel DIR OUT DEBARCH FLAVOUR: the newest linux-image-6.1.0-N-FLAVOUR:DEBARCH the mirror
# has (apt-cache knows its name), its /boot/vmlinuz-* as DIR/OUT (a guest kernel for QEMU).
ci_kernel() {
  local dir=$1 out=$2 arch=$3 flavour=$4 pkg
  [ -s "$dir/$out" ] && return 0
  update
  pkg=$(apt-cache search --names-only "^linux-image-6\\.1\\.0-[0-9]+-$flavour\$" | awk '{print $1}' | sort -V | tail -1)
  if [ -z "$pkg" ]; then
    say "no linux-image-6.1.0-*-$flavour package for $arch on this mirror"
    return 0
  fi
  ci_deb_file "$dir" "$out" "$pkg:$arch" "boot/vmlinuz-*"
}
