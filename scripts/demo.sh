#!/usr/bin/env bash
# Set everything up and run the demo: a realistic synthetic database served on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh main
exec .venv/bin/bookedbiz demo "$@"
