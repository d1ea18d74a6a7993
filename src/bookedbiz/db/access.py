"""One way to read and one way to write, on SQLite and PostgreSQL alike (SPEC §4, issue 14).

Every component reaches the database through a :class:`Database`: ``reading()`` gives a Core
connection inside one read-only snapshot transaction, ``writing()`` a Core connection inside the
one write transaction that may run at a time. On SQLite that is ``BEGIN IMMEDIATE`` (the file's
write lock); on PostgreSQL a transaction holding a transaction-scoped advisory lock, so writers
take turns exactly as they do on a Pi and an import assigns its ids without racing another
import. A writer that waits longer than the busy timeout gets the same one-sentence
DatabaseBusyError on both.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookedbiz.db.connection import BUSY_TIMEOUT_MS, connect, translate_error
from bookedbiz.db.server import (
    create_server_engine,
    describe,
    is_server_url,
    parse_database_url,
    translate_server_error,
)
from bookedbiz.errors import BookedBizError, DatabaseBusyError, NotFoundError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

# The advisory lock every PostgreSQL writer holds for its transaction ("bkbwrt").
WRITE_LOCK_KEY = 0x626B_6277_7274


def busy_timeout_ms() -> int:
    return int(os.environ.get("BOOKEDBIZ_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))


class Database:
    """A BookedBiz database: a SQLite file (``path``) or a PostgreSQL server (``url``).

    Engines are made on first use and kept until :meth:`dispose`; a web process keeps one
    ``Database`` for its life, a command one for its run."""

    def __init__(self, target: str | Path) -> None:
        self.url: URL | None = None
        self.path: Path | None = None
        if is_server_url(target):
            self.url = parse_database_url(str(target))
        else:
            self.path = Path(target)
        self._engines: dict[str, Engine] = {}

    # -- what it is -------------------------------------------------------------------------

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql': the one switch dialect-specific code looks at."""
        return "sqlite" if self.path is not None else "postgresql"

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    @property
    def target(self) -> str:
        """What the schema checks and messages take: the file path or the URL (with password;
        never print it, use :meth:`describe`)."""
        if self.path is not None:
            return str(self.path)
        assert self.url is not None
        return self.url.render_as_string(hide_password=False)

    def describe(self) -> str:
        """Where the data is, safe to show: the file, or database/host/port/user."""
        if self.path is not None:
            return str(self.path)
        assert self.url is not None
        return describe(self.url)

    def __repr__(self) -> str:
        return f"Database({self.describe()!r})"

    # -- engines ----------------------------------------------------------------------------

    def engine(self, kind: str = "read", *, pool_size: int = 5) -> Engine:
        """The engine for ``kind`` ('read' or 'write'), made once."""
        engine = self._engines.get(kind)
        if engine is None:
            engine = self._engines[kind] = self._make_engine(kind, pool_size)
        return engine

    def _make_engine(self, kind: str, pool_size: int) -> Engine:
        if self.url is not None:
            return create_server_engine(self.url, pool_size=pool_size)
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import NullPool, QueuePool

        path = self.path
        assert path is not None
        if not path.is_file():
            raise NotFoundError(f"The database {path} does not exist.")
        readonly = kind == "read"
        pooling: dict[str, Any] = (
            {"poolclass": QueuePool, "pool_size": pool_size, "max_overflow": pool_size}
            if readonly else {"poolclass": NullPool})
        engine = create_engine("sqlite://", creator=lambda: connect(path, readonly=readonly),
                               **pooling)
        begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001 - SQLAlchemy hook
            conn.exec_driver_sql(begin)

        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    # -- the two ways in --------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A Core connection in one read-only snapshot: every query of a report sees the same
        data, and nothing can be written through it."""
        with self._translated():
            engine = self.engine("read")
            with engine.connect() as conn:
                if self.url is not None:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                                  postgresql_readonly=True)
                with conn.begin():
                    yield conn

    @contextmanager
    def writing(self, *, busy_ms: int | None = None) -> Iterator[Connection]:
        """The write transaction: committed when the block ends, rolled back on any error, one
        at a time per database (see the module docstring). ``busy_ms`` waits less than the
        busy timeout for another writer (best-effort writes on a request path)."""
        wait = busy_timeout_ms() if busy_ms is None else int(busy_ms)
        with self._translated():
            engine = self.engine("write", pool_size=2)
            with engine.connect() as conn:
                if self.url is None and busy_ms is not None:  # before BEGIN IMMEDIATE waits
                    driver_connection(conn).execute(f"PRAGMA busy_timeout = {wait}")
                with conn.begin():
                    if self.url is not None:
                        from sqlalchemy import text

                        conn.execute(text(f"SET LOCAL lock_timeout = {wait}"))
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                     {"key": WRITE_LOCK_KEY})
                    yield conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors become one sentence naming the database (never a password)."""
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        try:
            yield
        except DBAPIError as exc:
            raise self.translate(exc) from None
        except SQLAlchemyError as exc:
            if self.url is not None:
                raise translate_server_error(exc, self.url) from None
            raise BookedBizError(f"Database error on {self.describe()}: {exc}.") from None

    def translate(self, exc: BaseException) -> BookedBizError:
        """The one sentence for a driver error on this database."""
        orig = getattr(exc, "orig", None) or exc
        if self.path is not None:
            if isinstance(orig, sqlite3.DatabaseError):
                return translate_error(orig, self.path)
            return BookedBizError(f"Database error on {self.path}: {orig}.")
        assert self.url is not None
        if _is_lock_timeout(orig):
            return DatabaseBusyError(
                f"The {describe(self.url)} is busy: another process is writing to it; try "
                "again shortly.")
        return translate_server_error(exc, self.url)


def _is_lock_timeout(exc: BaseException) -> bool:
    """PostgreSQL's lock_timeout (SQLSTATE 55P03) is SQLite's 'database is locked'."""
    return getattr(exc, "sqlstate", None) == "55P03"


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under a Core connection, for the few bulk paths that earn a
    dialect-specific form (sqlite3 ``executemany``, psycopg ``COPY``)."""
    return conn.connection.driver_connection


def open_database(target: str | Path | Database) -> Database:
    """A :class:`Database` for a path, a URL, or one already open."""
    return target if isinstance(target, Database) else Database(target)


@contextmanager
def opened(target: str | Path | Database) -> Iterator[Database]:
    """``open_database(target)`` for one call: a Database made here (from a path or a URL) is
    disposed at the end, one passed in is left open for its owner."""
    db = open_database(target)
    try:
        yield db
    finally:
        if db is not target:
            db.dispose()


@contextmanager
def writing_to(target: str | Path | Database, *, busy_ms: int | None = None
               ) -> Iterator[Connection]:
    """``with writing_to(db) as conn``: the write transaction of a path, URL or Database (see
    :meth:`Database.writing` and :func:`opened`)."""
    with opened(target) as db, db.writing(busy_ms=busy_ms) as conn:
        yield conn


@contextmanager
def reading_from(target: str | Path | Database) -> Iterator[Connection]:
    """``with reading_from(db) as conn``: one read snapshot of a path, URL or Database."""
    with opened(target) as db, db.reading() as conn:
        yield conn
