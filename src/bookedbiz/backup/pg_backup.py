"""Backups of a PostgreSQL database (DATABASE_URL): a ``pg_dump`` custom-format archive with
its figures, checked by restoring it into a scratch database, and a restore that swaps a fully
restored and checked copy in for the live database in one step.

**The dump.** One REPEATABLE READ transaction exports its snapshot, counts every table and sums
every money column (:mod:`bookedbiz.backup.facts`) and stays open while ``pg_dump
--snapshot`` reads the very same snapshot: the figures recorded next to the dump's content hash
are exactly what the dump holds, even while an import commits. The sanity gate (required
tables, no empty skeleton, no collapsed spot count) runs on those figures before pg_dump starts.
Before the upload commits, ``pg_restore --file=/dev/null`` reads every block of the archive
back (the dump's integrity check; it runs alongside the transfer, as SQLite's does).

**Verify** restores the downloaded dump into a new scratch database (``<db>_verify_<time>``,
dropped at the end) and compares its schema revision, row counts and money totals with the
recorded figures.

**Restore: a new database and one swap, not a restore over the live tables.** The copy is
restored into ``<db>_restore_<time>`` and checked there like a verify; then, with ``--yes``,
holding the jobs' lock and with nobody else connected, one transaction renames the live
database to ``<db>_replaced_<time>`` and the copy to the live name. Chosen over
``pg_restore --clean --single-transaction`` into the live database because: the live database
is never touched until a complete, checked copy exists, and the swap commits both renames or
neither, so a bad copy, a failed restore or a kill at any moment leaves it exactly as it was;
the old database is kept aside, as the SQLite restore keeps the old file, so a mistaken restore
is undone by renaming back; and ``--clean`` only drops objects the dump knows, so a table added
by a later revision would survive next to the restored ones. The price: the role needs CREATEDB
and must own the database (one sentence says so), database-level settings (``ALTER DATABASE …
SET``) are not carried over (the database-level grants are), and the server needs room for a
second copy until the old one is dropped.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bookedbiz.backup.content_hash import file_hasher
from bookedbiz.backup.facts import (
    Facts,
    compare_facts,
    database_facts,
    missing_tables,
)
from bookedbiz.backup.gate import SPACE_MARGIN, Snapshot, check_sanity, remove_stale_snapshots
from bookedbiz.backup.restore import exclusive_job_lock, fetch_checked, settle
from bookedbiz.backup.targets import RemoteEntry, Target
from bookedbiz.config import Settings
from bookedbiz.db.access import Database
from bookedbiz.db.pg_databases import (
    copy_database_grants,
    create_database,
    database_exists,
    drop_database,
    other_sessions,
    side_name,
    swap_databases,
)
from bookedbiz.db.pg_dump import dump_database, read_archive, restore_dump
from bookedbiz.errors import BookedBizError, DatabaseBusyError, VerificationError

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.engine import URL

DUMP_SUFFIX = ".pgdump"
# pg_restore's parallel jobs for the scratch copy (indexes and tables restore side by side).
RESTORE_JOBS = max(1, min(2, os.cpu_count() or 1))


def staging_dir(settings: Settings) -> Path:
    """Where dumps are written and downloaded: DATA_PATH (else DATABASE_PATH's folder)."""
    folder = settings.resolved_data_path()
    if not folder.is_dir():
        raise BookedBizError(f"The data directory {folder} does not exist; set DATA_PATH to an "
                             "existing folder for the PostgreSQL dumps.")
    return folder


def _check_space(folder: Path, conn: Connection) -> None:
    """A custom-format dump is compressed: a quarter of the database's size (tables and
    indexes) plus the margin is a generous bound."""
    from sqlalchemy import text

    size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    needed = size // 4 + SPACE_MARGIN
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise BookedBizError(
            f"Not enough free space in {folder} for a dump: need {needed // 2**20} MiB, "
            f"have {free // 2**20} MiB.")


class ArchiveCheck:
    """:func:`bookedbiz.db.pg_dump.read_archive` in a thread, overlapping the transfer; its
    ``wait()`` is the upload's ``before_commit``."""

    def __init__(self, path: Path):
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            read_archive(path)
        except BaseException as exc:  # noqa: BLE001 - re-raised in wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextmanager
def taken_dump(settings: Settings, db: Database, previous_spots: int | None,
               *, allow_shrink: bool = False) -> Iterator[Snapshot]:
    """A gated, hashed dump with its figures, deleted when the block ends."""
    from sqlalchemy import text

    assert db.url is not None
    folder = staging_dir(settings)
    remove_stale_snapshots(folder)
    tmp = folder / f".bookedbiz-snapshot-{os.getpid()}-{threading.get_ident()}{DUMP_SUFFIX}"
    try:
        with db.reading() as conn:
            _check_space(folder, conn)
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            facts = database_facts(conn)
            missing = missing_tables(facts)
            if missing:
                raise VerificationError(
                    f"The {db.describe()} is not a BookedBiz database (an empty skeleton?): "
                    f"tables {', '.join(missing)} are missing; refusing to back it up.")
            spots = facts["row_counts"]["spots"]
            check_sanity(spots, previous_spots, settings.backup_max_shrink,
                         allow_shrink=allow_shrink)
            dump_database(db.url, tmp, snapshot=str(snapshot_id))
        check = ArchiveCheck(tmp)
        hasher = file_hasher(tmp)
        yield Snapshot(tmp, tmp.stat().st_size, hasher.hexdigest(), spots,
                       facts["last_import_at"], hasher.blocks, check, facts)
    finally:
        tmp.unlink(missing_ok=True)


def download_verified_dump(target: Target, entry: RemoteEntry, dest: Path,
                           recorded: str | None) -> str:
    """Download a dump to ``dest`` (via ``dest.partial``): the transfer hash, the hash recorded
    when it was made, and every block readable; its content hash."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        _, digest = fetch_checked(target, entry, partial, recorded)
        read_archive(partial)
        settle(partial, dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return digest


@dataclass(frozen=True)
class RestoredCopy:
    """A dump restored into its own database on the server and checked against its record."""

    database: str
    facts: Facts


def _copy_url(url: URL, database: str) -> str:
    return url.set(database=database).render_as_string(hide_password=False)


def _facts_of(url: URL, database: str) -> Facts:
    copy = Database(_copy_url(url, database))
    try:
        with copy.reading() as conn:
            return database_facts(conn)
    finally:
        copy.dispose()


def restore_to_scratch(db: Database, dump: Path, recorded: Facts | None, *, purpose: str,
                       stamp: str, what: str) -> RestoredCopy:
    """Restore ``dump`` into a new ``<db>_<purpose>_<stamp>`` and compare its figures with
    ``recorded`` (None: only the required tables are checked, ``--ignore-record``). Any failure
    drops the scratch database; on success the caller owns it."""
    assert db.url is not None
    url = db.url
    name = side_name(str(url.database), purpose, stamp)
    create_database(url, name, purpose)
    try:
        restore_dump(url, name, dump, jobs=RESTORE_JOBS)
        facts = _facts_of(url, name)
        missing = missing_tables(facts)
        if missing:
            raise VerificationError(f"{what} is not a BookedBiz database: tables "
                                    f"{', '.join(missing)} are missing.")
        if recorded is not None:
            compare_facts(recorded, facts, what)
    except BaseException:
        drop_scratch(db, name)
        raise
    return RestoredCopy(name, facts)


def drop_scratch(db: Database, name: str) -> None:
    assert db.url is not None
    drop_database(db.url, name)


def replace_live(db: Database, copy: RestoredCopy, lock_path: Path, stamp: str) -> str | None:
    """Swap the checked copy in for the live database (see the module docstring); the old one
    is kept as ``<db>_replaced_<stamp>``, whose name is returned (None when there was no live
    database: the copy just takes its name). Refused (exit 75) while a job
    holds the lock or another session has the database open; nothing is renamed then."""
    assert db.url is not None
    url = db.url
    live = str(url.database)
    aside = side_name(live, "replaced", stamp)
    db.dispose()  # our own pooled sessions would block the rename
    with exclusive_job_lock(lock_path):
        if not database_exists(url, live):  # a new server after a disaster: nothing to keep
            swap_databases(url, live, copy.database, None)
            return _checked_after(db, copy, None)
        sessions = other_sessions(url)
        if sessions:
            raise DatabaseBusyError(
                f"The {db.describe()} is open in {sessions} other session(s) (the web app, "
                "Datasette or an import); stop them before restoring.")
        copy_database_grants(url, live, copy.database)
        swap_databases(url, live, copy.database, aside)
    return _checked_after(db, copy, aside)


def _checked_after(db: Database, copy: RestoredCopy, aside: str | None) -> str | None:
    """The figures of the database now live must be the copy's; otherwise the swap is undone."""
    assert db.url is not None
    url = db.url
    live = str(url.database)
    after = _facts_of(url, live)
    try:
        compare_facts(copy.facts, after, f"The restored {db.describe()}")
    except VerificationError as exc:  # pragma: no cover - the renamed copy is the checked one
        if aside is None:
            raise
        swap_databases(url, live, aside, copy.database)
        raise VerificationError(f"{exc} The old database was put back.") from None
    return aside
