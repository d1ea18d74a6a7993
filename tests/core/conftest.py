"""Workbooks for the data-core tests: generated once per session, plus hand-made bad files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from bookedbiz.synth.generator import LogSpec
from bookedbiz.synth.writer import write_log

DATA_TABLES = (
    "spots", "customers", "agencies", "customer_aliases", "agency_aliases", "aes", "ae_aliases",
    "markets", "language_assignments", "spot_summary", "month_closures", "month_closure_events",
    "booking_history", "history_records",
)


@pytest.fixture(scope="session")
def workbooks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("workbooks")
    specs = {
        "daily": LogSpec("2025-10", 4, 600, seed=3, kind="daily"),
        "daily_b": LogSpec("2025-10", 4, 500, seed=4, kind="daily"),
        "recap": LogSpec("2024-01", 3, 800, seed=5, kind="recap"),
    }
    paths = {}
    for name, spec in specs.items():
        paths[name] = folder / f"{name}.xlsx"
        write_log(spec, paths[name])
    return paths


def alembic_upgrade(db: Path, revision: str = "head") -> None:
    """Run the Alembic chain on ``db`` up to ``revision`` (migration tests start from an older
    revision, which ``init`` never leaves behind)."""
    from alembic import command

    from bookedbiz.db.connection import create_db_engine
    from bookedbiz.db.migrate import _alembic_config

    engine = create_db_engine(db)
    with engine.begin() as connection:
        cfg = _alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    engine.dispose()


# Left out of every_table: the audit trail an audited change writes, and bookkeeping.
UNAUDITED = ("audit_log", "alembic_version", "sqlite_sequence")


def every_table(db: Path | str) -> dict[str, list[tuple]]:
    """Every row of every table but the audit trail, sorted: 'the exact state' (of a SQLite
    file, or of a PostgreSQL database given by its URL)."""
    if "://" in str(db):
        return _every_server_table(str(db))
    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if t not in UNAUDITED]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in tables}
    finally:
        conn.close()


def _every_server_table(url: str) -> dict[str, list[tuple]]:
    from sqlalchemy import select

    from bookedbiz.db.access import Database
    from bookedbiz.db.schema import metadata

    database = Database(url)
    try:
        with database.reading() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
                    for t in metadata.sorted_tables if t.name not in UNAUDITED}
    finally:
        database.dispose()


def query_rows(db: Path, sql: str, *params: object) -> list[tuple]:
    """Every row of one query on ``db``, read with plain sqlite3 (not the code under test)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def data_checksum(db: Path | str) -> str:
    """A digest of every row of every data table: equal means 'exactly as before' (a URL: the
    same digest of the PostgreSQL database, tests/core/dbstate.py)."""
    if "://" in str(db):
        from tests.core.dbstate import checksum

        return checksum(str(db), DATA_TABLES)
    digest = hashlib.sha256()
    conn = sqlite3.connect(db)
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        for table in DATA_TABLES:
            if table not in tables:  # an older schema: its absence is part of the state
                digest.update(f"no table {table}".encode())
                continue
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
    finally:
        conn.close()
    return digest.hexdigest()
