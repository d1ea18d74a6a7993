"""``history backfill``: archived daily logs replayed into the booking history only.

A station installing BookedBiz with a year of archived ``Commercial Log YYMMDD.xlsx`` files gets a
year of pacing on day one. Each log is read like a daily import (same normalizer, resolver,
language rules, previous-month rule; months closed by then are skipped) but only its booked
state per month is recorded, as of the date in its name; the ``spots`` table is never touched.

Days after the recorded history are appended one transaction per log, exactly as live imports
would record them (so backfill-then-live equals live alone). Days before the recorded history
are computed in memory and written in one transaction whose last intervals end where the
recorded history of each month begins. Days already backfilled are skipped (idempotent); days
inside the recorded history are refused; a corrupt file is reported and skipped.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from bookedbiz import broadcast_calendar
from bookedbiz.db.access import Database, open_database
from bookedbiz.db.bulk import insert_rows
from bookedbiz.db.connection import utc_now
from bookedbiz.db.migrate import require_current_schema
from bookedbiz.entities.resolver import EntityResolver
from bookedbiz.entities.stations import station_id_for
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError
from bookedbiz.history.as_of import date_in_file_name, station_today
from bookedbiz.history.recording import (
    INTERVAL_COLUMNS,
    State,
    add_to_state,
    language_groups,
    record_state,
)
from bookedbiz.ingest.normalize import Reject, RowNormalizer, V
from bookedbiz.ingest.reader import Workbook, open_workbook
from bookedbiz.languages.assign import LanguageAssigner

_MISSING = object()
_LOG_NAME = re.compile(r"^commercial log \d{6}.*\.xlsx$", re.IGNORECASE)
_ZIP_NAME = re.compile(r"^commercial logs \d{4}-\d{2}\.zip$", re.IGNORECASE)
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # a member larger than this is not a daily log
Progress = Callable[[int, str], None]


@dataclass
class BackfillOutcome:
    recorded: int = 0
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    rows_opened: int = 0
    rows_closed: int = 0


@dataclass(frozen=True)
class ZipMember:
    """A daily log inside a monthly archive (``Commercial Logs YYYY-MM.zip``, jobs/log_archive)."""

    archive: Path
    member: str

    @property
    def name(self) -> str:
        return Path(self.member).name


def find_logs(folder: Path) -> list[tuple[date, Path | ZipMember]]:
    """The dated daily logs of ``folder`` (and of the monthly zips in it or in its ``archive``
    subfolder), oldest first; none is one clear sentence."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotFoundError(f"The folder {folder} does not exist.")
    logs: list[tuple[date, Path | ZipMember]] = []
    places = [folder] + ([folder / "archive"] if (folder / "archive").is_dir() else [])
    for place in places:
        for path in place.iterdir():
            if path.is_file() and _LOG_NAME.match(path.name):
                day = date_in_file_name(path)
                if day is not None:
                    logs.append((day, path))
            elif path.is_file() and _ZIP_NAME.match(path.name):
                logs.extend(_zipped_logs(path))
    if not logs:
        raise ConfigError(f"{folder} holds no 'Commercial Log YYMMDD.xlsx' files; nothing was "
                          "backfilled.")
    return sorted(logs, key=lambda item: (item[0], item[1].name))


def _zipped_logs(archive: Path) -> list[tuple[date, ZipMember]]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = [info.filename for info in zipped.infolist()
                     if not info.is_dir() and info.file_size <= MAX_MEMBER_BYTES]
    except (zipfile.BadZipFile, OSError):
        return [(date.min, ZipMember(archive, archive.name))]  # reported when opened
    found = []
    for name in names:
        base = Path(name).name
        day = date_in_file_name(base) if _LOG_NAME.match(base) else None
        if day is not None:
            found.append((day, ZipMember(archive, name)))
    return found


def _closed_on(conn: Connection, station_id: int) -> dict[str, date]:
    return {month: datetime.fromisoformat(at.replace("Z", "+00:00")).date()
            for month, at in conn.execute(text(
                "SELECT broadcast_month, closed_at FROM month_closures WHERE station_id = :sid"),
                {"sid": station_id})}


