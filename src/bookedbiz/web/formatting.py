"""How numbers, months and times look on the pages (Jinja filters) and the freshness footer."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from flask import Flask, current_app

from bookedbiz.broadcast_calendar import label as month_label
from bookedbiz.reports import freshness
from bookedbiz.web.db import read_conn


def fmt_money(value: Any, dash_zero: bool = True) -> str:
    """``1234.5`` → ``1,234.50``; zero/None → an en dash so busy tables read faster."""
    if value is None or value == "":
        return "–"
    amount = Decimal(value)
    if dash_zero and amount == 0:
        return "–"
    return f"{amount:,.2f}"


def fmt_int(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return f"{int(value):,}"


def fmt_pct(value: Any) -> str:
    if value is None or value == "":
        return "–"
    amount = Decimal(value)
    sign = "+" if amount > 0 else ""
    return f"{sign}{amount:,.1f}%"


def fmt_cell(value: Any, kind: str) -> str:
    if kind == "money":
        return fmt_money(value)
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "share":
        return "–" if value is None or value == "" else f"{Decimal(value):,.1f}%"
    return "" if value is None else str(value)


def fmt_month(value: str | None) -> str:
    if not value:
        return ""
    try:
        return month_label(value)
    except (ValueError, IndexError):
        return str(value)


def fmt_time(value: str | None) -> str:
    """ISO UTC text → local display time (the broadcast time zone)."""
    if not value:
        return ""
    info = freshness.describe(value, timezone=current_app.config["DISPLAY_TIMEZONE"])
    return info["display"] or str(value)


class FreshnessCache:
    """The footer's last-import time, read at most every ``ttl`` seconds per process."""

    def __init__(self) -> None:
        self._value: str | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, ttl: float) -> str | None:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < ttl:
                return self._value
        try:
            value = freshness.last_completed_import_at(read_conn())
        except Exception:  # noqa: BLE001 - the footer must never break a page
            value = None
        with self._lock:
            self._value, self._read_at = value, now
        return value

    def clear(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


def footer_info() -> dict[str, Any]:
    cache: FreshnessCache = current_app.extensions["bookedbiz.freshness"]
    finished = cache.get(current_app.config["FRESHNESS_CACHE_SECONDS"])
    return freshness.describe(finished, timezone=current_app.config["DISPLAY_TIMEZONE"])


def init_app(app: Flask) -> None:
    app.extensions["bookedbiz.freshness"] = FreshnessCache()
    app.jinja_env.filters.update(
        money=fmt_money, int=fmt_int, pct=fmt_pct, cell=fmt_cell, month=fmt_month,
        localtime=fmt_time,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _footer() -> dict[str, Any]:
        return {"freshness": footer_info}
