"""The ``spot_summary`` table: non-Trade revenue per station, month and reporting dimension.

Imports build the rows of the months they replace in Python while inserting (no second pass);
merges and repairs call :func:`refresh_summary`, the SQL definition of the same aggregate, which
the tests compare against the import's result.

Each group also carries the calendar month of its air dates and whether it bills on calendar
months, so a report can group by broadcast month, calendar month or each spot's billing type
(the month basis of SPEC §1.2) from the same rows.

The refresh functions take a Core connection (both databases, the current schema) or, for the
SQLite migrations that run before revisions 0007/0012 on older schemas, a raw ``sqlite3``
connection: the SQL is the same text with named parameters, which both accept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from bookedbiz.db.bulk import insert_rows

SUMMARY_COLUMNS = (
    "broadcast_month", "ae_id", "customer_id", "agency_id", "market_code", "revenue_type",
    "spot_type", "language_bucket", "calendar_month", "bills_calendar", "gross_micros",
    "net_micros", "spots",
)
_BASIS = ("substr(s.air_date, 1, 7)", "COALESCE(s.billing_type, '') = 'Calendar'")


def _execute(conn: Connection | sqlite3.Connection, sql: str, params: dict[str, Any]) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute(sql, params)
    else:
        conn.execute(text(sql), params)


def _present(conn: Connection | sqlite3.Connection) -> set[str]:
    """Which optional columns the summary has: all of them on a Core connection (the schema is
    current there); on a raw sqlite3 connection, what the migrating schema has so far."""
    if not isinstance(conn, sqlite3.Connection):
        return {"calendar_month", "station_id"}
    return {r[1] for r in conn.execute("PRAGMA table_info(spot_summary)")}


def _rebuild(conn: Connection | sqlite3.Connection, months: Iterable[str], where: str,
             params: dict[str, Any]) -> None:
    """Delete and re-aggregate the summary rows of each month matching ``where`` (on the
    summary, unaliased, and on the spots as ``s``; fixed text from this module)."""
    present = _present(conn)
    keys = ["s.broadcast_month"] + (["s.station_id"] if "station_id" in present else []) + [
        "s.ae_id", "s.customer_id", "s.agency_id", "s.market_code", "s.revenue_type",
        "s.spot_type", "COALESCE(la.report_bucket, '~review')"]
    columns = [c for c in SUMMARY_COLUMNS[:8]]
    if "station_id" in present:
        columns.insert(1, "station_id")
    if "calendar_month" in present:
        keys += list(_BASIS)
        columns += ["calendar_month", "bills_calendar"]
    columns += ["gross_micros", "net_micros", "spots"]
    group = ", ".join(keys)
    for month in sorted(set(months)):
        values = {**params, "month": month}
        _execute(conn, "DELETE FROM spot_summary WHERE broadcast_month = :month "  # noqa: S608
                 f"AND {where.replace('s.', '')}", values)
        _execute(conn,
                 f"INSERT INTO spot_summary ({', '.join(columns)}) "  # noqa: S608 - fixed text
                 f"SELECT {group}, COALESCE(SUM(s.gross_rate_micros), 0), "
                 "COALESCE(SUM(s.station_net_micros), 0), COUNT(*) "
                 "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
                 f"WHERE s.broadcast_month = :month AND {where} AND NOT s.is_trade "
                 f"GROUP BY {group}", values)


def refresh_summary(conn: Connection | sqlite3.Connection, months: Iterable[str],
                    station_id: int | None = None) -> None:
    """Rebuild the summary rows of ``months`` from ``spots`` (caller holds the transaction):
    of one station, or of every station when ``station_id`` is None.

    Also correct on a summary older than revision 0007 (no calendar columns), which the
    migrations before it rebuild through this function; 0007 then rebuilds it whole."""
    if station_id is None:
        _rebuild(conn, months, "1 = 1", {})
    else:
        _rebuild(conn, months, "s.station_id = :sid", {"sid": int(station_id)})


def refresh_summary_of(conn: Connection | sqlite3.Connection, months: Iterable[str],
                       column: str, ids: Iterable[int]) -> None:
    """Rebuild only the summary rows of ``months`` whose ``column`` (customer_id or agency_id)
    is one of ``ids``, in every station: what a merge changes. The other rows of those months
    are untouched, and only the spots of those ids are aggregated (a merge need not re-read
    whole months)."""
    assert column in ("customer_id", "agency_id")
    wanted = sorted(set(ids))
    names = {f"id{i}": int(v) for i, v in enumerate(wanted)}
    where = f"s.{column} IN ({', '.join(':' + n for n in names)})" if names else "1 = 0"
    _rebuild(conn, months, where, names)


def write_summary(conn: Connection, months: Iterable[str], groups: dict[tuple, list[int]],
                  station_id: int) -> None:
    """Replace station ``station_id``'s summary of ``months`` with pre-aggregated ``groups``
    (key in SUMMARY_COLUMNS order without the sums → [gross, net, spots])."""
    sid = int(station_id)
    for month in sorted(set(months)):
        conn.execute(text("DELETE FROM spot_summary WHERE broadcast_month = :month "
                          "AND station_id = :sid"), {"month": month, "sid": sid})
    insert_rows(conn, "spot_summary", ("station_id", *SUMMARY_COLUMNS),
                ((sid, *key, *sums) for key, sums in groups.items()))
