"""Month close and reopen, with an audit trail; a closed month is frozen for daily imports."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar
from bookedbiz.db.access import Database, open_database
from bookedbiz.db.connection import utc_now
from bookedbiz.db.schema import MAIN_STATION_ID
from bookedbiz.errors import BookedBizError, ConfigError

# Called inside the close/reopen transaction with (connection, months, "close" | "reopen",
# station_id=…): the booking history records the station's month state there (passed in by
# the caller, since this module may not import bookedbiz.history).
StatusHook = Callable[..., object]


def parse_month_argument(text: str) -> str:
    """``Jan-25`` or ``2025-01`` (and other readable forms) → ``2025-01``; else a usage error."""
    month = broadcast_calendar.parse_month(text)
    if month is None:
        raise ConfigError(f"'{text}' is not a month; write it as Jan-25 or 2025-01.")
    return month


def _execute(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    return conn.execute(text(sql), params)


def close_months(
    conn: Connection,
    months: Iterable[str],
    actor: str,
    reason: str,
    batch_id: int | None = None,
    *,
    station_id: int = MAIN_STATION_ID,
) -> None:
    """Close (or re-close) station ``station_id``'s ``months`` inside the caller's transaction,
    recording events; other stations' months stay as they are."""
    now = utc_now()
    sid = int(station_id)
    for month in months:
        values = {"sid": sid, "month": month, "now": now, "actor": actor, "batch": batch_id,
                  "reason": reason}
        _execute(conn,
                 "INSERT INTO month_closures (station_id, broadcast_month, closed_at, "
                 "closed_by, batch_id, notes) VALUES (:sid, :month, :now, :actor, :batch, "
                 ":reason) ON CONFLICT (station_id, broadcast_month) DO UPDATE SET "
                 "closed_at = excluded.closed_at, closed_by = excluded.closed_by, "
                 "batch_id = excluded.batch_id, notes = excluded.notes", values)
        _execute(conn,
                 "INSERT INTO month_closure_events (station_id, broadcast_month, action, "
                 "actor, reason, at) VALUES (:sid, :month, 'close', :actor, :reason, :now)",
                 values)


def closed_months(conn: Connection, station_id: int) -> set[str]:
    """The months station ``station_id`` has closed."""
    return {m for (m,) in conn.execute(text(
        "SELECT broadcast_month FROM month_closures WHERE station_id = :sid"),
        {"sid": int(station_id)})}


def _station(conn: Connection, station: str | int | None) -> int:
    """The id of station ``station`` (a code, or an id; the configured STATION_CODE when None).
    An unknown code is one sentence naming the known ones (as entities.stations says it, which
    this module may not import)."""
    if isinstance(station, int):
        return station
    if station is None:
        from bookedbiz.config import cached_settings

        station = cached_settings().station_code
    found = conn.execute(text("SELECT station_id FROM stations WHERE code = :code"),
                         {"code": station.strip().upper()}).scalar()
    if found is None:
        known = ", ".join(c for (c,) in conn.execute(text(
            "SELECT code FROM stations ORDER BY code")))
        raise ConfigError(f"There is no station '{station[:30]}'; the known stations are "
                          f"{known or 'none'} (add one with 'bookedbiz stations add').")
    return int(found)


def _call_hook(on_change: StatusHook | None, conn: Connection, months: list[str], action: str,
               station_id: int) -> None:
    if on_change is not None:
        on_change(conn, months, action, station_id=station_id)


def _for_station(conn: Connection, station_id: int, several: bool) -> str:
    """' for KXYZ' when the database has several stations (messages stay as they were for one)."""
    if not several:
        return ""
    code = conn.execute(text("SELECT code FROM stations WHERE station_id = :sid"),
                        {"sid": station_id}).scalar()
    return f" for {code}"


def _several_stations(conn: Connection) -> bool:
    return int(conn.execute(text("SELECT COUNT(*) FROM stations")).scalar_one()) > 1


def close_month(database: Database | str | Path, month_text: str, by: str,
                reason: str | None = None, on_change: StatusHook | None = None, *,
                station: str | int | None = None) -> str:
    """Close one month of one station (``station`` code, default the configured one) that has
    data there; closing a closed month is an error. Other stations' month stays open."""
    month = parse_month_argument(month_text)
    if not by or not by.strip():
        raise ConfigError("Say who closes the month with --by NAME.")
    db = open_database(database)
    with db.writing() as conn:
        sid = _station(conn, station)
        where = _for_station(conn, sid, _several_stations(conn))
        values = {"month": month, "sid": sid}
        if conn.execute(text("SELECT 1 FROM month_closures WHERE broadcast_month = :month "
                             "AND station_id = :sid"), values).first():
            raise BookedBizError(f"{broadcast_calendar.label(month)} is already closed{where}.")
        if not conn.execute(text("SELECT 1 FROM spots WHERE broadcast_month = :month "
                                 "AND station_id = :sid LIMIT 1"), values).first():
            raise BookedBizError(
                f"{broadcast_calendar.label(month)} has no spots{where}; import its data first.")
        close_months(conn, [month], by.strip(), reason or "closed by hand", station_id=sid)
        _call_hook(on_change, conn, [month], "close", sid)
    return month


