"""Verified downloads and the safe replacement of the live database.

A restore never writes over the live file directly: the backup is downloaded to a side file in
the same folder, its content hash and integrity are checked, and only with ``--yes`` and nobody
holding the database is the old file moved aside (with its ``-wal``/``-shm``, never deleted)
and the side file renamed into place. Leaving an old ``-wal`` next to a restored file would let
SQLite replay it and silently undo the restore.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bookedbiz.backup.content_hash import file_content_hash
from bookedbiz.backup.records import check_recorded
from bookedbiz.backup.targets import RemoteEntry, Target
from bookedbiz.db.snapshot import SnapshotCheck, verify_database_file
from bookedbiz.errors import BookedBizError, DatabaseBusyError, VerificationError
from bookedbiz.files import fsync_dir

SIDECARS = ("-wal", "-shm", "-journal")
# SQLite (unix VFS) holds a shared POSIX lock on this byte of the -shm file for as long as a
# connection has a WAL database open; an exclusive probe on it tells whether anyone has it open.
SHM_DMS_BYTE = 128


@dataclass(frozen=True)
class VerifiedFile:
    path: Path
    source: RemoteEntry
    content_hash: str
    check: SnapshotCheck


def fetch_checked(target: Target, entry: RemoteEntry, partial: Path,
                   recorded: str | None) -> tuple[RemoteEntry, str]:
    """Download to ``partial``; the bytes must match the target's hash (the transfer) and the
    hash recorded when the copy was made (damage or replacement at rest)."""
    if entry.content_hash:  # refuse a replaced copy before fetching it
        check_recorded(entry.path, entry.content_hash, recorded)
    got = target.download(entry.path, partial)
    digest = file_content_hash(partial)
    expected = got.content_hash or entry.content_hash
    if expected and digest != expected:
        raise VerificationError(
            f"The downloaded {entry.path} has content hash {digest} but the target says "
            f"{expected}; the download is corrupt."
        )
    check_recorded(entry.path, digest, recorded)
    return got, digest


def settle(partial: Path, dest: Path) -> None:
    with open(partial, "rb+") as handle:
        os.fsync(handle.fileno())
    partial.replace(dest)


def download_verified_file(target: Target, entry: RemoteEntry, dest: Path,
                           recorded: str | None) -> str:
    """Any file (a daily log, an archive): hash-checked download to ``dest``; its hash."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _, digest = fetch_checked(target, entry, partial, recorded)
        settle(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return digest


def download_verified(target: Target, entry: RemoteEntry, dest: Path,
                      recorded: str | None) -> VerifiedFile:
    """Download ``entry`` to ``dest`` (via ``dest.partial``), check hashes and integrity.

    The target's hash proves the transfer; ``recorded`` (the hash noted when the copy was made,
    :mod:`bookedbiz.backup.records`) proves the copy is still what was backed up. Only the
    ``--ignore-record`` path passes None.
    """
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        got, digest = fetch_checked(target, entry, partial, recorded)
        check = verify_database_file(partial)
        settle(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return VerifiedFile(dest, got, digest, SnapshotCheck(dest, check.size_bytes,
                        check.spot_count, check.last_import_at, check.tables))


@contextmanager
def exclusive_job_lock(path: Path) -> Iterator[None]:
    """Hold the jobs' flock (``bookedbiz.jobs.lock.job_lock_path``) while replacing the
    database, so no import or backup starts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o664)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusyError(
                "A BookedBiz job (import or backup) holds the job lock; refusing to replace "
                "the database. Try again when it has finished."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _shm_in_use(db_path: Path) -> bool:
    shm = db_path.with_name(db_path.name + "-shm")
    if not shm.exists():
        return False
    fd = os.open(shm, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


def _write_locked(db_path: Path) -> bool:
    """BEGIN IMMEDIATE with a short busy timeout: False when someone else is writing."""
    conn = sqlite3.connect(f"file:{db_path.as_posix()}", uri=True, timeout=0.2,
                           isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise BookedBizError(f"The live database {db_path} cannot be opened ({exc}).") from None
    finally:
        conn.close()


def ensure_not_in_use(db_path: Path) -> None:
    """Refuse (exit 75) while the web app, an import or Datasette holds the database."""
    if not db_path.exists():
        return
    if _shm_in_use(db_path):
        raise DatabaseBusyError(
            f"{db_path} is open in another process (the web app, Datasette or an import); "
            "stop it before restoring."
        )
    # With a leftover -wal and nobody on the -shm, no writer can exist; opening the file now
    # would replay that WAL into the old database, so leave it untouched for the move aside.
    if db_path.with_name(db_path.name + "-wal").exists():
        return
    if _write_locked(db_path):
        raise DatabaseBusyError(
            f"{db_path} is being written by another process; stop it before restoring."
        )


def replace_database(db_path: Path, restored: Path) -> list[Path]:
    """Move the live database and its sidecars aside, then rename ``restored`` into place."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside_base = db_path.with_name(f"{db_path.name}.replaced-{stamp}")
    moved: list[Path] = []
    mode = None
    if db_path.exists():
        st = db_path.stat()
        mode = (st.st_mode & 0o777, st.st_uid, st.st_gid)
        db_path.replace(aside_base)
        moved.append(aside_base)
    for suffix in SIDECARS:
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            dest = aside_base.with_name(aside_base.name + suffix)
            side.replace(dest)
            moved.append(dest)
    if mode is not None:
        os.chmod(restored, mode[0])
        try:
            os.chown(restored, mode[1], mode[2])
        except PermissionError:
            pass
    restored.replace(db_path)
    fsync_dir(db_path.parent)
    stale = [db_path.with_name(db_path.name + s) for s in SIDECARS]
    if any(p.exists() for p in stale):
        raise BookedBizError("A sidecar file reappeared next to the restored database.")
    return moved
