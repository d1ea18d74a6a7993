"""The database a writing command works on, SQLite or PostgreSQL alike (SPEC §4).

``--db`` (a file, or a URL) beats DATABASE_URL beats DATABASE_PATH; the schema must be current
before anything is written; the :class:`Database` is disposed when the command is done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bookedbiz.cli.common import settings
from bookedbiz.config import resolve_database_target

if TYPE_CHECKING:
    from bookedbiz.db.access import Database


def command_target(db_path: Path | str | None, *, must_exist: bool = True) -> Path | str:
    """The file or the URL (text; never print it, it may hold a password)."""
    if isinstance(db_path, str) and "://" in db_path:
        return db_path
    return resolve_database_target(settings(), db_path, must_exist=must_exist)


@contextmanager
def current_database(db_path: Path | str | None) -> Iterator[Database]:
    """The command's Database, refused (one sentence) unless its schema is current."""
    from bookedbiz.db.access import Database
    from bookedbiz.db.migrate import require_current_schema

    target = command_target(db_path)
    require_current_schema(target)
    db = Database(target)
    try:
        yield db
    finally:
        db.dispose()

