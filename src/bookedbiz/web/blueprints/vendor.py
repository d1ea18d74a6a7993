"""The chart library, served by the app itself (never a CDN).

The app draws bars and lines only, so it prefers plotly's *basic* bundle (bar, pie, scatter:
1.2 MB instead of 4.8 MB), which ``scripts/setup.sh`` fetches with ``npm pack`` into
``<venv>/share/bookedbiz/`` (hash checked, never committed). Without it, the full bundle inside
the installed ``plotly`` Python package is served instead, so charts always work.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file, url_for

bp = Blueprint("vendor", __name__)

BASIC_NAME = "plotly-basic.min.js"
_VERSION = re.compile(rb"plotly\.js \(basic[^)]*\) v(\d+\.\d+\.\d+[\w.-]*)")


def vendor_dir() -> Path:
    """Where setup.sh puts the basic bundle: ``<sys.prefix>/share/bookedbiz`` (config
    ``VENDOR_DIR`` overrides it, for tests and unusual installs)."""
    configured = current_app.config.get("VENDOR_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "bookedbiz"


@lru_cache(maxsize=8)
def _basic_bundle(folder: Path) -> tuple[Path, str] | None:
    path = folder / BASIC_NAME
    try:
        with path.open("rb") as handle:
            head = handle.read(300)
    except OSError:
        return None
    found = _VERSION.search(head)
    return (path, f"basic-{found.group(1).decode('ascii')}") if found else None


@lru_cache(maxsize=1)
def _full_bundle() -> tuple[Path, str] | None:
    try:
        import plotly

        path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    except (ImportError, ModuleNotFoundError):
        return None
    return (path, plotly.__version__) if path.is_file() else None


def plotly_js() -> tuple[Path, str] | None:
    """The bundle to serve and its version for the URL: the basic one when installed."""
    return _basic_bundle(vendor_dir()) or _full_bundle()


@bp.get("/vendor/plotly-<version>.min.js")
def plotly(version: str):  # noqa: ANN201
    found = plotly_js()
    if found is None:
        abort(404)
    path, installed = found
    response = send_file(path, mimetype="text/javascript", conditional=True, max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    if version != installed:
        # An old URL still works, but is not cached as immutable.
        response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def plotly_url() -> str | None:
    found = plotly_js()
    return url_for("vendor.plotly", version=found[1]) if found else None
