#!/usr/bin/env bash
# Debian's Chromium, the browser the browser tests (test/browser) drive through playwright-core:
# playwright downloads no browser here, it is given this one's path.
#   browser.sh ensure    install the Debian package if missing; print the executable's path (one line)
# Progress and apt-get's output go to stderr; only the path goes to stdout.
set -Eeuo pipefail

PACKAGES=(chromium)

log() { echo "browser: $*" >&2; }

usage() { echo "usage: $0 ensure" >&2; exit 2; }

# The executable: Debian's launcher first (it sets the flags Debian's build expects), else chromium on PATH.
find_chromium() {
  if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; return 0; fi
  command -v chromium 2>/dev/null
}

install() {
  command -v apt-get >/dev/null ||
    { echo "browser: no apt-get here: install Chromium and set STRATA_TEST_CHROMIUM to its executable" >&2; exit 1; }
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "browser: installing ${PACKAGES[*]} needs root (or sudo)" >&2; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${PACKAGES[*]} (a minute or two)"
  "${sudo[@]}" apt-get update >&2 || { echo "browser: apt-get update failed" >&2; exit 1; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}" >&2 ||
    { echo "browser: apt-get install ${PACKAGES[*]} failed" >&2; exit 1; }
}

ensure() {
  find_chromium && return 0
  install
  find_chromium || { echo "browser: chromium still not found after apt-get install ${PACKAGES[*]}" >&2; exit 1; }
}

case "${1:-}" in
  ensure) [ $# -eq 1 ] || usage; ensure ;;
  *) usage ;;
esac
