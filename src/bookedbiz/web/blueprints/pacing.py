"""Pacing and What changed: the booking history on two pages (lay-out only; the numbers come
from reports.pacing and reports.changes, the same functions as the CLI and the API)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, abort, request
from sqlalchemy import text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.history.as_of import parse_as_of, station_today
from bookedbiz.money import ROUNDING_NOTE
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.changes import changes_report
from bookedbiz.reports.pacing import PACING_GROUPS, booking_curve, pacing_report
from bookedbiz.web.auth import requires
from bookedbiz.web.cache import cached
from bookedbiz.web.db import read_conn
from bookedbiz.web.view import current_filters, multi_station, render_report

bp = Blueprint("pacing", __name__, url_prefix="/reports")

PACING_KEYS = ("as_of", "from", "to", "by", "curve")
CHANGE_KEYS = ("since", "until")


def history_version() -> object:
    """Part of every cache key: a backfill changes the history without an import batch."""
    return read_conn().execute(text("SELECT MAX(record_id) FROM history_records")).scalar()


def _day(name: str, default: date | None) -> date | None:
    day = parse_as_of(request.args.get(name) or None, name.replace("_", "-")) or default
    if day is not None and day > station_today():
        raise ConfigError(f"{name.replace('_', '-')} {day.isoformat()} is in the future.")
    return day


def _month(name: str) -> str | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    month = bc.parse_month(raw)
    if month is None:
        raise ConfigError(f"{name} '{raw[:20]}' is not a month; write it as YYYY-MM.")
    return month


def pacing_args() -> dict[str, Any]:
    """The page's own parameters, validated (one sentence → 400)."""
    by = request.args.get("by") or None
    if by is not None and by not in PACING_GROUPS:
        raise ConfigError(f"Group pacing by {', '.join(PACING_GROUPS)}.")
    return {"as_of": _day("as_of", station_today()), "first": _month("from"),
            "last": _month("to"), "by": by, "curve": _month("curve")}


def _pace_pct(value: object) -> object:
    return None if value is None else value * 100  # type: ignore[operator]


def _cells(r: dict[str, Any], measure: str, name: str | None) -> dict[str, Any]:
    row = {
        "label": r["label"], "status": r["status"].title(),
        "booked": r[f"booked_{measure}"], "stly": r[f"stly_{measure}"],
        "pace": _pace_pct(r["pace"]), "last_year": r[f"last_year_{measure}"],
        "_class": r["status"],
    }
    if name:
        row[name] = r[name]
    return row


def pacing_tables(report: dict[str, Any], measure: str) -> list[tbl.Table]:
    """Without a grouping: one row a month. With one: one row a group over the months (what
    the page shows) and the month × group detail (exported, like the CLI and the API rows)."""
    name = report["key"]
    total = report["total"]
    figures = [
        tbl.Column("booked", "Booked", "money", title=f"On the books as of {report['as_of']}"),
        tbl.Column("stly", "STLY", "money",
                   title=f"Same time last year: month − 12 as of {report['stly_as_of']}"),
        tbl.Column("pace", "Pace %", "share", title="Booked ÷ STLY"),
        tbl.Column("last_year", "Last year final", "money",
                   title="Month − 12 as it stands now"),
    ]
    group = [tbl.Column(name, name.replace("_", " ").title())] if name else []
    month_columns = [tbl.Column("label", "Month"), *group, tbl.Column("status", "Status"),
                     *figures]
    totals = [{"label": "Total", **({name: "Total"} if name else {}),
               "booked": total[f"booked_{measure}"], "stly": total[f"stly_{measure}"],
               "pace": _pace_pct(total["pace"]), "last_year": total[f"last_year_{measure}"]}]
    title = f"Pacing as of {report['as_of']}"
    empty = "Nothing on the books for these months and filters."
    detail = tbl.Table("pacing" if not name else "pacing_detail",
                       f"{title}{' by month and ' + report['by'] if name else ''} ({measure})",
                       month_columns, [_cells(r, measure, name) for r in report["rows"]],
                       totals=totals, note=ROUNDING_NOTE, empty_message=empty)
    if not name:
        return [detail]
    groups = tbl.Table("pacing", f"{title} by {report['by']}, {total['label']} ({measure})",
                       [*group, *figures],
                       [_cells(r, measure, name) for r in report["group_totals"]],
                       totals=totals, note=ROUNDING_NOTE, empty_message=empty)
    return [groups, detail]


