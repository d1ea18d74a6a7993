"""Database access for the web app: one pooled read-only engine, one connection per request.

Reports read through a read-only connection (a page can never write by accident); admin actions
call the service functions with the database path, which open their own short write transaction.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, g
from sqlalchemy import Connection, Engine

from bookedbiz.db.connection import create_db_engine

ENGINE_KEY = "bookedbiz.engine"


def make_read_engine(path: Path, pool_size: int = 12) -> Engine:
    """A pool of read-only connections (uvicorn runs Flask in a thread pool)."""
    return create_db_engine(path, readonly=True, pool_size=pool_size)


def db_path() -> Path:
    return Path(current_app.config["DATABASE_PATH"])


def read_conn() -> Connection:
    """The request's read-only connection, opened on first use and closed at teardown."""
    conn = g.get("_bookedbiz_conn")
    if conn is None:
        conn = current_app.extensions[ENGINE_KEY].connect()
        g._bookedbiz_conn = conn
    return conn


def close_conn(_exc: BaseException | None = None) -> None:
    conn = g.pop("_bookedbiz_conn", None)
    if conn is not None:
        conn.close()
