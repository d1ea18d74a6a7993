"""schema.py's month check in each dialect: SQLite's DDL exactly as before (GLOB), PostgreSQL
a regular expression; and the SQLite file still refuses a malformed month."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from bookedbiz.db.migrate import init_database
from bookedbiz.db.schema import MONTH_CHECK, MONTH_CHECK_POSTGRESQL, metadata

SHAPED = ("spots", "month_closures", "budgets", "forecasts")


@pytest.mark.parametrize("table", SHAPED)
def test_each_dialect_gets_its_own_month_check(table: str) -> None:
    on_sqlite = str(CreateTable(metadata.tables[table]).compile(dialect=sqlite.dialect()))
    on_pg = str(CreateTable(metadata.tables[table]).compile(dialect=postgresql.dialect()))
    assert MONTH_CHECK in on_sqlite and MONTH_CHECK_POSTGRESQL not in on_sqlite
    assert MONTH_CHECK_POSTGRESQL in on_pg and "GLOB" not in on_pg
    assert on_sqlite.count("_month_shape") == 1 and on_pg.count("_month_shape") == 1


def test_sqlite_still_refuses_a_malformed_month(tmp_path: Path) -> None:
    path = tmp_path / "bb.db"
    init_database(path)
    conn = sqlite3.connect(path)
    try:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'month_closures'").fetchone()
        assert "GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'" in sql[0]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO month_closures (broadcast_month, closed_at, closed_by) "
                         "VALUES ('2026-1', 'now', 'test')")
    finally:
        conn.close()


def test_spot_references_are_enforced_on_sqlite_only(tmp_path: Path, pg_url: str) -> None:
    """schema.spot_references: SQLite keeps the spot's five references (the importer turns them
    off on its own connection), a server database has none on spots (they were half of COPY)."""
    from sqlalchemy import inspect

    from bookedbiz.db.access import Database
    from bookedbiz.db.migrate import init_server_database

    path = tmp_path / "bb.db"
    init_database(path)
    conn = sqlite3.connect(path)
    try:
        referenced = {r[2] for r in conn.execute("PRAGMA foreign_key_list(spots)")}
    finally:
        conn.close()
    assert referenced == {"import_batches", "stations", "aes", "customers", "agencies"}
    init_server_database(pg_url)
    db = Database(pg_url)
    try:
        with db.reading() as pg:
            assert inspect(pg).get_foreign_keys("spots") == []
            assert inspect(pg).get_foreign_keys("language_assignments") == []
            assert inspect(pg).get_foreign_keys("spot_summary") == []
            assert inspect(pg).get_foreign_keys("import_batches")  # the rest are kept
    finally:
        db.dispose()
