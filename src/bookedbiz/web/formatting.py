"""How numbers, months and times look on the pages (Jinja filters) and the freshness footer.

Money on screen is whole dollars by default: a sales table reads faster without cents. The
figure shown is the cent figure (SPEC §1.2: the exact sum rounded half-even to the cent, as in
every export and the API) rounded half-even to the dollar. ``?cents=1`` shows cents and is
remembered in a cookie until ``?cents=0``; exports and the API always carry exact cents.
"""

from __future__ import annotations

import threading
import time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, has_request_context, request

from bookedbiz.broadcast_calendar import label as month_label
from bookedbiz.reports import freshness
from bookedbiz.web.db import read_conn

CENTS_COOKIE = "bookedbiz_cents"
CENTS_COOKIE_AGE = 365 * 24 * 3600
_DOLLAR = Decimal(1)


def show_cents() -> bool:
    """Whether this request shows cents: ``?cents=1|0`` first, then the remembered cookie."""
    if not has_request_context():
        return False
    cached = g.get("_bookedbiz_cents")
    if cached is None:
        asked = request.args.get("cents")
        if asked in ("0", "1"):
            cached = asked == "1"
        else:
            cached = request.cookies.get(CENTS_COOKIE) == "1"
        g._bookedbiz_cents = cached
    return cached


def fmt_money(value: Any, dash_zero: bool = True, cents: bool | None = None) -> str:
    """``1234.5`` → ``1,234`` (whole dollars, half-even) or ``1,234.50`` with cents; zero/None
    → an en dash so busy tables read faster. No ``$``: templates put it where it belongs."""
    if value is None or value == "":
        return "–"
    amount = Decimal(value)
    if dash_zero and amount == 0:
        return "–"
    if show_cents() if cents is None else cents:
        return f"{amount:,.2f}"
    whole = amount.quantize(_DOLLAR, ROUND_HALF_EVEN)
    return f"{whole.copy_abs() if whole == 0 else whole:,.0f}"


def fmt_dollars(value: Any, dash_zero: bool = True, cents: bool | None = None) -> str:
    """Money with its sign and ``$``: ``-$1,235``; zero/None → an en dash."""
    shown = fmt_money(value, dash_zero, cents)
    if shown == "–":
        return shown
    return f"-${shown[1:]}" if shown.startswith("-") else f"${shown}"


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


def fmt_cell(value: Any, kind: str, cents: bool | None = None) -> str:
    if kind == "money":
        return fmt_dollars(value, cents=cents)
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "share":
        # no share of a zero or negative total (money.share gives None): blank, not a dash
        return "" if value is None or value == "" else f"{Decimal(value):,.1f}%"
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


def cents_toggle_url() -> str:
    """This page's address with cents switched the other way (the footer's link)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cents"]
    args.append(("cents", "0" if show_cents() else "1"))
    return f"{request.path}?{urlencode(args)}"


def remember_cents(response: Response) -> Response:
    """``?cents=1`` or ``?cents=0`` is remembered for the next pages (the filter bar rebuilds
    its URL from the form, so a query parameter alone would be lost at the first change)."""
    asked = request.args.get("cents")
    if asked not in ("0", "1") or request.cookies.get(CENTS_COOKIE, "0") == asked:
        return response
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    if asked == "1":
        response.set_cookie(CENTS_COOKIE, "1", max_age=CENTS_COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=secure)
    else:
        response.delete_cookie(CENTS_COOKIE, httponly=True, samesite="Lax", secure=secure)
    return response


def init_app(app: Flask) -> None:
    app.extensions["bookedbiz.freshness"] = FreshnessCache()
    app.jinja_env.filters.update(
        money=fmt_money, dollars=fmt_dollars, int=fmt_int, pct=fmt_pct, cell=fmt_cell,
        month=fmt_month, localtime=fmt_time,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.after_request(remember_cents)

    @app.context_processor
    def _footer() -> dict[str, Any]:
        return {"freshness": footer_info, "show_cents": show_cents,
                "cents_toggle_url": cents_toggle_url}
