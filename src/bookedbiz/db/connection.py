"""Opening the SQLite database: one place that sets pragmas, read-only mode and busy handling."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bookedbiz.errors import BookedBizError, DatabaseBusyError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Engine

# How long a writer waits for another writer before giving up (BOOKEDBIZ_BUSY_TIMEOUT_MS).
BUSY_TIMEOUT_MS = 10_000
# Tests set extra pragmas here (e.g. max_page_count to simulate a full disk).
EXTRA_PRAGMAS: dict[str, object] = {}


def utc_now() -> str:
    """Timestamps are stored as ISO-8601 UTC text with a 'Z', sortable and unambiguous."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _apply_pragmas(conn: sqlite3.Connection, readonly: bool, busy_ms: int) -> None:
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")
    for name, value in EXTRA_PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {int(value)}")  # type: ignore[call-overload]


def connect(
    path: str | Path, *, readonly: bool = False, busy_ms: int | None = None
) -> sqlite3.Connection:
    """A raw sqlite3 connection in autocommit mode; callers open transactions explicitly."""
    if busy_ms is None:
        busy_ms = int(os.environ.get("BOOKEDBIZ_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"The database {path} does not exist.")
    uri = f"file:{path.resolve().as_posix()}{'?mode=ro' if readonly else ''}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        _apply_pragmas(conn, readonly, busy_ms)
    except sqlite3.DatabaseError as exc:
        raise translate_error(exc, path) from None
    return conn


def create_db_engine(path: str | Path, *, readonly: bool = False, pool_size: int = 5) -> Engine:
    """A SQLAlchemy engine over :func:`connect`, so Core queries get the same pragmas.

    Read-only engines keep a thread-safe pool (the web app serves requests from a thread pool);
    each transaction starts with BEGIN, so every query of a page or report sees one snapshot.
    SQLAlchemy is imported here, not at module level: the daily import does not need it and
    start-up time counts on a Raspberry Pi."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool, QueuePool

    path = Path(path)
    if readonly:
        pooling = {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": pool_size}
    else:
        pooling = {"poolclass": NullPool}
    engine = create_engine("sqlite://", creator=lambda: connect(path, readonly=readonly),
                           **pooling)

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001 - SQLAlchemy hook
        conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; busy/full become clear errors."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise translate_error(exc) from None
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            raise translate_error(exc) from None
        raise


def translate_error(exc: sqlite3.DatabaseError, path: Path | None = None) -> BookedBizError:
    """Turn SQLite's messages into one sentence a user can act on."""
    text = str(exc).lower()
    where = f" {path}" if path else ""
    if "locked" in text or "busy" in text:
        return DatabaseBusyError(
            f"The database{where} is busy: another process is writing to it; try again shortly."
        )
    if "full" in text:
        return BookedBizError(
            f"The disk holding the database{where} is full; nothing was changed. Free space "
            "and run again."
        )
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return BookedBizError(f"The file{where} is not a usable SQLite database ({exc}).")
    if "readonly" in text or "read-only" in text:
        return BookedBizError(f"The database{where} is read-only for this user.")
    if "unable to open" in text:
        return NotFoundError(f"The database{where} cannot be opened ({exc}).")
    return BookedBizError(f"Database error: {exc}.")
