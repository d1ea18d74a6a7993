"""The import's database work (see :mod:`bookedbiz.ingest.service` for the order of work):
one write transaction (``Database.writing()``: SQLite ``BEGIN IMMEDIATE``, PostgreSQL a
transaction holding the advisory write lock) inserts the new rows, deletes the replaced months'
old rows of the import's station, assigns languages, rebuilds the summary, records the booking
history, closes months (historical) and marks the batch ``completed`` — all or nothing. A dry
run does the same work and rolls it back.

The spots go in through :func:`bookedbiz.db.bulk.insert_rows` (sqlite3 ``executemany``, or
psycopg ``COPY``): the one place where the dialects differ in earnest. This module loads
SQLAlchemy; the service imports it only once the workbook's parse child is running, so the two
overlap.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, text

from bookedbiz import broadcast_calendar
from bookedbiz.db.access import Database, open_database
from bookedbiz.db.bulk import insert_rows
from bookedbiz.db.connection import utc_now
from bookedbiz.db.summary import write_summary
from bookedbiz.entities.resolver import EntityResolver
from bookedbiz.entities.stations import station_id_for
from bookedbiz.errors import BookedBizError, ImportFailed, WorkbookError
from bookedbiz.history.as_of import refuse_older_than_history, resolve_as_of
from bookedbiz.history.recording import add_to_state, language_groups, record_state
from bookedbiz.ingest.normalize import VALUE_COLUMNS, Reject, RowNormalizer, V
from bookedbiz.ingest.reader import Workbook, is_header_row
from bookedbiz.ingest.result import ImportResult, MonthChange, RejectRecord
from bookedbiz.ingest.service import default_station, previous_calendar_month
from bookedbiz.languages.assign import LanguageAssigner
from bookedbiz.months import close_months, closed_months

FLUSH_EVERY = 5000
MAX_STORED_REJECTS = 5000
RULES_PER_STATEMENT = 500  # language rules bound into one INSERT … SELECT (8 parameters each)

SPOT_COLUMNS = ("spot_id", "import_batch_id", "station_id", "source_file", "source_sheet",
                "source_row", *VALUE_COLUMNS)

Progress = Callable[[int], None]


def _process_alive(started_by: str | None) -> bool:
    if not started_by or ":" not in started_by:
        return False
    host, _, pid = started_by.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's batch: not ours to judge
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_batches(conn: Connection) -> int:
    """Mark ``running`` batches whose process is gone as failed (inside the caller's write
    transaction); returns how many."""
    stale = [
        batch_id
        for batch_id, started_by in conn.execute(text(
            "SELECT batch_id, started_by FROM import_batches WHERE status = 'running'"))
        if not _process_alive(started_by)
    ]
    if stale:
        conn.execute(text(
            "UPDATE import_batches SET status = 'failed', finished_at = :now, error = :error "
            "WHERE batch_id = :batch AND status = 'running'"),
            [{"now": utc_now(), "error": "interrupted: the importing process ended before "
              "finishing", "batch": b} for b in stale])
    return len(stale)


# SQLite checks every foreign key of every inserted row; the importer assigns every id itself
# inside the write lock, so those checks only cost time (the cascade they would give is done
# explicitly in _finish). The pragma only works outside a transaction, so it is issued when the
# import's write connection is made (SQLite writers get a new connection per transaction),
# before its BEGIN IMMEDIATE, on that connection alone.
_NO_FOREIGN_KEY_CHECKS: ContextVar[bool] = ContextVar("bookedbiz_import_fk_off", default=False)


def _foreign_keys_off(dbapi_connection: Any, record: Any) -> None:
    if _NO_FOREIGN_KEY_CHECKS.get():
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        record.info["bookedbiz_fk_off"] = True


def _foreign_keys_back_on(dbapi_connection: Any, record: Any) -> None:
    """Should a pool ever keep SQLite write connections, none goes back without its checks."""
    if record is not None and record.info.pop("bookedbiz_fk_off", False):
        dbapi_connection.execute("PRAGMA foreign_keys = ON")


@contextmanager
def _import_transaction(db: Database) -> Iterator[Connection]:
    """``db.writing()``, on SQLite without per-row foreign-key checks."""
    if db.is_sqlite:
        engine = db.engine("write", pool_size=2)
        if not event.contains(engine, "connect", _foreign_keys_off):
            event.listen(engine, "connect", _foreign_keys_off)
            event.listen(engine, "checkin", _foreign_keys_back_on)
    token = _NO_FOREIGN_KEY_CHECKS.set(db.is_sqlite)
    try:
        with db.writing() as conn:
            _NO_FOREIGN_KEY_CHECKS.reset(token)
            token = None
            yield conn
    finally:
        if token is not None:
            _NO_FOREIGN_KEY_CHECKS.reset(token)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during the row loop: it makes no cycles (rows are lists and
    tuples freed by reference counting), but its allocations would trigger full collections
    that walk every object SQLAlchemy loaded, again and again (measured: ~0.05 s of the 0.5 s
    of CPU a 10,000-row daily update spends in this process)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_import(
    database: Database | str | Path,
    workbook: Workbook,
    *,
    mode: str = "weekly",
    closed_by: str | None = None,
    station: str | None = None,
    strict: bool = False,
    dry_run: bool = False,
    include_previous_month: bool = False,
    auto_setup: bool = False,
    as_of: date | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    started_by: str | None = None,
) -> ImportResult:
    """Import an opened workbook (``service.import_opened`` documents it)."""
    file_path = workbook.path
    as_of = resolve_as_of(as_of or today, file_path)
    started = time.perf_counter()
    result = ImportResult(None, mode, str(file_path), workbook.sha256, dry_run=dry_run)
    owner = started_by or f"{socket.gethostname()}:{os.getpid()}"
    db = open_database(database)
    try:
        with db.writing() as conn:  # an unknown station stops here, before anything is written
            station_id = station_id_for(conn, station or default_station())
            result.station = str(conn.execute(text(
                "SELECT code FROM stations WHERE station_id = :sid"), {"sid": station_id}
            ).scalar_one())
            fail_abandoned_batches(conn)
        with db.writing() as conn:
            refuse_older_than_history(conn, as_of, station_id)  # before any batch row
            if not dry_run:
                result.batch_id = _create_batch(conn, result, closed_by, owner, as_of,
                                                station_id)
        try:
            with _import_transaction(db) as conn:
                if dry_run:  # a batch row only inside the transaction that is rolled back
                    result.batch_id = _create_batch(conn, result, closed_by, owner, as_of,
                                                    station_id)
                with _collector_paused():
                    _run(conn, workbook, result, mode=mode, closed_by=closed_by, strict=strict,
                         include_previous_month=include_previous_month,
                         auto_setup=auto_setup, as_of=as_of, progress=progress,
                         station_id=station_id)
                if dry_run:
                    raise _DryRunDone
        except _DryRunDone:
            result.status = "completed"
            result.batch_id = None
        except BaseException as exc:
            result.status = "failed"
            result.error = str(exc) if isinstance(exc, BookedBizError) else f"{exc!r}"
            _record_failure(db, result)
            if isinstance(exc, BookedBizError | KeyboardInterrupt):
                raise
            raise BookedBizError(f"The import failed and nothing was changed: {exc}") from exc
    finally:
        if db is not database:
            db.dispose()
        result.seconds = time.perf_counter() - started
    return result


def _create_batch(conn: Connection, result: ImportResult, closed_by: str | None,
                  owner: str, as_of: date, station_id: int) -> int:
    return int(conn.execute(text(
        "INSERT INTO import_batches (station_id, mode, source_file, source_sha256, started_at, "
        "status, closed_by, started_by, as_of) VALUES (:sid, :mode, :file, :sha, :now, "
        "'running', :closed_by, :owner, :as_of) RETURNING batch_id"),
        {"sid": station_id, "mode": result.mode, "file": result.source_file,
         "sha": result.source_sha256, "now": utc_now(), "closed_by": closed_by,
         "owner": owner, "as_of": as_of.isoformat()}).scalar_one())


class _DryRunDone(Exception):
    """Raised inside the transaction to roll a dry run back."""


def _record_failure(db: Database, result: ImportResult) -> None:
    if result.batch_id is None or result.dry_run:
        return
    try:
        with db.writing() as conn:
            conn.execute(text(
                "UPDATE import_batches SET status = 'failed', finished_at = :now, "
                "error = :error, rows_read = :read, rows_rejected = :rejected "
                "WHERE batch_id = :batch"),
                {"now": utc_now(), "error": result.error, "read": result.rows_read,
                 "rejected": result.rows_rejected, "batch": result.batch_id})
            _store_rejects(conn, result)
    except BookedBizError:
        pass  # e.g. still locked or disk full: the next run marks it failed


def _store_rejects(conn: Connection, result: ImportResult) -> None:
    if not result.rejects:
        return
    name = Path(result.source_file).name
    conn.execute(text(
        "INSERT INTO import_rejects (batch_id, source_file, sheet, row_number, column_name, "
        "value, reason) VALUES (:batch, :file, :sheet, :row, :column, :value, :reason)"),
        [{"batch": result.batch_id, "file": name, "sheet": r.sheet, "row": r.row_number,
          "column": r.column, "value": r.value, "reason": r.reason}
         for r in result.rejects[:MAX_STORED_REJECTS]])


def _month_stats(conn: Connection, month: str, station_id: int) -> tuple[int, int]:
    """Non-Trade spots and gross of a station's month, from the summary (kept exact by every
    write)."""
    row = conn.execute(text(
        "SELECT COALESCE(SUM(spots), 0), COALESCE(SUM(gross_micros), 0) FROM spot_summary "
        "WHERE broadcast_month = :month AND station_id = :sid"),
        {"month": month, "sid": station_id}).one()
    return int(row[0]), int(row[1])


def _run(conn: Connection, workbook, result: ImportResult, *, mode, closed_by, strict,
         include_previous_month, auto_setup, as_of, progress, station_id: int) -> None:
    now = utc_now()
    refuse_older_than_history(conn, as_of, station_id)
    closed = closed_months(conn, station_id)
    skip: dict[str, str] = {}
    if mode == "weekly":
        skip.update({m: "skipped-closed" for m in closed})
        previous = previous_calendar_month(as_of)
        if not include_previous_month and previous not in skip:
            skip[previous] = "skipped-previous-month"
    resolver = EntityResolver(conn, now, auto_setup=auto_setup)
    known_markets = resolver.known_markets
    assigner = LanguageAssigner(conn)
    normalizer = RowNormalizer()
    batch_id = result.batch_id or 0
    next_id = int(conn.execute(text("SELECT COALESCE(MAX(spot_id), 0) FROM spots"))
                  .scalar_one()) + 1
    first_new_id = next_id
    file_name = workbook.path.name
    before: dict[str, tuple[int, int]] = {}
    month_rows: dict[str, int] = {}
    skipped_months: dict[str, int] = {}
    groups: dict[tuple, list[int]] = {}
    booked: dict[tuple, list[int]] = {}  # the booking-history state of the replaced months
    group_of = language_groups(conn).get
    i_contract = V["contract"]
    spot_buffer: list[tuple] = []
    seen = 0

    def flush() -> None:
        insert_rows(conn, "spots", SPOT_COLUMNS, spot_buffer)
        spot_buffer.clear()

    i_month, i_bill, i_sales = V["broadcast_month"], V["bill_code"], V["sales_person"]
    i_market, i_lang, i_cat = V["market_code"], V["language_code"], V["language_category"]
    i_ae, i_customer, i_agency = V["ae_id"], V["customer_id"], V["agency_id"]
    i_trade, i_gross, i_net = V["is_trade"], V["gross_rate_micros"], V["station_net_micros"]
    i_revenue, i_spot = V["revenue_type"], V["spot_type"]
    i_air, i_billing = V["air_date"], V["billing_type"]
    normalize, assign = normalizer.normalize, assigner.assign
    # (bill code, sales person) → (customer, agency, AE): one lookup per row after the first.
    owners: dict[tuple[str, str | None], tuple[int, int | None, int]] = {}
    rows_read = rows_rejected = rows_skipped = 0
    for sheet in workbook.sheets:
        sheet_name = sheet.name
        for row_number, cells in sheet.rows:
            seen += 1
            if progress and seen % 2000 == 0:
                progress(seen)
            if len(cells) < 29:
                cells = list(cells) + [""] * (29 - len(cells))
            values = normalize(cells)
            if values is None:
                continue
            if type(values[0]) is Reject:
                if is_header_row(cells):  # a header repeated mid-sheet (concatenated exports)
                    normalizer.counters.repeated_headers += 1
                    continue
                rows_read += 1
                rows_rejected += 1
                if len(result.rejects) < MAX_STORED_REJECTS:  # a junk file stays bounded
                    for reject in values:
                        result.rejects.append(RejectRecord(sheet_name, row_number,
                                                           reject.column, reject.value,
                                                           reject.reason))
                continue
            rows_read += 1
            month = values[i_month]
            if month in skip:
                skipped_months[month] = skipped_months.get(month, 0) + 1
                rows_skipped += 1
                continue
            if month not in before:
                before[month] = _month_stats(conn, month, station_id)
                month_rows[month] = 0
            month_rows[month] += 1
            owner_key = (values[i_bill], values[i_sales])
            owner = owners.get(owner_key)
            if owner is None:
                owner = owners[owner_key] = (*resolver.customer_for(owner_key[0]),
                                             resolver.ae_for(owner_key[1], owner_key[0]))
            customer_id, agency_id, ae_id = owner
            market = values[i_market]
            if market not in known_markets:
                resolver.note_market(market)
            values[i_ae], values[i_customer], values[i_agency] = ae_id, customer_id, agency_id
            language = assign(values[i_cat], values[i_lang])
            spot_buffer.append((next_id, batch_id, station_id, file_name, sheet_name,
                                row_number, *values))
            if not values[i_trade]:
                key = (month, ae_id, customer_id, agency_id, market, values[i_revenue],
                       values[i_spot], language[5], values[i_air][:7],  # month basis §1.2
                       values[i_billing] == "Calendar")
                sums = groups.get(key)
                if sums is None:
                    sums = groups[key] = [0, 0, 0]
                sums[0] += values[i_gross] or 0
                sums[1] += values[i_net] or 0
                sums[2] += 1
                add_to_state(booked, (month, customer_id, agency_id, ae_id, market,
                                      values[i_revenue], group_of(language[5], language[5]),
                                      values[i_contract] or ""),
                             values[i_gross] or 0, values[i_net] or 0)
            next_id += 1
            if len(spot_buffer) >= FLUSH_EVERY:
                flush()
    flush()
    result.rows_read, result.rows_rejected, result.rows_skipped = (rows_read, rows_rejected,
                                                                   rows_skipped)
    if progress:
        progress(seen)
    _finish(conn, result, normalizer, resolver, assigner, mode=mode, closed_by=closed_by,
            strict=strict, skip=skip, before=before, month_rows=month_rows,
            skipped_months=skipped_months, groups=groups, now=now, first_new_id=first_new_id,
            as_of=as_of, booked=booked, station_id=station_id)


def _assign_languages(conn: Connection, assigner: LanguageAssigner, first_new_id: int,
                      now: str) -> int:
    """Write every new spot's language assignment with INSERT … SELECT joined to the rules
    (applied once per distinct (category, code) pair during the row loop, bound here as a
    VALUES list); returns how many spots got one, which the caller checks against the spots
    inserted."""
    rules: dict[tuple[str, str], tuple] = {}
    for (category, code), assignment in assigner.assignments():
        rules[(category, code or "")] = tuple(assignment)  # None and '' are the same blank
    assigned = 0
    items = list(rules.items())
    for start in range(0, len(items), RULES_PER_STATEMENT):
        chunk = items[start:start + RULES_PER_STATEMENT]
        params: dict[str, object] = {"now": now, "first": first_new_id}
        rows = []
        for i, ((category, code), (language, status, confidence, review, method, bucket)) \
                in enumerate(chunk):
            params.update({f"c{i}": category, f"k{i}": code, f"l{i}": language,
                           f"s{i}": status, f"f{i}": float(confidence), f"r{i}": bool(review),
                           f"m{i}": method, f"b{i}": bucket})
            rows.append(f"(:c{i}, :k{i}, :l{i}, :s{i}, :f{i}, :r{i}, :m{i}, :b{i})")
        assigned += conn.execute(text(
            "INSERT INTO language_assignments (spot_id, language_code, status, confidence, "
            "requires_review, method, report_bucket, assigned_at) "
            "WITH r (category, code, language_code, status, confidence, requires_review, "
            f"method, bucket) AS (VALUES {', '.join(rows)}) "
            "SELECT s.spot_id, r.language_code, r.status, r.confidence, r.requires_review, "
            "r.method, r.bucket, :now FROM spots s CROSS JOIN r "  # new spots outermost (SQLite)
            "WHERE r.category = s.language_category AND r.code = COALESCE(s.language_code, '') "
            "AND s.spot_id >= :first"
        ), params).rowcount
    return assigned


def _finish(conn, result: ImportResult, normalizer, resolver, assigner, *, mode, closed_by,
            strict, skip, before, month_rows, skipped_months, groups, now,
            first_new_id, as_of, booked, station_id: int) -> None:
    name = Path(result.source_file).name
    if result.rows_read == 0:
        raise WorkbookError(f"{name} has a header row but no spot rows; nothing was imported.")
    if result.rows_rejected == result.rows_read:
        first = result.rejects[0]
        raise ImportFailed(
            f"Every row of {name} was rejected ({result.rows_rejected} rows; first: sheet "
            f"'{first.sheet}' row {first.row_number}, {first.column}: {first.reason}); "
            "nothing was imported."
        )
    if strict and result.rejects:
        first = result.rejects[0]
        raise ImportFailed(
            f"--strict: {result.rows_rejected} row(s) of {name} were rejected (first: sheet "
            f"'{first.sheet}' row {first.row_number}, {first.column}: {first.reason}); "
            "nothing was imported."
        )
    months = sorted(month_rows)
    if not months:
        reasons = ", ".join(
            f"{broadcast_calendar.label(m)} ({skip[m].replace('skipped-', '')})"
            for m in sorted(skipped_months)
        )
        raise ImportFailed(
            f"Nothing in {name} can be imported: every month in it is skipped ({reasons}); "
            "closed months change only through a historical import."
        )
    batch_id = result.batch_id or 0
    # Old rows of a replaced month are the station's ones numbered below this run's first new
    # spot: the (month, station) index alone answers that (on SQLite the rowid is part of every
    # index entry). Other stations' rows of the month stay.
    for month in months:
        values = {"month": month, "sid": station_id, "first": first_new_id}
        conn.execute(text(
            "DELETE FROM language_assignments WHERE spot_id IN (SELECT spot_id FROM spots "
            "WHERE broadcast_month = :month AND station_id = :sid AND spot_id < :first)"),
            values)
        result.rows_deleted += conn.execute(text(
            "DELETE FROM spots WHERE broadcast_month = :month AND station_id = :sid "
            "AND spot_id < :first"), values).rowcount
    assigned = _assign_languages(conn, assigner, first_new_id, now)
    missing = sum(month_rows.values()) - assigned
    if missing:
        raise ImportFailed(f"Language assignment failed for {missing} spots; nothing was imported.")
    result.language_assignment_ok = True
    write_summary(conn, months, groups, station_id)
    record_state(conn, as_of, months, booked, kind="import", batch_id=batch_id or None,
                 source_file=name, source_sha256=result.source_sha256, station_id=station_id)
    if mode == "historical":
        close_months(conn, months, closed_by, f"historical import of {name}", batch_id or None,
                     station_id=station_id)
        result.months_closed = months
    result.months_replaced = months
    result.rows_inserted = sum(month_rows.values())
    result.months_in_file = sorted(set(months) | set(skipped_months))
    after: dict[str, list[int]] = {month: [0, 0] for month in months}
    for key, (gross, _net, count) in groups.items():
        after[key[0]][0] += count
        after[key[0]][1] += gross
    for month in months:
        rows_before, gross_before = before[month]
        rows_after, gross_after = after[month]
        result.changes.append(
            MonthChange(month, rows_before, gross_before, rows_after, gross_after, "replaced")
        )
    for month, count in sorted(skipped_months.items()):
        rows, gross = _month_stats(conn, month, station_id)
        result.changes.append(MonthChange(month, rows, gross, rows, gross, skip[month]))
        result.warnings.append(
            f"{count} rows of {broadcast_calendar.label(month)} skipped ({skip[month]})"
        )
    _collect_warnings(result, normalizer, resolver)
    result.status = "completed"
    if batch_id:
        conn.execute(text(
            "UPDATE import_batches SET status = 'completed', finished_at = :now, "
            "months_affected = :months, rows_read = :read, rows_inserted = :inserted, "
            "rows_deleted = :deleted, rows_rejected = :rejected, rows_skipped = :skipped, "
            "warnings = :warnings, changes = :changes WHERE batch_id = :batch"),
            {"now": utc_now(), "months": json.dumps(months), "read": result.rows_read,
             "inserted": result.rows_inserted, "deleted": result.rows_deleted,
             "rejected": result.rows_rejected, "skipped": result.rows_skipped,
             "warnings": json.dumps(result.warnings),
             "changes": json.dumps([c.to_dict() for c in result.changes]), "batch": batch_id})
        _store_rejects(conn, result)


def _collect_warnings(result: ImportResult, normalizer: RowNormalizer,
                      resolver: EntityResolver) -> None:
    counters = normalizer.counters
    warn = result.warnings.append
    if result.rows_rejected:
        warn(f"{result.rows_rejected} rows rejected (see the rejects list)")
    if counters.footer:
        warn(f"{counters.footer} totals/footer rows ignored")
    if counters.repeated_headers:
        warn(f"{counters.repeated_headers} repeated header rows ignored")
    if counters.month_derived:
        warn(f"{counters.month_derived} rows had no usable Month; derived from the air date")
    if counters.month_mismatch:
        warn(f"{counters.month_mismatch} rows have a Month that differs from the calendar month "
             "of their air date (the Month column was kept)")
    for raw, count in sorted(counters.unknown_spot_types.items()):
        warn(f"{count} rows have unknown spot type '{raw}' (stored as blank)")
    for raw, count in sorted(counters.unknown_revenue_types.items()):
        warn(f"{count} rows have unknown revenue type '{raw}' (kept as is)")
    for column, count in sorted(counters.bad_cells.items()):
        warn(f"{count} unreadable values in column {column} (stored as blank)")
    created = resolver.created
    for code, count in sorted(created.unknown_markets.items()):
        warn(f"{count} rows have unknown market '{code}' (kept; --auto-setup adds it)")
    result.created = {
        "customers": created.customers, "agencies": created.agencies, "aes": created.aes,
        "ae_aliases": created.ae_aliases, "markets": created.markets,
    }
