"""Consistent copies of a live database with SQLite's online backup API, then verified.

Never a file copy: a WAL database copied byte-for-byte can miss committed pages.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bookedbiz.db.connection import connect
from bookedbiz.db.schema import REQUIRED_TABLES
from bookedbiz.errors import VerificationError

# Tries of an online backup that meets a busy or locked source before it is reported.
BUSY_ATTEMPTS = 4


@dataclass(frozen=True)
class SnapshotCheck:
    path: Path
    size_bytes: int
    spot_count: int
    last_import_at: str | None
    tables: tuple[str, ...]


def snapshot_database(source: Path, destination: Path) -> SnapshotCheck:
    """Copy ``source`` (opened read-only) to ``destination`` and verify the copy."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(destination.name + ".partial")
    backup_to_file(source, tmp)
    try:
        check = verify_database_file(tmp)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(destination)
    return SnapshotCheck(destination, destination.stat().st_size, check.spot_count,
                         check.last_import_at, check.tables)


def verify_database_file(path: Path) -> SnapshotCheck:
    """integrity_check plus the tables BookedBiz needs; raises VerificationError otherwise."""
    try:
        conn = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise VerificationError(f"{path} cannot be opened as a database ({exc}).") from None
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise VerificationError(f"{path} failed the integrity check: {result[0][0]}.")
        tables = tuple(
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise VerificationError(
                f"{path} is not a BookedBiz database: tables {', '.join(missing)} are missing."
            )
        spot_count = conn.execute("SELECT count(*) FROM spots").fetchone()[0]
        last = conn.execute(
            "SELECT max(finished_at) FROM import_batches WHERE status = 'completed'"
        ).fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise VerificationError(f"{path} is not a usable database ({exc}).") from None
    finally:
        conn.close()
    return SnapshotCheck(path, path.stat().st_size, spot_count, last, tables)


def backup_to_file(source: Path, destination: Path) -> Path:
    """Online-backup ``source`` (opened read-only) into a new ``destination``, unverified.

    For callers that verify separately (e.g. concurrently with an upload). The destination is
    written without a journal (it is a private new file) and ends in rollback-journal mode, so
    no ``-wal``/``-shm`` ever appears next to it. Same input pages give the same bytes, which
    lets an unchanged database be recognised by its hash.
    """
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        destination.unlink(missing_ok=True)
        try:
            _copy_pages(source, destination)
            return destination
        except sqlite3.OperationalError as exc:
            destination.unlink(missing_ok=True)
            # A read can meet the writer rebuilding the WAL index (SQLITE_BUSY_RECOVERY, which
            # skips the busy handler): a moment later the same copy succeeds.
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or attempt == BUSY_ATTEMPTS:
                raise VerificationError(f"The snapshot of {source} failed ({exc}).") from None
            time.sleep(0.2 * attempt)
        except sqlite3.DatabaseError as exc:
            destination.unlink(missing_ok=True)
            raise VerificationError(f"The snapshot of {source} failed ({exc}).") from None
        except BaseException:
            destination.unlink(missing_ok=True)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _copy_pages(source: Path, destination: Path) -> None:
    src = connect(source, readonly=True)
    try:
        dst = sqlite3.connect(destination)
        try:
            dst.execute("PRAGMA journal_mode = OFF")
            dst.execute("PRAGMA synchronous = OFF")
            src.backup(dst, pages=0)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    finally:
        src.close()
