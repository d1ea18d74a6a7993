"""Months: open/closed status, who closed them and when; close and reopen for admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from bookedbiz import months as month_service
from bookedbiz.broadcast_calendar import label
from bookedbiz.history.recording import record_month_event
from bookedbiz.money import dollars
from bookedbiz.reports import tables as tbl
from bookedbiz.reports.month_events import closure_events, months_with_totals
from bookedbiz.reports.stations import scope_station_ids
from bookedbiz.web.auth import actor_name, requires
from bookedbiz.web.cache import cached
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.view import act, current_filters, multi_station, render_report

bp = Blueprint("months", __name__, url_prefix="/months")


def months_table(year: int | None, station_id: int | None = None) -> tbl.Table:
    rows: list[dict[str, Any]] = []
    for m in cached(months_with_totals, year, station_id):
        rows.append(
            {
                "month": m["month"],
                "label": m["label"],
                "weeks": m["weeks"],
                "status": "Closed" if m["status"] == "closed" else "Open",
                "spots": m["spots"],
                "gross": dollars(m["gross_micros"]),
                "closed_by": m["closed_by"] or "",
                "closed_at": m["closed_at"] or "",
                "_class": m["status"],
            }
        )
    columns = [
        tbl.Column("label", "Month"),
        tbl.Column("weeks", "Weeks", "int"),
        tbl.Column("status", "Status"),
        tbl.Column("spots", "Spots", "int"),
        tbl.Column("gross", "Gross", "money"),
        tbl.Column("closed_by", "Closed by"),
        tbl.Column("closed_at", "Closed at (UTC)"),
    ]
    title = f"Months {year}" if year else "All months"
    return tbl.Table("months", title, columns, rows,
                     empty_message="No months with data for this year.")


@bp.get("/")
@requires("read_months")
def index():  # noqa: ANN201
    filters = current_filters()
    show_all = request.args.get("all") == "1"
    # one station chosen: its own months; none or several: every station's (a month is closed
    # when every station with business in it closed it)
    chosen = scope_station_ids(read_conn(), filters) if filters.stations else set()
    station_id = next(iter(chosen)) if len(chosen) == 1 else None
    table = months_table(None if show_all else filters.year, station_id)
    # close and reopen act on one station: the chosen one, or the only one there is
    several = multi_station()
    act_station = filters.stations[0] if len(chosen) == 1 else None
    return render_report(
        "months.html",
        "Months",
        filters,
        [table],
        events=closure_events(read_conn(), 30),
        show_all=show_all,
        act_station=act_station,
        station_actions=not several or act_station is not None,
    )


@bp.post("/<month>/close")
@requires("close_month")
def close(month: str):  # noqa: ANN201
    reason = (request.form.get("reason") or "").strip() or "closed in the web app"
    station = (request.form.get("station") or "").strip() or None

    def close_it() -> str:
        key = month_service.close_month(db_path(), month, actor_name(), reason[:500],
                                        on_change=record_month_event, station=station)
        return f"{label(key)} is closed."

    return act(close_it, "months.index")


@bp.post("/<month>/reopen")
@requires("reopen_month")
def reopen(month: str):  # noqa: ANN201
    reason = (request.form.get("reason") or "").strip()
    station = (request.form.get("station") or "").strip() or None

    def reopen_it() -> str:
        key = month_service.reopen_month(db_path(), month, actor_name(), reason[:500],
                                         on_change=record_month_event, station=station)
        return f"{label(key)} is open again."

    return act(reopen_it, "months.index")
