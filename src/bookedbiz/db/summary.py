"""The ``spot_summary`` table: non-Trade revenue per month and reporting dimension.

Imports build the rows of the months they replace in Python while inserting (no second pass);
merges and repairs call :func:`refresh_summary`, the SQL definition of the same aggregate, which
the tests compare against the import's result.

Each group also carries the calendar month of its air dates and whether it bills on calendar
months, so a report can group by broadcast month, calendar month or each spot's billing type
(the month basis of SPEC §1.2) from the same rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

SUMMARY_COLUMNS = (
    "broadcast_month", "ae_id", "customer_id", "agency_id", "market_code", "revenue_type",
    "spot_type", "language_bucket", "calendar_month", "bills_calendar", "gross_micros",
    "net_micros", "spots",
)
INSERT_SUMMARY = (
    f"INSERT INTO spot_summary ({', '.join(SUMMARY_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in SUMMARY_COLUMNS)})"
)


def refresh_summary(conn: sqlite3.Connection, months: Iterable[str]) -> None:
    """Rebuild the summary rows of ``months`` from ``spots`` (caller holds the transaction).

    Also correct on a summary older than revision 0007 (no calendar columns), which the
    migrations before it rebuild through this function; 0007 then rebuilds it whole."""
    months = sorted(set(months))
    if not months:
        return
    calendar = "calendar_month" in {r[1] for r in conn.execute("PRAGMA table_info(spot_summary)")}
    columns = SUMMARY_COLUMNS if calendar else tuple(
        c for c in SUMMARY_COLUMNS if c not in ("calendar_month", "bills_calendar"))
    basis = (", substr(s.air_date, 1, 7), COALESCE(s.billing_type = 'Calendar', 0)"
             if calendar else "")
    for month in months:
        conn.execute("DELETE FROM spot_summary WHERE broadcast_month = ?", (month,))
        conn.execute(
            f"INSERT INTO spot_summary ({', '.join(columns)}) "  # noqa: S608 - fixed text
            "SELECT s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            f" s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'){basis},"
            " COALESCE(SUM(s.gross_rate_micros), 0), COALESCE(SUM(s.station_net_micros), 0),"
            " COUNT(*) "
            "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
            "WHERE s.broadcast_month = ? AND s.is_trade = 0 "
            "GROUP BY s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            f" s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'){basis}",
            (month,),
        )


def refresh_summary_of(conn: sqlite3.Connection, months: Iterable[str], column: str,
                       ids: Iterable[int]) -> None:
    """Rebuild only the summary rows of ``months`` whose ``column`` (customer_id or agency_id)
    is one of ``ids``: what a merge changes. The other rows of those months are untouched, and
    only the spots of those ids are aggregated (a merge need not re-read whole months)."""
    assert column in ("customer_id", "agency_id")
    wanted = sorted(set(ids))
    marks = ", ".join("?" for _ in wanted)
    for month in sorted(set(months)):
        conn.execute(f"DELETE FROM spot_summary WHERE broadcast_month = ? "  # noqa: S608
                     f"AND {column} IN ({marks})", (month, *wanted))
        conn.execute(
            f"INSERT INTO spot_summary ({', '.join(SUMMARY_COLUMNS)}) "  # noqa: S608
            "SELECT s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'),"
            " substr(s.air_date, 1, 7), COALESCE(s.billing_type = 'Calendar', 0),"
            " COALESCE(SUM(s.gross_rate_micros), 0), COALESCE(SUM(s.station_net_micros), 0),"
            " COUNT(*) "
            "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
            f"WHERE s.broadcast_month = ? AND s.{column} IN ({marks}) AND s.is_trade = 0 "
            "GROUP BY s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'),"
            " substr(s.air_date, 1, 7), COALESCE(s.billing_type = 'Calendar', 0)",
            (month, *wanted),
        )


def write_summary(
    conn: sqlite3.Connection, months: Iterable[str], groups: dict[tuple, list[int]]
) -> None:
    """Replace the summary of ``months`` with pre-aggregated ``groups`` (key → [gross, net, n])."""
    for month in sorted(set(months)):
        conn.execute("DELETE FROM spot_summary WHERE broadcast_month = ?", (month,))
    conn.executemany(INSERT_SUMMARY, (key + tuple(sums) for key, sums in groups.items()))
