"""One exclusive lock for every scheduled job (and for restore).

On SQLite (one box) it is ``fcntl.flock`` on a file in a persistent, shared directory: the data
directory's ``locks/`` folder, or JOB_LOCK_DIR (e.g. ``/run/bookedbiz``). The system we replace
locked a file in ``/tmp`` under ``PrivateTmp=yes``, so a manual run and the timer never saw the
same file and nothing was excluded. flock locks die with the process, so a crashed job never
leaves a stale lock.

On PostgreSQL (DATABASE_URL; several hosts share the server) a file excludes nothing across
hosts, so the lock is a session-level ``pg_try_advisory_lock`` with a key derived from the
lock's name, held on a dedicated connection for the job's life: the server releases it when
that connection ends, also when its process is killed. The holder is read from ``pg_locks``
and the session's ``application_name`` (job, pid, host).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookedbiz.config import Settings
from bookedbiz.db.connection import utc_now
from bookedbiz.db.server import describe, is_server_url, parse_database_url
from bookedbiz.errors import EXIT_LOCK_BUSY, BookedBizError, ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from bookedbiz.db.access import Database

LOCK_NAME = "bookedbiz-jobs.lock"
# What application_name carries so another host can say who holds the lock (63 bytes max).
_HOLDER_PREFIX = "bookedbiz-lock"


class LockBusyError(BookedBizError):
    exit_code = EXIT_LOCK_BUSY


def job_lock_path(settings: Settings) -> Path:
    """``<JOB_LOCK_DIR or data dir/locks>/bookedbiz-jobs.lock`` — the same path for every caller."""
    folder = settings.job_lock_dir or settings.resolved_data_path() / "locks"
    return Path(folder).expanduser() / LOCK_NAME


def lock_key(name: str = LOCK_NAME) -> int:
    """The advisory-lock key of a lock name: the first 8 bytes of its SHA-256, signed (the
    same number on every host and every run)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _server_url(settings: Settings, database: Database | str | Path | None) -> str | None:
    """The DATABASE_URL the lock lives on, or None for the file lock (SQLite)."""
    from bookedbiz.db.access import Database

    if isinstance(database, Database):
        return None if database.is_sqlite else database.target
    if database is not None:
        return str(database) if is_server_url(str(database)) else None
    return settings.database_url or None


def lock_label(settings: Settings, database: Database | str | Path | None = None,
               name: str = LOCK_NAME) -> str:
    """The lock as a sentence may name it: the file, or the advisory lock and its server."""
    url = _server_url(settings, database)
    if url is None:
        return str(job_lock_path(settings))
    return f"advisory lock {name} on the {describe(parse_database_url(url))}"


