"""Getting today's log: copy it from the traffic system's share atomically, and only once the
traffic system has finished writing it."""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path

from bookedbiz.errors import NotFoundError, WorkbookError
from bookedbiz.ingest.reader import open_workbook


def daily_file_name(day: date) -> str:
    return f"Commercial Log {day:%y%m%d}.xlsx"


def default_daily_file(data_path: Path, day: date) -> Path:
    return data_path / "raw" / "daily" / daily_file_name(day)


def wait_until_stable(path: Path, settle_seconds: float = 2.0, checks: int = 3) -> None:
    """Refuse a file whose size or mtime is still changing (the export is in progress)."""
    previous = None
    for _ in range(checks):
        stat = path.stat()
        current = (stat.st_size, stat.st_mtime_ns)
        if previous is not None and current != previous:
            raise WorkbookError(
                f"{path.name} is still being written (its size keeps changing); try again later."
            )
        previous = current
        time.sleep(settle_seconds / checks)


def fetch_daily_log(source: Path, destination: Path, settle_seconds: float = 2.0) -> Path:
    """Copy ``source`` to ``destination`` via a temp name and rename; the copy must open."""
    if not source.is_file():
        raise NotFoundError(f"The source log {source} does not exist.")
    wait_until_stable(source, settle_seconds)
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.stem}.{os.getpid()}.partial.xlsx")
    try:
        shutil.copyfile(source, tmp)
        _check_opens(tmp)
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)
    return destination


def _check_opens(path: Path) -> None:
    try:
        with open_workbook(path):
            pass  # opening runs the checks and starts the parse; closing stops the child
    except WorkbookError as exc:
        raise WorkbookError(f"The copied log does not open as a commercial log: {exc}") from None
