#!/usr/bin/env bash
# Set everything up (Debian packages, venv, locked dependencies) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v caddy >/dev/null 2>&1 || need+=(caddy)  # validates the rendered TLS site
# tests/pg start a throwaway server from initdb/pg_ctl, which are not on PATH in Debian
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash scripts/setup.sh dev
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports  # the layers contract in pyproject.toml ([tool.importlinter])
.venv/bin/python -m pytest "$@"
