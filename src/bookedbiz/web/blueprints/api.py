"""JSON API for spreadsheets that pull booked business: ``Authorization: Bearer <token>``.

Tokens are per user, created with ``bookedbiz tokens create`` or on the account page, and stored
only as SHA-256 hashes. Amounts are JSON numbers in dollars (two decimals); every endpoint takes
the same filters as the pages (year, measure, ae, market, revenue_type).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, json, request

from bookedbiz import users
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.reports import customer_detail, revenue
from bookedbiz.reports.imports import import_batch, import_history
from bookedbiz.reports.pages import ae_summary, customer_month_matrix
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.view import current_filters, is_scoped, scoped_options

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def reply(data: Any, status: int = 200, **meta: Any) -> Response:
    body = {"data": _plain(data), **_plain(meta)}
    return Response(json.dumps(body), status=status, mimetype="application/json")


_TOUCHED: dict[int, float] = {}
TOUCH_EVERY_SECONDS = 300.0


@bp.before_request
def _touch() -> None:
    """Record a token's last use, at most every few minutes (no write on every request)."""
    token_id = g.get("api_token_id")
    now = time.monotonic()
    if token_id is not None and now - _TOUCHED.get(token_id, float("-inf")) > TOUCH_EVERY_SECONDS:
        _TOUCHED[token_id] = now
        users.touch_token(db_path(), token_id)


@bp.errorhandler(BookedBizError)
def _error(exc: BookedBizError) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 400
    return Response(json.dumps({"error": str(exc)}), status=status, mimetype="application/json")


def _filters_meta(filters) -> dict[str, Any]:  # noqa: ANN001
    return {"filters": asdict(filters), "trade_excluded": True}


@bp.get("/revenue")
@requires("read_reports")
def revenue_report() -> Response:
    """Revenue grouped ``by`` month, ae, customer, agency, market, language, revenue-type or
    spot-type, plus the total for the same filters."""
    by = request.args.get("by", "month")
    if by not in revenue.GROUPINGS:
        choices = ", ".join(revenue.GROUPINGS)
        raise BookedBizError(f"Unknown grouping '{by[:30]}'; use one of {choices}.")
    filters = current_filters(("customer_id",))
    return reply(cached(revenue.revenue_by, by, filters), by=by,
                 total=cached(revenue.revenue_total, filters), **_filters_meta(filters))


@bp.get("/overview")
@requires("read_reports")
def overview() -> Response:
    filters = current_filters()
    return reply(cached(revenue.monthly_overview, filters), **_filters_meta(filters))


@bp.get("/customers")
@requires("read_reports")
def customers() -> Response:
    filters = current_filters()
    needle = (request.args.get("q") or "").strip().lower()
    hidden = ("total_micros", "months_micros")
    rows = [
        {k: v for k, v in row.items() if k not in hidden}
        for row in cached(customer_month_matrix, filters, None)
        if not needle or needle in row["customer"].lower() or needle in row["ae"].lower()
    ]
    return reply(rows, **_filters_meta(filters))


@bp.get("/customers/<int:customer_id>")
@requires("read_reports")
def customer(customer_id: int) -> Response:
    filters = current_filters()
    conn = read_conn()
    data = customer_detail.customer_header(conn, customer_id)
    history = customer_detail.customer_history(conn, customer_id, filters)["months"]
    if is_scoped(filters) and not history:
        raise NotFoundError(f"There is no customer with id {customer_id}.")
    data["history"] = history
    return reply(data, **_filters_meta(filters))


@bp.get("/aes")
@requires("read_reports")
def aes() -> Response:
    filters = current_filters()
    hidden = ("total_micros", "months_micros", "prior_micros")
    return reply([{k: v for k, v in row.items() if k not in hidden}
                  for row in cached(ae_summary, filters)], **_filters_meta(filters))


@bp.get("/pacing")
@requires("read_reports")
def pacing() -> Response:
    """Pacing rows (as the page and ``bookedbiz report pacing`` compute them): ``as_of``,
    ``from``, ``to`` and ``by`` plus the usual filters; one object per month (and group)."""
    from dataclasses import replace

    from bookedbiz.web.blueprints.pacing import _pacing, history_version, pacing_args

    filters = replace(current_filters(("as_of", "from", "to", "by")), year=None)
    args = pacing_args()
    report = cached(_pacing, args["as_of"], args["first"], args["last"], args["by"], filters,
                    history_version())
    return reply(report["rows"], as_of=report["as_of"].isoformat(),
                 stly_as_of=report["stly_as_of"].isoformat(), by=report["by"],
                 total=report["total"], **_filters_meta(filters))