def read_state(conn: Connection, workbook: Workbook, as_of: date, closed_on: dict[str, date],
               auto_setup: bool, memo: dict | None = None) -> tuple[list[str], State]:
    """The months a daily import of ``workbook`` on ``as_of`` would replace, and their booked
    state at the history grain (entities are resolved, and created, as the import would).

    ``memo`` maps a raw row to its normalized values: consecutive daily logs repeat almost
    every row, so a folder replays at the cost of hashing rows, not of re-parsing them. It is
    refilled with this log's rows only (bounded by one log)."""
    resolver = EntityResolver(conn, utc_now(), auto_setup=auto_setup)
    assigner, normalizer = LanguageAssigner(conn), RowNormalizer()
    group_of = language_groups(conn).get
    previous = broadcast_calendar.shift_month(broadcast_calendar.calendar_month_of(as_of), -1)
    i_month, i_bill, i_sales = V["broadcast_month"], V["bill_code"], V["sales_person"]
    i_market, i_lang, i_cat = V["market_code"], V["language_code"], V["language_category"]
    i_trade, i_gross, i_net = V["is_trade"], V["gross_rate_micros"], V["station_net_micros"]
    i_revenue, i_contract = V["revenue_type"], V["contract"]
    owners: dict[tuple, tuple] = {}
    months: set[str] = set()
    state: State = {}
    read = rejected = 0
    seen: dict = {}
    normalize = normalizer.normalize
    for sheet in workbook.sheets:
        for _row_number, cells in sheet.rows:
            if len(cells) < 29:
                cells = list(cells) + [""] * (29 - len(cells))
            try:
                key = tuple(cells)
                values = memo.get(key, _MISSING) if memo is not None else _MISSING
            except TypeError:  # an unhashable cell: parse it every time
                key, values = None, _MISSING
            if values is _MISSING:
                values = normalize(cells)
            if key is not None:
                seen[key] = values
            if values is None:
                continue
            read += 1
            if type(values[0]) is Reject:
                rejected += 1
                continue
            month = values[i_month]
            if month == previous or (month in closed_on and closed_on[month] <= as_of):
                continue
            months.add(month)
            owner_key = (values[i_bill], values[i_sales])
            owner = owners.get(owner_key)
            if owner is None:
                owner = owners[owner_key] = (*resolver.customer_for(owner_key[0]),
                                             resolver.ae_for(owner_key[1], owner_key[0]))
            market = values[i_market]
            if market not in resolver.known_markets:
                resolver.note_market(market)
            if values[i_trade]:
                continue
            bucket = assigner.assign(values[i_cat], values[i_lang])[5]
            add_to_state(state, (month, owner[0], owner[1], owner[2], market, values[i_revenue],
                                 group_of(bucket, bucket), values[i_contract] or ""),
                         values[i_gross] or 0, values[i_net] or 0)
    if read == 0 or rejected == read:
        raise BookedBizError(f"{workbook.path.name} has no usable spot rows.")
    if memo is not None:
        memo.clear()
        memo.update(seen)
    return sorted(months), state


def _recorded(conn: Connection, station_id: int) -> tuple[set[str], str | None, str | None]:
    """The station's backfilled days, and the first and last day of its recorded history."""
    values = {"sid": station_id}
    backfilled = {d for (d,) in conn.execute(text(
        "SELECT DISTINCT as_of FROM history_records WHERE kind = 'backfill' "
        "AND station_id = :sid"), values)}
    first, last = conn.execute(text(
        "SELECT MIN(as_of), MAX(as_of) FROM history_records WHERE station_id = :sid "
        "OR station_id IS NULL"), values).one()
    return backfilled, first, last


def backfill_folder(database: Database | str | Path, logs: list[tuple[date, Path | ZipMember]],
                    *, auto_setup: bool = False, progress: Progress | None = None,
                    station: str | None = None) -> BackfillOutcome:
    """Replay ``logs`` (from :func:`find_logs`) into station ``station``'s booking history
    (default: the configured STATION_CODE)."""
    from bookedbiz.ingest.service import default_station

    db = open_database(database)
    require_current_schema(db.target)
    outcome = BackfillOutcome()
    today = station_today()
    scratch = tempfile.TemporaryDirectory(prefix="bookedbiz-backfill-")
    try:
        with db.writing() as conn:
            station_id = station_id_for(conn, station or default_station())
            backfilled, first, last = _recorded(conn, station_id)
        todo: list[tuple[date, Path]] = []
        seen: set[date] = set()
        for day, path in logs:
            if day == date.min:
                outcome.failed.append((path.name, "the archive is not a readable zip"))
                continue
            if day > today:
                raise ConfigError(f"{path.name} is dated {day.isoformat()}, in the future; "
                                  "nothing was backfilled.")
            if day.isoformat() in backfilled:
                outcome.skipped.append(path.name)
            elif day in seen:
                outcome.failed.append((path.name, f"another log of {day.isoformat()} came first"))
            else:
                seen.add(day)
                todo.append((day, path))
        if not todo:
            return outcome
        days = [d.isoformat() for d, _ in todo]
        append = last is None or days[0] > last
        if not append and not days[-1] < first:
            inside = next(d for d in days if first <= d <= last) if any(
                first <= d <= last for d in days) else days[0]
            raise ConfigError(
                f"The log of {inside} falls inside the recorded booking history ({first} to "
                f"{last}); backfill adds only days before or after it. Nothing was backfilled.")
        if append:
            _append(db, station_id, todo, auto_setup, progress, outcome, Path(scratch.name))
        else:
            _prepend(db, station_id, todo, auto_setup, progress, outcome, Path(scratch.name))
    finally:
        if db is not database:
            db.dispose()
        scratch.cleanup()
    return outcome


