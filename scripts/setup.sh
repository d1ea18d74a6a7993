#!/usr/bin/env bash
# Create .venv and install BookedBiz from the hashed lock file. Usage: scripts/setup.sh [main|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-main}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --require-hashes -r "requirements/${kind}.lock"
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null \
  || .venv/bin/python -m pip install -q --no-deps -e .