def reopen_month(database: Database | str | Path, month_text: str, by: str, reason: str,
                 on_change: StatusHook | None = None, *,
                 station: str | int | None = None) -> str:
    """Reopen one station's closed month; needs who and why, both kept in the audit trail."""
    month = parse_month_argument(month_text)
    if not by or not by.strip():
        raise ConfigError("Say who reopens the month with --by NAME.")
    if not reason or not reason.strip():
        raise ConfigError("Reopening a month needs a reason (--reason TEXT).")
    db = open_database(database)
    with db.writing() as conn:
        sid = _station(conn, station)
        values = {"month": month, "sid": sid, "actor": by.strip(), "reason": reason.strip(),
                  "now": utc_now()}
        deleted = conn.execute(text("DELETE FROM month_closures WHERE broadcast_month = :month "
                                    "AND station_id = :sid"), values).rowcount
        if deleted == 0:
            where = _for_station(conn, sid, _several_stations(conn))
            raise BookedBizError(f"{broadcast_calendar.label(month)} is not closed{where}.")
        conn.execute(text(
            "INSERT INTO month_closure_events (station_id, broadcast_month, action, actor, "
            "reason, at) VALUES (:sid, :month, 'reopen', :actor, :reason, :now)"), values)
        _call_hook(on_change, conn, [month], "reopen", sid)
    return month


def list_months(conn: Connection, year: int | None = None, *,
                station_id: int | None = None) -> list[dict[str, object]]:
    """Every month of ``year`` (all years when None) with data or a closure: status, who closed
    it, spots and gross (non-Trade). Of one station, or of every station when ``station_id`` is
    None: then a month is closed when every station with data or a closure in it closed it
    (the latest close is shown). Reads only the year asked for (a month-range scan of the
    summary) and probes closures by index."""
    first, last = (f"{year:04d}-01", f"{year:04d}-12") if year else ("0000-00", "9999-99")
    only, only_c = (("AND station_id = :sid", "AND c.station_id = :sid")
                    if station_id is not None else ("", ""))
    sql = (
        "WITH m AS (SELECT broadcast_month, station_id, SUM(spots) AS spots, "
        "SUM(gross_micros) AS gross FROM spot_summary WHERE broadcast_month BETWEEN :first "
        f"AND :last {only} GROUP BY broadcast_month, station_id "
        "UNION ALL SELECT c.broadcast_month, c.station_id, 0, 0 FROM month_closures c "
        f"WHERE c.broadcast_month BETWEEN :first AND :last {only_c} AND NOT EXISTS (SELECT 1 "
        "FROM spot_summary s WHERE s.broadcast_month = c.broadcast_month "
        "AND s.station_id = c.station_id)) "
        "SELECT m.broadcast_month, m.spots, m.gross, c.closed_at, c.closed_by "
        "FROM m LEFT JOIN month_closures c ON c.broadcast_month = m.broadcast_month "
        "AND c.station_id = m.station_id ORDER BY m.broadcast_month")
    params: dict[str, Any] = {"first": first, "last": last, "sid": station_id}
    rows = _execute(conn, sql, params).fetchall()
    months: dict[str, dict[str, Any]] = {}
    for month, spots, gross, closed_at, closed_by in rows:
        entry = months.get(month)
        if entry is None:
            entry = months[month] = {"month": month, "spots": 0, "gross_micros": 0,
                                     "open": False, "closed_at": None, "closed_by": None}
        entry["spots"] += int(spots or 0)
        entry["gross_micros"] += int(gross or 0)
        if not closed_at:
            entry["open"] = True
        elif entry["closed_at"] is None or closed_at > entry["closed_at"]:
            entry["closed_at"], entry["closed_by"] = closed_at, closed_by
    return [
        {
            "month": month,
            "label": broadcast_calendar.label(month),
            "status": "open" if entry["open"] else "closed",
            "closed_at": None if entry["open"] else entry["closed_at"],
            "closed_by": None if entry["open"] else entry["closed_by"],
            "spots": entry["spots"],
            "gross_micros": entry["gross_micros"],
            "weeks": broadcast_calendar.broadcast_weeks(month),
        }
        for month, entry in months.items()
    ]
