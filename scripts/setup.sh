#!/usr/bin/env bash
# Create .venv and install BookedBiz from the hashed lock file. Usage: scripts/setup.sh [main|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-main}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 makes virtualenvs only with python3-venv (ensurepip) installed.
  if ! "$PY" -c "import ensurepip" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
  fi
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --require-hashes -r "requirements/${kind}.lock"
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null \
  || .venv/bin/python -m pip install -q --no-deps -e .

# Plotly's basic bundle (bar, pie, scatter: every chart the app draws; 1.2 MB instead of the
# 4.8 MB full bundle in the plotly package) into .venv/share/bookedbiz, checked against its
# pinned npm integrity hash. Without npm or the registry the app serves the full bundle.
PLOTLY_BASIC_VERSION=4.1.1
PLOTLY_BASIC_SHA512="1oNF8PeQx2hv/y7tqEVWKD3JGwn/MGEMQ8mL9HUwsaqG9FGy/OU5FHUHvzqbqxN4mnwZGI9abTiE775C4kkjMQ=="
vendor_dir=.venv/share/bookedbiz
if command -v npm >/dev/null 2>&1 \
   && ! grep -qs "v${PLOTLY_BASIC_VERSION}\$" <(head -c 300 "$vendor_dir/plotly-basic.min.js" 2>/dev/null); then
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "plotly.js-basic-dist-min@${PLOTLY_BASIC_VERSION}" \
        >/dev/null 2>&1); then
    .venv/bin/python - "$tmp"/plotly.js-basic-dist-min-*.tgz "$PLOTLY_BASIC_SHA512" \
        "$vendor_dir" <<'PY' || echo "setup: plotly basic bundle not installed (the full one is used)" >&2
import base64, hashlib, io, sys, tarfile
from pathlib import Path
tgz, expected, folder = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
data = tgz.read_bytes()
if base64.b64encode(hashlib.sha512(data).digest()).decode() != expected:
    sys.exit("setup: the plotly basic bundle does not match its pinned hash")
with tarfile.open(fileobj=io.BytesIO(data)) as archive:
    body = archive.extractfile("package/plotly-basic.min.js").read()
folder.mkdir(parents=True, exist_ok=True)
part = folder / "plotly-basic.min.js.part"
part.write_bytes(body)
part.replace(folder / "plotly-basic.min.js")
PY
  else
    echo "setup: npm could not fetch plotly.js-basic-dist-min (the full plotly bundle is used)" >&2
  fi
  rm -rf "$tmp"
fi
