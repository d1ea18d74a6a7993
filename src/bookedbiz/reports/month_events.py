"""The months page's data: months with their totals and status, and the close/reopen audit
trail, newest first."""

from __future__ import annotations

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar


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


def months_with_totals(conn: Connection, year: int | None = None) -> list[dict[str, object]]:
    """The months page's rows: every month of ``year`` (all years when None) with data or a
    closure, with its status, who closed it, spots and gross (non-Trade).

    The same figures as ``bookedbiz.months.list_months``, but reading only the year asked for
    (a month-range scan) and probing closed months with an index lookup, so the page does not
    aggregate the whole summary table."""
    first, last = (f"{year:04d}-01", f"{year:04d}-12") if year else ("0000-00", "9999-99")
    rows = conn.execute(
        text(
            "WITH m AS (SELECT broadcast_month, SUM(spots) AS spots, SUM(gross_micros) AS gross "
            "FROM spot_summary WHERE broadcast_month BETWEEN :a AND :b GROUP BY broadcast_month "
            "UNION ALL SELECT c.broadcast_month, 0, 0 FROM month_closures c "
            "WHERE c.broadcast_month BETWEEN :a AND :b AND NOT EXISTS (SELECT 1 FROM "
            "spot_summary s WHERE s.broadcast_month = c.broadcast_month)) "
            "SELECT m.broadcast_month, m.spots, m.gross, c.closed_at, c.closed_by "
            "FROM m LEFT JOIN month_closures c USING (broadcast_month) ORDER BY m.broadcast_month"
        ),
        {"a": first, "b": last},
    ).all()
    return [
        {
            "month": month,
            "label": broadcast_calendar.label(month),
            "status": "closed" if closed_at else "open",
            "closed_at": closed_at,
            "closed_by": closed_by,
            "spots": int(spots or 0),
            "gross_micros": int(gross or 0),
            "weeks": broadcast_calendar.broadcast_weeks(month),
        }
        for month, spots, gross, closed_at, closed_by in rows
    ]
