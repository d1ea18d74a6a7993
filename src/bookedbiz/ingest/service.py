"""The import service: a commercial log or recap into the database, month by month, atomically.

Order of work, chosen so that bad input never changes anything:
1. the workbook is checked and opened, and the station looked up, before anything is written;
2. a batch row is committed as ``running`` (so a killed process is visible afterwards);
3. one write transaction replaces the station's months (:mod:`bookedbiz.ingest.transaction`):
   all or nothing; a dry run does the same work and rolls it back.

This module stays light: the database work (and SQLAlchemy with it) is imported once the
workbook's parse child is running, so loading it overlaps the parse (the daily update is timed
against a bare read of the file, start-up included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bookedbiz import broadcast_calendar
from bookedbiz.db.access import Database, open_database
from bookedbiz.db.migrate import require_current_schema
from bookedbiz.errors import ConfigError
from bookedbiz.ingest.reader import Workbook, open_workbook
from bookedbiz.ingest.result import ImportResult

MODES = ("weekly", "historical")

Progress = Callable[[int], None]


def previous_calendar_month(today: date) -> str:
    return broadcast_calendar.shift_month(broadcast_calendar.calendar_month_of(today), -1)


def default_station() -> str:
    """The station an import belongs to when none is named: STATION_CODE (default MAIN)."""
    from bookedbiz.config import cached_settings

    return cached_settings().station_code


def import_workbook(
    database: Database | str | Path,
    file_path: Path,
    *,
    mode: str = "weekly",
    closed_by: str | None = None,
    **options: Any,
) -> ImportResult:
    """Import ``file_path`` into ``database`` (a Database, a SQLite path or a DATABASE_URL);
    raises BookedBizError (one sentence) and leaves the data unchanged on any failure.
    ``options`` are import_opened's, passed on as given (one list of options and defaults for
    both entry points): station (a code; default STATION_CODE), strict, dry_run,
    include_previous_month, auto_setup, as_of (``today`` is its old name; defaults to the date
    in a ``Commercial Log YYMMDD.xlsx`` name, else the station's today), progress and
    started_by."""
    if mode not in MODES:
        raise ConfigError(f"Unknown import mode '{mode}'; use weekly or historical.")
    if mode == "historical" and not (closed_by and closed_by.strip()):
        raise ConfigError("A historical import closes months, so it needs --closed-by NAME.")
    db = open_database(database)
    try:
        require_current_schema(db.target)
        started = time.perf_counter()
        # Parsed in a child process (memory limit, time budget); stopped here whatever happens.
        with open_workbook(Path(file_path)) as workbook:
            result = import_opened(db, workbook, mode=mode, closed_by=closed_by, **options)
        result.seconds = time.perf_counter() - started  # reading the workbook included
    finally:
        if db is not database:
            db.dispose()
    return result


def import_opened(database: Database | str | Path, workbook: Workbook,
                  **options: Any) -> ImportResult:
    """Import an opened workbook (or any source of positional rows shaped like one) into
    station ``station``'s months (a code; default STATION_CODE). ``options`` and their
    defaults are ``ingest.transaction.run_import``'s, the one list both entry points take;
    that module (and SQLAlchemy with it) loads only here, after the parse child started."""
    from bookedbiz.ingest.transaction import run_import

    return run_import(database, workbook, **options)
