"""Revision 0011: the narrow spot_summary index that pacing by customer reads last year's finals
from. A database at 0010 with data upgrades, keeps every row and figure, and the finals query
is answered from the new index."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from tests.core.history_logs import log_days, make_orders, write_daily_log

from bookedbiz.db.connection import create_db_engine
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.pacing import pacing_report

INDEX = "ix_spot_summary_month_customer"
AS_OF = date(2025, 3, 10)


def _pacing(db: Path) -> dict:
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            return pacing_report(conn, as_of=AS_OF, by="customer")
    finally:
        engine.dispose()


def _totals(db: Path) -> tuple:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT COUNT(*), SUM(gross_rate_micros) FROM spots").fetchone(),
                conn.execute("SELECT COUNT(*), SUM(gross_micros), SUM(net_micros), SUM(spots) "
                             "FROM spot_summary").fetchone(),
                conn.execute("SELECT COUNT(*), SUM(gross_micros) FROM booking_history")
                .fetchone())
    finally:
        conn.close()


def test_revision_0011_adds_the_index_and_keeps_every_figure(tmp_path: Path) -> None:
    from bookedbiz.db.migrate import SCHEMA_HEAD, current_version, init_database

    db = tmp_path / "old.db"
    init_database(db)
    orders = make_orders("2023-12", "2025-08")
    for day in log_days(date(2024, 2, 5), AS_OF, 28):
        import_workbook(db, write_daily_log(orders, day, tmp_path), auto_setup=True)
    conn = sqlite3.connect(db)
    conn.execute(f"DROP INDEX {INDEX}")  # as a database at 0010 is
    conn.execute("UPDATE alembic_version SET version_num = '0010'")
    conn.commit()
    conn.close()
    before, report = _totals(db), _pacing(db)
    assert before[0][0] > 0 and report["group_totals"]

    init_database(db)

    assert current_version(db) == SCHEMA_HEAD
    assert _totals(db) == before
    assert _pacing(db) == report  # identical rows, totals and last year's finals
    conn = sqlite3.connect(db)
    try:
        columns = [r[2] for r in conn.execute(f"PRAGMA index_info({INDEX})")]
        assert columns == ["broadcast_month", "customer_id", "gross_micros", "net_micros",
                           "spots", "station_id"]  # station_id since revision 0012
        plan = " ".join(str(r[-1]) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT ss.broadcast_month, ss.customer_id, "
            "SUM(ss.gross_micros), SUM(ss.net_micros), SUM(ss.spots) FROM spot_summary ss "
            "WHERE ss.broadcast_month BETWEEN '2024-01' AND '2025-01' GROUP BY 1, 2"))
        assert f"COVERING INDEX {INDEX}" in plan
    finally:
        conn.close()
    init_database(db)  # a second upgrade changes nothing
    assert _totals(db) == before
