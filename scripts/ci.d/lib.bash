# Shared by the scripts in scripts/ci.d/ (sourced, never run: .ci/run runs only *.sh).
# ci_apt_install NAME CHECK_CMD WHY PACKAGE...: installs PACKAGEs with apt-get unless CHECK_CMD
# succeeds already; says what happened; never fails (the tests that need them skip and say why).
ci_apt_install() {
  local name=$1 check=$2 why=$3
  shift 3
  if eval "$check" >/dev/null 2>&1; then
    echo "ci.d/$name: present: $(eval "$check" 2>/dev/null | head -1)"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ci.d/$name: missing and cannot install $* (not root or no apt-get): $why"
    return 0
  fi
  local start
  start=$(date +%s)
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    echo "ci.d/$name: installed $* in $(( $(date +%s) - start )) s: $(eval "$check" 2>/dev/null | head -1)"
  else
    echo "ci.d/$name: apt-get install $* failed: $why"
  fi
  return 0
}
