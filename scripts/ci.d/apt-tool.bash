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
