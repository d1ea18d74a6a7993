"""The months page's data: months with their totals and status, and the close/reopen audit
trail, newest first."""

from __future__ import annotations

from sqlalchemy import Connection, text

from bookedbiz.months import list_months


def closure_events(conn: Connection, limit: int = 50) -> list[dict[str, object]]:
    rows = conn.execute(
        text(
            "SELECT broadcast_month, action, actor, reason, at FROM month_closure_events "
            "ORDER BY event_id DESC LIMIT :n"
        ),
        {"n": int(limit)},
    ).all()
    keys = ("month", "action", "actor", "reason", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def months_with_totals(conn: Connection, year: int | None = None,
                       station_id: int | None = None) -> list[dict[str, object]]:
    """The months page's rows: :func:`bookedbiz.months.list_months` on this request's
    connection (same transaction, same snapshot), of one station or of all of them."""
    return list_months(conn, year, station_id=station_id)