def curve_chart(curve: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "line",
        "title": f"Booking curve: {curve['label']} vs a year earlier ({curve['measure']})",
        "x": [f"−{w} wk" if w else "start" for w in curve["weeks_before"]],
        "series": [
            {"name": curve["label"],
             "y": [None if v is None else float(v) for v in curve["this_year"]]},
            {"name": bc.label(bc.shift_month(curve["month"], -12)),
             "y": [float(v) for v in curve["last_year"]]},
        ],
    }


@bp.get("/pacing")
@requires("read_reports")
def pacing():  # noqa: ANN201
    filters = replace(current_filters(PACING_KEYS), year=None)
    try:
        args = pacing_args()
        version = history_version()
        detail = bool(request.args.get("format"))  # month x group rows: exports only
        report = cached(_pacing, args["as_of"], args["first"], args["last"], args["by"],
                        filters, version, detail)
        curve_month = args["curve"] or next(
            (m for m in report["months"] if bc.broadcast_month_start(m) > args["as_of"]),
            report["months"][0])
        curve = cached(_curve, args["as_of"], curve_month, filters, version)
    except BookedBizError as exc:
        abort(400, description=str(exc))
    measure = "net" if filters.measure == "net" else "gross"
    cards = report["total"]
    return render_report(
        "reports/pacing.html", "Pacing", _shown(filters), pacing_tables(report, measure),
        report=report, chart=curve_chart(curve), measure=measure, cards=cards, args=args,
        groups=[g for g in PACING_GROUPS if g != "station" or multi_station()],
        months=[(m, bc.label(m)) for m in report["months"]],
        curve_month=curve_month,
    )


def _shown(filters):  # noqa: ANN001, ANN202
    """The filters as the shared filter bar and exports describe them (they need a year)."""
    return replace(filters, year=station_today().year)


def _pacing(conn, as_of, first, last, by, filters, _version, detail=True):  # noqa: ANN001, ANN202
    return pacing_report(conn, as_of=as_of, first=first, last=last, by=by, filters=filters,
                         detail=detail)


def _curve(conn, as_of, month, filters, _version):  # noqa: ANN001, ANN202
    return booking_curve(conn, as_of=as_of, month=month, filters=filters)


def changes_table(report: dict[str, Any]) -> tbl.Table:
    columns = [
        tbl.Column("label", "Month"), tbl.Column("change", "Change"),
        tbl.Column("contract", "Contract"), tbl.Column("customer", "Customer"),
        tbl.Column("ae", "AE"), tbl.Column("gross_before", "Gross before", "money"),
        tbl.Column("gross_after", "Gross after", "money"),
        tbl.Column("gross_change", "Gross change", "money"),
    ]
    rows = [{**r, "_class": r["change"]} for r in report["rows"]]
    window = (f"{report['since']} → {report['until']}" if report["since"] else "no history yet")
    return tbl.Table("changes", f"What changed, {window}", columns, rows,
                     empty_message="Nothing changed on the books between these dates.")


@bp.get("/changes")
@requires("read_reports")
def changes():  # noqa: ANN201
    filters = replace(current_filters(CHANGE_KEYS), year=None)
    try:
        since, until = _day("since", None), _day("until", None)
        report = cached(_changes, since, until, filters, history_version())
    except BookedBizError as exc:
        abort(400, description=str(exc))
    return render_report("reports/changes.html", "What changed", _shown(filters),
                         [changes_table(report)], report=report)


def _changes(conn, since, until, filters, _version):  # noqa: ANN001, ANN202
    return changes_report(conn, since=since, until=until, filters=filters)