@bp.get("/changes")
@requires("read_reports")
def changes() -> Response:
    """What changed between ``since`` and ``until`` (default: the last two imports' days)."""
    from dataclasses import replace

    from bookedbiz.web.blueprints.pacing import _changes, _day, history_version

    filters = replace(current_filters(("since", "until")), year=None)
    report = cached(_changes, _day("since", None), _day("until", None), filters,
                    history_version())
    return reply(report["rows"], since=report["since"] and report["since"].isoformat(),
                 until=report["until"] and report["until"].isoformat(),
                 totals=report["totals"], **_filters_meta(filters))


@bp.get("/months")
@requires("read_months")
def months() -> Response:
    from bookedbiz import months as month_service
    from bookedbiz.reports.stations import scope_station_ids

    filters = current_filters()  # ?station=CODE: that station's months (else every station's)
    chosen = scope_station_ids(read_conn(), filters) if filters.stations else set()
    station_id = next(iter(chosen)) if len(chosen) == 1 else None
    return reply(month_service.list_months(read_conn(), station_id=station_id))


# Where a file lay on the server and which host:pid ran an import are not the API's business.
_SERVER_DETAILS = ("source_file", "started_by")


_DIRECTORIES = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\][^\s'\"]*[/\\]")


def _no_directories(value: Any) -> Any:
    """Messages keep a file's name but not the server directories it lay in."""
    if isinstance(value, str):
        return _DIRECTORIES.sub("", value)
    if isinstance(value, list):
        return [_no_directories(v) for v in value]
    return value


def _public_batch(batch: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in batch.items() if k not in _SERVER_DETAILS}
    for key in ("error", "warnings"):
        if key in out:
            out[key] = _no_directories(out[key])
    return out


@bp.get("/imports")
@requires("read_imports")
def imports() -> Response:
    return reply([_public_batch(b) for b in import_history(read_conn(), 100)])


@bp.get("/imports/<int:batch_id>")
@requires("read_imports")
def batch(batch_id: int) -> Response:
    return reply(_public_batch(import_batch(read_conn(), batch_id)))


@bp.get("/filters")
@requires("read_reports")
def filter_values() -> Response:
    """Years with data and the AE, market and revenue-type values for a year."""
    filters = current_filters()
    conn = read_conn()
    options = scoped_options(revenue.filter_options(conn, filters.year), filters)
    return reply({"years": revenue.available_years(conn), **options})


@bp.get("/me")
@requires("use_api_tokens")
def me() -> Response:
    user = g.api_user
    current_app.logger.debug("API token check for %s", user.username)
    return reply(user.public())


# -- flat feeds for the management workbook (docs/api.md): streamed, the token's scope applies --

def _feed(rows_of, columns: tuple[str, ...], name: str, **meta: Any) -> Response:  # noqa: ANN001
    """Stream ``rows_of(conn)`` as CSV or JSON on a connection of its own (the request's closes
    when the view returns, the stream later), one snapshot for the whole feed."""
    from bookedbiz.reports import feeds
    from bookedbiz.web.db import database, snapshot

    fmt = (request.args.get("format") or "json").lower()
    if fmt not in ("csv", "json"):
        raise BookedBizError("The feed format must be csv or json.")
    db = database()

    def generate():  # noqa: ANN202
        conn = snapshot(db)
        try:
            rows = rows_of(conn)
            chunks = (feeds.as_csv(rows, columns) if fmt == "csv"
                      else feeds.as_json(rows, columns, **_plain(meta)))
            yield from (chunk.encode("utf-8") for chunk in chunks)
        finally:
            conn.close()

    mime = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = Response(generate(), mimetype=mime)
    response.headers["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/feed/revenue")
@requires("read_reports")
def revenue_feed() -> Response:
    """All history (or ``year``) at month × customer × agency × AE × market × revenue type."""
    from dataclasses import replace

    from bookedbiz.reports import feeds

    filters = current_filters(("customer_id",))
    if not request.args.get("year"):
        filters = replace(filters, year=None)
    return _feed(lambda conn: feeds.revenue_feed(conn, filters), feeds.REVENUE_COLUMNS,
                 "revenue-feed", filters=asdict(filters), trade_excluded=True)


@bp.get("/feed/planning")
@requires("read_reports")
def planning_feed() -> Response:
    """AE × month budget, forecast, booked and pipeline of ``year`` (gross)."""
    from bookedbiz.reports import feeds
    from bookedbiz.reports.pacing import newest_as_of
    from bookedbiz.reports.planning import plan_filters

    filters = plan_filters(current_filters())
    books = newest_as_of(read_conn())
    return _feed(lambda conn: feeds.planning_feed(conn, filters, as_of=books),
                 feeds.PLANNING_COLUMNS, f"planning-feed-{filters.year}",
                 year=filters.year, as_of=books.isoformat(), trade_excluded=True)
