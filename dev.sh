#!/usr/bin/env bash
# Set-up and everyday commands for audioguide on Debian or Ubuntu.
#
#   ./dev.sh render [audioguide render options]   install what is missing, render script/ into audio/
#   ./dev.sh test   [pytest options]              install what is missing, run ruff, mypy, the
#                                                 tests and the freshness check of the edition
#   ./dev.sh bench  [benchmark options]           install what is missing, run the benchmark
#
# System packages are installed with apt-get (as root, or through sudo); Python packages go
# into .venv/ beside this file.
set -euo pipefail
cd "$(dirname "$0")"

RENDER_PACKAGES=(espeak-ng ffmpeg)
TEST_PACKAGES=(espeak-ng ffmpeg chromium epubcheck default-jre-headless daisy-player)
VENV=.venv

die() { echo "audioguide: error: $*" >&2; exit 1; }

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    for tool in espeak-ng ffmpeg; do
      command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed, and this is not a Debian or Ubuntu system; install $tool with your package manager"
    done
    return
  fi
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  missing=${missing% }
  [ -z "$missing" ] && return
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing system packages: $missing; install them as root: apt-get install $missing"
    sudo=(sudo)
  fi
  echo "installing system packages: $missing" >&2
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed; install by hand: sudo apt-get install $missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends $missing >&2 \
    || die "could not install $missing; install them by hand: sudo apt-get install $missing"
}

setup_python() {
  local extra=$1
  command -v python3 >/dev/null 2>&1 || install_packages python3
  if [ ! -x "$VENV/bin/python" ]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      rm -rf "$VENV"
      install_packages python3-venv
      python3 -m venv "$VENV" || die "could not create $VENV; install python3-venv"
    fi
  fi
  local stamp="$VENV/.installed-$extra"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing Python packages into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2 || die "pip could not be upgraded in $VENV"
    "$VENV/bin/python" -m pip install -q -e ".[$extra]" >&2 \
      || die "pip could not install audioguide's dependencies; see the messages above"
    touch "$stamp"
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  render)
    install_packages "${RENDER_PACKAGES[@]}"
    setup_python render
    exec "$VENV/bin/audioguide" render "$@"
    ;;
  test)
    install_packages "${TEST_PACKAGES[@]}"
    setup_python test
    "$VENV/bin/ruff" check src tests bench || die "ruff found problems (above)"
    "$VENV/bin/mypy" || die "mypy found problems (above)"
    status=0
    "$VENV/bin/python" -m pytest "$@" || status=$?
    [ "$status" = 5 ] && die "pytest collected no tests"
    [ "$status" = 0 ] || exit "$status"
    echo "checking that the committed edition in audio/ is fresh" >&2
    exec "$VENV/bin/audioguide" render --check
    ;;
  bench)
    install_packages "${RENDER_PACKAGES[@]}"
    setup_python test
    exec "$VENV/bin/python" -m bench "$@"
    ;;
  *)
    echo "usage: ./dev.sh render|test|bench [options]" >&2
    exit 2
    ;;
esac
