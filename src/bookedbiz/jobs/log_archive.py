"""The daily logs kept for a rebuild: recent days as they are, older ones zipped by month.

The daily job copies each day's ``Commercial Log YYMMDD.xlsx`` into ``$DATA_PATH/raw/daily``.
Those files are the only record of what was on the books on each day before the booking history
existed (``bookedbiz history backfill`` replays them), so they are never simply deleted: after
``DAILY_LOG_KEEP_DAYS`` days a log moves into ``raw/daily/archive/Commercial Logs YYYY-MM.zip``.
A monthly zip is rewritten to a temporary file, read back and checked member by member, then
renamed into place; only then are the archived originals removed, so a crash at any point loses
nothing. The backup job uploads the folder (:mod:`bookedbiz.backup.log_backup`).
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bookedbiz.errors import BookedBizError
from bookedbiz.files import fsync_dir

LOG_RE = re.compile(r"^Commercial Log (\d{6})\.xlsx$")
ARCHIVE_RE = re.compile(r"^Commercial Logs (\d{4})-(\d{2})\.zip$")
ARCHIVE_FOLDER = "archive"


def daily_folder(data_path: Path) -> Path:
    return Path(data_path) / "raw" / "daily"


def log_day(name: str) -> date | None:
    match = LOG_RE.match(name)
    if not match:
        return None
    digits = match.group(1)
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def archive_name(day: date) -> str:
    return f"Commercial Logs {day:%Y-%m}.zip"


@dataclass
class ArchiveOutcome:
    archived: list[str] = field(default_factory=list)
    zips: list[str] = field(default_factory=list)
    kept: int = 0
    conflicts: list[str] = field(default_factory=list)


def _crc(path: Path) -> int:
    value = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            value = zlib.crc32(chunk, value)
    return value


def _write_month(zip_path: Path, new: list[Path]) -> list[Path]:
    """Add ``new`` logs to ``zip_path`` (atomically); returns the files now safely inside."""
    existing: dict[str, zipfile.ZipInfo] = {}
    if zip_path.exists():
        with zipfile.ZipFile(zip_path) as old:
            existing = {info.filename: info for info in old.infolist()}
    adding = [p for p in new if p.name not in existing]
    already = [p for p in new if p.name in existing
               and existing[p.name].CRC == _crc(p) and existing[p.name].file_size ==
               p.stat().st_size]
    tmp = zip_path.with_name(f".{zip_path.name}.{os.getpid()}.partial")
    if adding:
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as out:
                if existing:
                    with zipfile.ZipFile(zip_path) as old:
                        for info in old.infolist():
                            out.writestr(info, old.read(info.filename))
                for path in sorted(adding):
                    out.write(path, arcname=path.name)
            with zipfile.ZipFile(tmp) as check:
                bad = check.testzip()
                names = {i.filename: i for i in check.infolist()}
            if bad is not None or any(names.get(p.name) is None or names[p.name].CRC != _crc(p)
                                      for p in adding):
                raise BookedBizError(f"The new {zip_path.name} did not read back intact; "
                                     "the daily logs were left in place.")
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            tmp.replace(zip_path)
        finally:
            tmp.unlink(missing_ok=True)
    return adding + already


def archive_daily_logs(data_path: Path, keep_days: int, today: date) -> ArchiveOutcome:
    """Zip the logs older than ``keep_days`` into their month's archive, then remove them."""
    folder = daily_folder(data_path)
    outcome = ArchiveOutcome()
    if not folder.is_dir():
        return outcome
    cutoff = today - timedelta(days=keep_days)
    by_month: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        day = log_day(path.name) if path.is_file() else None
        if day is None:
            continue
        if day >= cutoff:
            outcome.kept += 1
            continue
        by_month.setdefault(archive_name(day), []).append(path)
    if not by_month:
        return outcome
    archive = folder / ARCHIVE_FOLDER
    archive.mkdir(exist_ok=True)
    for zip_name, paths in sorted(by_month.items()):
        safe = _write_month(archive / zip_name, paths)
        for path in paths:
            if path in safe:
                path.unlink()
                outcome.archived.append(path.name)
            else:  # the month's zip holds a different file of that name: keep both, say so
                outcome.conflicts.append(path.name)
        outcome.zips.append(zip_name)
    fsync_dir(folder)
    return outcome


def log_files(data_path: Path) -> list[Path]:
    """Every daily log and monthly archive worth backing up, in a stable order."""
    folder = daily_folder(data_path)
    found = [p for p in sorted(folder.glob("Commercial Log *.xlsx")) if log_day(p.name)]
    archive = folder / ARCHIVE_FOLDER
    if archive.is_dir():
        found += [p for p in sorted(archive.iterdir()) if ARCHIVE_RE.match(p.name)]
    return found
