"""Revision 0012 (stations): a database at 0011 with imports, history and closed months
upgrades; every spot, summary row, history row and closure now belongs to station 1 (MAIN), and
every figure — totals, closures and a pacing report — is exactly as before."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

from tests.core.history_logs import log_days, make_orders, write_daily_log

from bookedbiz.db.access import writing_to
from bookedbiz.db.connection import create_db_engine
from bookedbiz.ingest.service import import_workbook
from bookedbiz.months import close_months
from bookedbiz.reports.pacing import pacing_report

AS_OF = date(2025, 3, 10)
STATION_TABLES = ("import_batches", "spots", "spot_summary", "booking_history",
                  "history_records", "month_closure_events", "month_closures")


def _pacing(db: Path) -> dict:
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            return pacing_report(conn, as_of=AS_OF, by="ae")
    finally:
        engine.dispose()


def _figures(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(db)
    try:
        return {
            "spots": conn.execute("SELECT COUNT(*), SUM(gross_rate_micros), "
                                  "SUM(station_net_micros) FROM spots").fetchone(),
            "summary": conn.execute("SELECT broadcast_month, SUM(gross_micros), "
                                    "SUM(net_micros), SUM(spots) FROM spot_summary "
                                    "GROUP BY 1 ORDER BY 1").fetchall(),
            "history": conn.execute("SELECT COUNT(*), SUM(gross_micros), SUM(net_micros), "
                                    "COUNT(valid_to) FROM booking_history").fetchone(),
            "records": conn.execute("SELECT COUNT(*) FROM history_records").fetchone(),
            "closures": conn.execute("SELECT broadcast_month, closed_by FROM month_closures "
                                     "ORDER BY 1").fetchall(),
            "batches": conn.execute("SELECT COUNT(*), SUM(rows_inserted) FROM import_batches")
            .fetchone(),
        }
    finally:
        conn.close()


def _as_at_0011(db: Path) -> None:
    """Give the tables revision 0012 changed their 0011 shape (no station_id, month key only,
    ix_spots_month), drop the stations table, and mark the database 0011."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA legacy_alter_table = ON")  # other tables keep naming the real table
    conn.execute("BEGIN")
    for table in STATION_TABLES:
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                           (table,)).fetchone()[0]
        indexes = [sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS "
            "NOT NULL", (table,))]
        old = re.sub(r"\s*station_id INTEGER[^,]*,", "", ddl, count=1)
        old = re.sub(r",?\s*FOREIGN KEY\(station_id\) REFERENCES stations \(station_id\)", "",
                     old)
        old = old.replace("PRIMARY KEY (station_id, broadcast_month)",
                          "PRIMARY KEY (broadcast_month)")
        assert "station_id" not in old, old
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")
                   if r[1] != "station_id"]
        conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
        conn.execute(old)
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                     f"FROM old_{table}")
        conn.execute(f"DROP TABLE old_{table}")
        for sql in indexes:
            if "station_id" not in sql:
                conn.execute(sql)
    conn.execute("CREATE INDEX ix_spots_month ON spots (broadcast_month)")
    conn.execute("DROP TABLE stations")
    conn.execute("UPDATE alembic_version SET version_num = '0011'")
    conn.execute("COMMIT")
    conn.close()


def test_revision_0012_puts_everything_on_station_main_and_moves_no_money(
        tmp_path: Path) -> None:
    from bookedbiz.db.migrate import SCHEMA_HEAD, current_version, init_database

    db = tmp_path / "old.db"
    init_database(db)
    orders = make_orders("2023-12", "2025-08")
    for day in log_days(date(2024, 2, 5), AS_OF, 35):
        import_workbook(db, write_daily_log(orders, day, tmp_path), auto_setup=True)
    with writing_to(db) as conn:
        close_months(conn, ["2024-01", "2024-02"], "Finance", "month end", None)
    before, report = _figures(db), _pacing(db)  # read at head: 0011's code is gone
    _as_at_0011(db)
    assert _figures(db) == before
    assert before["spots"][0] > 0 and len(before["closures"]) == 2 and report["group_totals"]

    init_database(db)

    assert current_version(db) == SCHEMA_HEAD
    assert _figures(db) == before
    assert _pacing(db) == report
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT station_id, code FROM stations").fetchall() == [(1, "MAIN")]
        for table in STATION_TABLES:
            stations = {r[0] for r in conn.execute(f"SELECT DISTINCT station_id FROM {table}")}
            assert stations <= {1}, table
        assert conn.execute("SELECT COUNT(*) FROM month_closures WHERE station_id = 1")\
            .fetchone() == (2,)
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(spots)")}
        assert "ix_spots_month_station" in indexes and "ix_spots_month" not in indexes
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    init_database(db)  # a second upgrade changes nothing
    assert _figures(db) == before
    # and the importer goes on writing to the upgraded file
    later = write_daily_log(orders, date(2025, 3, 17), tmp_path)
    assert import_workbook(db, later, auto_setup=True).status == "completed"
