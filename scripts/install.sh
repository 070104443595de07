#!/usr/bin/env bash
# Installs what the project needs from nothing: a virtualenv with the pinned packages and, for the
# test suite, Debian's Chromium (Playwright cannot download its own browser on these machines) and
# Debian's PostgreSQL (the store's tests run against a real server). `make dashboard` (app) needs
# neither: the operational store defaults to an embedded SQLite file.
# Usage: scripts/install.sh [app|dev|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
py="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# Installs only from the hash-pinned locks (scripts/lock.sh writes them from requirements*.txt): every
# package, transitive ones included, must match a published hash, or pip refuses to install.
lock="requirements.lock"
case "$what" in
  dev) lock="requirements-dev.lock" ;;
  bench) lock="requirements-bench.lock" ;;
esac
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes)
stamp=".venv/.installed-$what"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ] \
    || [ requirements-tools.lock -nt "$stamp" ]; then
  "${pip[@]}" -r requirements-tools.lock
  "${pip[@]}" -r "$lock"
  # The project itself: local source, no dependencies of its own to fetch (they came from the lock),
  # built with the locked setuptools rather than an unpinned isolated build environment.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  touch "$stamp"
fi

# The test suite needs Debian's Chromium and PostgreSQL server binaries (the tests start their own
# throw-away PostgreSQL cluster; no database service is configured or started here).
if [ "$what" = "dev" ]; then
  as_root=""
  [ "$(id -u)" = "0" ] || as_root="sudo"
  packages=()
  [ -x /usr/bin/chromium ] || packages+=(chromium fonts-noto-color-emoji)
  pg_missing=0
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || pg_missing=1
  if [ "$pg_missing" = 1 ] || [ "${#packages[@]}" -gt 0 ]; then
    $as_root apt-get update -qq
  fi
  if [ "$pg_missing" = 1 ]; then
    # No main cluster: Debian would create one and start a server on port 5432 that nothing uses.
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null
    $as_root sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
    packages+=(postgresql)
  fi
  if [ "${#packages[@]}" -gt 0 ]; then
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
fi
