"""Database access for the web app: one :class:`Database` per process, one read-only snapshot
per request.

Every page, export and API call of a request reads through one Core connection in one
read-only snapshot transaction (what ``Database.reading()`` gives: SQLite ``BEGIN`` on a
read-only connection, PostgreSQL REPEATABLE READ READ ONLY), so a page can never write by
accident and all its figures come from the same state of the books. Admin actions call the
service functions with :func:`db_target`, which open their own short write transaction.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, g
from sqlalchemy import Connection

from bookedbiz.db.access import Database

DATABASE_KEY = "bookedbiz.database"
READ_POOL_SIZE = 12  # uvicorn runs Flask in a thread pool (a2wsgi workers=8, plus streams)


def open_app_database(target: str | Path) -> Database:
    """The process's database. Engines are made on first use: a missing file or a server that
    is down is a 503 page and an unhealthy /health, not an app that will not start."""
    return Database(target)


def database() -> Database:
    return current_app.extensions[DATABASE_KEY]


def db_target() -> Path | Database:
    """What write services take: the SQLite file (as before), or on a server the app's own
    Database (its pools are reused; ``db.access.opened`` never disposes one passed in)."""
    db = database()
    return db.path if db.path is not None else db


def db_path() -> Path | Database:
    """The name the blueprints' write actions use (see :func:`db_target`)."""
    return db_target()


def snapshot(db: Database) -> Connection:
    """A Core connection inside a read-only snapshot transaction (the caller closes it, which
    ends the transaction): ``Database.reading()`` without the with-block, for a request or a
    streamed response whose life is not one Python block."""
    conn = db.engine("read", pool_size=READ_POOL_SIZE).connect()
    if not db.is_sqlite:
        conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                      postgresql_readonly=True)
    conn.begin()
    return conn


def read_conn() -> Connection:
    """The request's read-only snapshot connection, opened on first use, closed at teardown."""
    conn = g.get("_bookedbiz_conn")
    if conn is None:
        conn = snapshot(database())
        g._bookedbiz_conn = conn
    return conn


def close_conn(_exc: BaseException | None = None) -> None:
    conn = g.pop("_bookedbiz_conn", None)
    if conn is not None:
        conn.close()