def lock_is_held(settings: Settings, database: Database | str | Path | None = None) -> bool:
    """True if some process holds the job lock right now (probe with LOCK_NB, then release;
    on PostgreSQL, a look at pg_locks)."""
    url = _server_url(settings, database)
    if url is not None:
        return _server_holder(url, LOCK_NAME) is not None
    path = job_lock_path(settings)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_holder(settings: Settings,
                database: Database | str | Path | None = None) -> dict[str, object] | None:
    """What the current holder recorded (job, pid, host, since), if the lock is held."""
    url = _server_url(settings, database)
    if url is not None:
        return _server_holder(url, LOCK_NAME)
    if not lock_is_held(settings):
        return None
    try:
        return json.loads(job_lock_path(settings).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _holder_name(owner: str) -> str:
    return f"{_HOLDER_PREFIX} {owner} {os.getpid()} {socket.gethostname()}"[:63]


def _server_holder(url: str, name: str) -> dict[str, object] | None:
    """The session holding advisory lock ``name`` (pg_locks), as the file lock's holder dict."""
    from sqlalchemy import text

    from bookedbiz.db.access import Database

    key = lock_key(name)
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    db = Database(url)
    try:
        with db.reading() as conn:
            row = conn.execute(text(
                "SELECT a.application_name, a.backend_start, a.client_addr FROM pg_locks l "
                "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND CAST(l.classid AS bigint) = :high "
                "AND CAST(l.objid AS bigint) = :low AND l.objsubid = 1"),
                {"high": high, "low": low}).first()
    finally:
        db.dispose()
    if row is None:
        return None
    parts = str(row[0] or "").split(" ")
    holder: dict[str, object] = {}
    if len(parts) >= 4 and parts[0] == _HOLDER_PREFIX:
        holder = {"job": parts[1], "pid": int(parts[2]) if parts[2].isdigit() else parts[2],
                  "host": parts[3]}
    if row[1] is not None:  # the holder's session start: when it took the lock, or before
        holder["since"] = row[1].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if row[2] is not None:
        holder["address"] = str(row[2])
    return holder


class _AdvisoryLock:
    """A session-level advisory lock held on its own connection until :meth:`release` (or
    until the process dies and the server drops the connection)."""

    def __init__(self, url: str, name: str, owner: str) -> None:
        self.url, self.name, self.owner = url, name, owner
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from bookedbiz.db.server import create_server_engine, translate_server_error

        url = parse_database_url(self.url)
        engine = create_server_engine(url, pool_size=1)
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                conn.execute(text("SELECT set_config('application_name', :n, false)"),
                             {"n": _holder_name(self.owner)})
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                        {"key": lock_key(self.name)}).scalar())
            except BaseException:
                conn.close()
                raise
        except SQLAlchemyError as exc:
            engine.dispose()
            raise translate_server_error(exc, url) from None
        except BaseException:
            engine.dispose()
            raise
        if not got:
            conn.close()
            engine.dispose()
            return False
        self._engine, self._conn = engine, conn
        return True

    def release(self) -> None:
        from sqlalchemy import text

        conn, engine = self._conn, self._engine
        self._conn = self._engine = None
        try:
            if conn is not None:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                                 {"key": lock_key(self.name)})
                except Exception:  # noqa: BLE001 - closing the session releases it anyway
                    pass
                conn.close()
        finally:
            if engine is not None:
                engine.dispose()


@dataclass
class JobLock:
    """``with JobLock(settings, "backup"):`` — raises LockBusyError at once if another holds it.

    ``database`` (a path, a DATABASE_URL or a Database; default: the settings') chooses the
    kind: a PostgreSQL server gets the advisory lock, a SQLite file the file lock."""

    settings: Settings
    owner: str
    database: Any = None
    name: str = LOCK_NAME
    _fd: int | None = None
    _server: _AdvisoryLock | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return job_lock_path(self.settings)

    def acquire(self) -> None:
        url = _server_url(self.settings, self.database)
        if url is not None:
            held = _AdvisoryLock(url, self.name, self.owner)
            if not held.try_acquire():
                raise LockBusyError(
                    f"Another job holds the lock "
                    f"{lock_label(self.settings, url, self.name)}; {self.owner} was skipped.")
            self._server = held
            return
        path = self.path
        if os.environ.get("INVOCATION_ID") and str(path).startswith(("/tmp/", "/var/tmp/")):
            # INVOCATION_ID is set by systemd: with PrivateTmp=yes this /tmp is ours alone
            raise ConfigError(
                f"The job lock {path} is in a temporary folder that systemd makes private to "
                "this unit, so it would exclude nothing; set DATA_PATH or JOB_LOCK_DIR to a "
                "persistent folder."
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
        except OSError as exc:
            raise BookedBizError(
                f"Cannot open the job lock file {path} ({exc.strerror}); make its folder "
                "writable for the service user."
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockBusyError(
                    f"Another job holds the lock {path}; {self.owner} was skipped."
                ) from None
            raise
        info = {"job": self.owner, "pid": os.getpid(), "host": socket.gethostname(),
                "since": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._server is not None:
            held, self._server = self._server, None
            held.release()
            return
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
