#!/usr/bin/env bash
# Regenerates the hash-pinned locks from the hand-edited requirements files. Run after changing any
# requirements*.txt and commit the *.lock files with it. The install script installs only from the
# locks (pip --require-hashes), so every transitive package is pinned to a version and its hashes.
# Needs uv (PyPI `uv`): a tool of whoever changes the requirements, not of the install.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-uv}"
for name in requirements-tools requirements requirements-dev requirements-bench; do
  "$uv" pip compile --quiet --python-version 3.11 --generate-hashes --no-header "$name.txt" -o "$name.lock"
done
