"""The ``spot_summary`` table: non-Trade revenue per month and reporting dimension.

Imports build the rows of the months they replace in Python while inserting (no second pass);
merges and repairs call :func:`refresh_summary`, the SQL definition of the same aggregate, which
the tests compare against the import's result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

SUMMARY_COLUMNS = (
    "broadcast_month", "ae_id", "customer_id", "agency_id", "market_code", "revenue_type",
    "spot_type", "language_bucket", "gross_micros", "net_micros", "spots",
)
INSERT_SUMMARY = (
    f"INSERT INTO spot_summary ({', '.join(SUMMARY_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in SUMMARY_COLUMNS)})"
)


def refresh_summary(conn: sqlite3.Connection, months: Iterable[str]) -> None:
    """Rebuild the summary rows of ``months`` from ``spots`` (caller holds the transaction)."""
    for month in sorted(set(months)):
        conn.execute("DELETE FROM spot_summary WHERE broadcast_month = ?", (month,))
        conn.execute(
            "INSERT INTO spot_summary (broadcast_month, ae_id, customer_id, agency_id, market_code,"
            " revenue_type, spot_type, language_bucket, gross_micros, net_micros, spots) "
            "SELECT s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'),"
            " COALESCE(SUM(s.gross_rate_micros), 0), COALESCE(SUM(s.station_net_micros), 0),"
            " COUNT(*) "
            "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
            "WHERE s.broadcast_month = ? AND s.is_trade = 0 "
            "GROUP BY s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
            " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review')",
            (month,),
        )


def write_summary(
    conn: sqlite3.Connection, months: Iterable[str], groups: dict[tuple, list[int]]
) -> None:
    """Replace the summary of ``months`` with pre-aggregated ``groups`` (key → [gross, net, n])."""
    for month in sorted(set(months)):
        conn.execute("DELETE FROM spot_summary WHERE broadcast_month = ?", (month,))
    conn.executemany(INSERT_SUMMARY, (key + tuple(sums) for key, sums in groups.items()))
