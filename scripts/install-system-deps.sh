#!/usr/bin/env bash
# Install the Debian packages a purpose needs, only when missing.
#   scripts/install-system-deps.sh test   -> what the test suite needs
#   scripts/install-system-deps.sh run    -> what serving gains from (optional: a failed
#                                            install warns and `make run` goes on)
# In CI (CI=true) a package that cannot be installed is a failure, never a skip.
set -euo pipefail

purpose=${1:-test}
missing=()

need() {  # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

need_package() {  # need_package PACKAGE: a library, so there is no command to look for
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing+=("$1")
}

case "$purpose" in
  run)
    need_package libjemalloc2           # the allocator clusterpolisee/allocator.py preloads
    ;;
  test)
    need_package libjemalloc2           # the CLI, the server and its workers run under it
    need java openjdk-17-jre-headless   # HermiT (owlready2) runs on Java
    need virtuoso-t virtuoso-opensource # remote store backend tests (SPARQL 1.1 server)
    need chromium chromium              # web browser tests (Playwright drives /usr/bin/chromium)
    need chromedriver chromium-driver   # web browser tests
    need strace strace                  # hostile-input suite: files opened, connections made
    need wrk wrk                        # web benchmark's load generator (bench-quick runs in the suite)
    ;;
  *)
    echo "usage: $0 test|run" >&2; exit 2 ;;
esac

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing system packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  if [ "$purpose" = run ] && [ "${CI:-}" != true ]; then
    echo "warning: no apt-get to install ${missing[*]}; running with the system malloc." >&2
    exit 0
  fi
  echo "error: no apt-get; install ${missing[*]} with your package manager and retry." >&2
  exit 1
fi
SUDO=""
# For `make run` the packages are optional: never stop to ask for a password each run.
[ "$(id -u)" -eq 0 ] || { [ "$purpose" = run ] && SUDO="sudo -n"; } || SUDO="sudo"
if ! { $SUDO apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
  if [ "$purpose" = run ] && [ "${CI:-}" != true ]; then
    echo "warning: could not install ${missing[*]}; running with the system malloc." >&2
    exit 0
  fi
  echo "error: could not install ${missing[*]}; install them with apt-get and retry." >&2
  exit 1
fi
