"""Month close and reopen, with an audit trail; a closed month is frozen for daily imports."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from bookedbiz import broadcast_calendar
from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.errors import BookedBizError, ConfigError

# Called inside the close/reopen transaction with (connection, months, "close" | "reopen"): the
# booking history records the month's state there (passed in by the caller, since this module
# may not import bookedbiz.history).
StatusHook = Callable[[sqlite3.Connection, list[str], str], object]


def parse_month_argument(text: str) -> str:
    """``Jan-25`` or ``2025-01`` (and other readable forms) → ``2025-01``; else a usage error."""
    month = broadcast_calendar.parse_month(text)
    if month is None:
        raise ConfigError(f"'{text}' is not a month; write it as Jan-25 or 2025-01.")
    return month


def close_months(
    conn: sqlite3.Connection,
    months: Iterable[str],
    actor: str,
    reason: str,
    batch_id: int | None = None,
) -> None:
    """Close (or re-close) ``months`` inside the caller's transaction, recording events."""
    now = utc_now()
    for month in months:
        conn.execute(
            "INSERT INTO month_closures (broadcast_month, closed_at, closed_by, batch_id, notes) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(station_id, broadcast_month) DO UPDATE SET "
            "closed_at = excluded.closed_at, closed_by = excluded.closed_by, "
            "batch_id = excluded.batch_id, notes = excluded.notes",
            (month, now, actor, batch_id, reason),
        )
        conn.execute(
            "INSERT INTO month_closure_events (broadcast_month, action, actor, reason, at) "
            "VALUES (?, 'close', ?, ?, ?)",
            (month, actor, reason, now),
        )


def close_month(db_path: Path, month_text: str, by: str, reason: str | None = None,
                on_change: StatusHook | None = None) -> str:
    """Close one month that has data; closing a closed month is an error."""
    month = parse_month_argument(month_text)
    if not by or not by.strip():
        raise ConfigError("Say who closes the month with --by NAME.")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if conn.execute(
                "SELECT 1 FROM month_closures WHERE broadcast_month = ?", (month,)
            ).fetchone():
                raise BookedBizError(f"{broadcast_calendar.label(month)} is already closed.")
            if not conn.execute(
                "SELECT 1 FROM spots WHERE broadcast_month = ? LIMIT 1", (month,)
            ).fetchone():
                raise BookedBizError(
                    f"{broadcast_calendar.label(month)} has no spots; import its data first."
                )
            close_months(conn, [month], by.strip(), reason or "closed by hand")
            if on_change is not None:
                on_change(conn, [month], "close")
    finally:
        conn.close()
    return month


def reopen_month(db_path: Path, month_text: str, by: str, reason: str,
                 on_change: StatusHook | None = None) -> str:
    """Reopen a closed month; needs who and why, both kept in the audit trail."""
    month = parse_month_argument(month_text)
    if not by or not by.strip():
        raise ConfigError("Say who reopens the month with --by NAME.")
    if not reason or not reason.strip():
        raise ConfigError("Reopening a month needs a reason (--reason TEXT).")
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            cur = conn.execute("DELETE FROM month_closures WHERE broadcast_month = ?", (month,))
            if cur.rowcount == 0:
                raise BookedBizError(f"{broadcast_calendar.label(month)} is not closed.")
            conn.execute(
                "INSERT INTO month_closure_events (broadcast_month, action, actor, reason, at) "
                "VALUES (?, 'reopen', ?, ?, ?)",
                (month, by.strip(), reason.strip(), utc_now()),
            )
            if on_change is not None:
                on_change(conn, [month], "reopen")
    finally:
        conn.close()
    return month


def list_months(conn: sqlite3.Connection, year: int | None = None) -> list[dict[str, object]]:
    """Every month of ``year`` (all years when None) with data or a closure: status, who closed
    it, spots and gross (non-Trade). Reads only the year asked for (a month-range scan of the
    summary) and probes closures by index."""
    first, last = (f"{year:04d}-01", f"{year:04d}-12") if year else ("0000-00", "9999-99")
    rows = conn.execute(
        "WITH m AS (SELECT broadcast_month, SUM(spots) AS spots, SUM(gross_micros) AS gross "
        "FROM spot_summary WHERE broadcast_month BETWEEN ? AND ? GROUP BY broadcast_month "
        "UNION ALL SELECT c.broadcast_month, 0, 0 FROM month_closures c "
        "WHERE c.broadcast_month BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM "
        "spot_summary s WHERE s.broadcast_month = c.broadcast_month)) "
        "SELECT m.broadcast_month, m.spots, m.gross, c.closed_at, c.closed_by "
        "FROM m LEFT JOIN month_closures c USING (broadcast_month) ORDER BY m.broadcast_month",
        (first, last, first, last),
    ).fetchall()
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