def _open(path: Path | ZipMember, outcome: BackfillOutcome, scratch: Path) -> Workbook | None:
    try:
        if isinstance(path, ZipMember):  # one member at a time, removed before the next one
            for old in scratch.iterdir():
                old.unlink()
            target = scratch / path.name
            with zipfile.ZipFile(path.archive) as zipped, zipped.open(path.member) as source, \
                    open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
            return open_workbook(target)
        return open_workbook(path)
    except BookedBizError as exc:
        outcome.failed.append((path.name, str(exc)))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, the rest go on
        outcome.failed.append((path.name, f"unreadable ({exc.__class__.__name__}: {exc})"))
    return None


def _append(db: Database, station_id: int, todo, auto_setup, progress,
            outcome: BackfillOutcome, scratch: Path) -> None:
    """One transaction per log, recorded exactly as a live import records its months."""
    memo: dict = {}
    for done, (day, path) in enumerate(todo, start=1):
        workbook = _open(path, outcome, scratch)
        if workbook is not None:
            try:
                with db.writing() as conn:
                    months, state = read_state(conn, workbook, day,
                                               _closed_on(conn, station_id), auto_setup, memo)
                    opened, closed = record_state(
                        conn, day, months, state, kind="backfill", source_file=path.name,
                        source_sha256=workbook.sha256, station_id=station_id)
                outcome.recorded += 1
                outcome.rows_opened += opened
                outcome.rows_closed += closed
            except BookedBizError as exc:
                outcome.failed.append((path.name, str(exc)))
            except Exception as exc:  # noqa: BLE001 - a bad cell stream is this file's failure
                outcome.failed.append((path.name, f"unreadable ({exc.__class__.__name__})"))
            finally:
                workbook.close()
        if progress:
            progress(done, path.name)


def _prepend(db: Database, station_id: int, todo, auto_setup, progress,
             outcome: BackfillOutcome, scratch: Path) -> None:
    """Days before the recorded history: intervals built in memory, written at once, each
    month's last ones ending where its recorded history begins."""
    import json

    current: dict[tuple, tuple[list[int], str]] = {}  # key → (sums, valid_from)
    intervals: list[tuple] = []
    records: list[tuple] = []
    memo: dict = {}
    with db.writing() as conn:
        closed_on = _closed_on(conn, station_id)
        for done, (day, path) in enumerate(todo, start=1):
            workbook = _open(path, outcome, scratch)
            if workbook is not None:
                try:
                    with conn.begin_nested():  # a failed log's new entities are undone
                        months, state = read_state(conn, workbook, day, closed_on, auto_setup,
                                                   memo)
                except Exception as exc:  # noqa: BLE001 - this file fails, the rest go on
                    reason = str(exc) if isinstance(exc, BookedBizError) else \
                        f"unreadable ({exc.__class__.__name__})"
                    outcome.failed.append((path.name, reason))
                    months = None
                finally:
                    workbook.close()
                if months is not None:
                    stamp = day.isoformat()
                    opened, closed = _advance(current, intervals, set(months), state, stamp)
                    records.append((stamp, path.name, workbook.sha256, json.dumps(months),
                                    opened, closed))
                    outcome.recorded += 1
                    outcome.rows_opened += opened
                    outcome.rows_closed += closed
            if progress:
                progress(done, path.name)
        starts = dict(conn.execute(text(
            "SELECT broadcast_month, MIN(valid_from) FROM booking_history "
            "WHERE station_id = :sid GROUP BY broadcast_month"), {"sid": station_id}).all())
        for key, (sums, valid_from) in current.items():
            intervals.append((*key, *sums, valid_from, starts.get(key[0])))
        now = utc_now()
        if records:
            conn.execute(text(
                "INSERT INTO history_records (as_of, station_id, kind, source_file, "
                "source_sha256, months, rows_opened, rows_closed, recorded_at) VALUES (:day, "
                ":sid, 'backfill', :file, :sha, :months, :opened, :closed, :now)"),
                [{"day": r[0], "sid": station_id, "file": r[1], "sha": r[2], "months": r[3],
                  "opened": r[4], "closed": r[5], "now": now} for r in records])
        insert_rows(conn, "booking_history", INTERVAL_COLUMNS,
                    [(*iv[:8], station_id, *iv[8:], None) for iv in intervals
                     if iv[-1] is None or iv[-2] < iv[-1]])


def _advance(current, intervals, months: set[str], state: State, stamp: str) -> tuple[int, int]:
    """Apply one day's state of ``months`` to the in-memory current intervals."""
    opened = closed = 0
    for key in [k for k in current if k[0] in months]:
        sums, valid_from = current[key]
        new = state.get(key)
        if new is not None and new == sums:
            continue
        del current[key]
        if valid_from < stamp:
            intervals.append((*key, *sums, valid_from, stamp))
        closed += 1
    for key, sums in state.items():
        if key not in current:
            current[key] = (list(sums), stamp)
            opened += 1
    return opened, closed
