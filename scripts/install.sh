#!/usr/bin/env bash
# Installs what the project needs from nothing: a virtualenv with the pinned packages and, for the
# test suite, Debian's Chromium (Playwright cannot download its own browser on these machines).
# Usage: scripts/install.sh [app|dev|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
py="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
req="requirements.txt"
case "$what" in
  dev) req="requirements-dev.txt" ;;
  bench) req="requirements-bench.txt" ;;
esac
stamp=".venv/.installed-$what"
if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
    || .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi

if [ "$what" = "dev" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
  fi
fi
