#!/usr/bin/env bash
# Install the Debian packages a purpose needs, only when missing.
#   scripts/install-system-deps.sh test   -> what the test suite needs
# In CI (CI=true) a package that cannot be installed is a failure, never a skip.
set -euo pipefail

purpose=${1:-test}
missing=()

need() {  # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}

case "$purpose" in
  test)
    need java openjdk-17-jre-headless   # HermiT (owlready2) runs on Java
    need virtuoso-t virtuoso-opensource # remote store backend tests (SPARQL 1.1 server)
    need chromium chromium              # web browser tests (Playwright drives /usr/bin/chromium)
    need chromedriver chromium-driver   # web browser tests
    need strace strace                  # hostile-input suite: files opened, connections made
    need wrk wrk                        # web benchmark's load generator (bench-quick runs in the suite)
    ;;
  *)
    echo "usage: $0 test" >&2; exit 2 ;;
esac

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing system packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! { $SUDO apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
  echo "error: could not install ${missing[*]}; install them with apt-get and retry." >&2
  exit 1
fi
