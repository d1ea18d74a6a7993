"""The chart library, served by the app from the installed plotly package (never a CDN)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, abort, send_file

bp = Blueprint("vendor", __name__)


@lru_cache(maxsize=1)
def plotly_js() -> tuple[Path, str] | None:
    """Path of plotly.min.js inside the installed package and its version (for the URL)."""
    try:
        import plotly

        path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    except (ImportError, ModuleNotFoundError):
        return None
    return (path, plotly.__version__) if path.is_file() else None


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
    from flask import url_for

    found = plotly_js()
    return url_for("vendor.plotly", version=found[1]) if found else None
