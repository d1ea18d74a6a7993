"""Booking history benchmark: cost, size and read speed of the history (issue 11).

    .venv/bin/python bench/bench_history.py bench/out/bench-1x.db [--days 730] [--runs 5]

Works on copies in a temporary folder. A simulated traffic system keeps a book of ~10,000 spot
lines over last month + 12 months ahead and changes it every day the way sales does: new
orders booked weeks to months ahead (more for the near months), cancellations, rate changes,
a new month entering the window and the oldest leaving it. Its daily logs drive everything:

1. History size: ``--days`` daily states (default 730, two years) recorded into a copy of the
   1.2 M-spot database through the backfill path (read → resolve → record, no workbook file),
   history bytes (table + index, from dbstat) reported every 90 days. Target < 200 MB at 730.
2. Daily-update overhead: 10,000-row daily imports on the 1.2 M-spot copy (in-process,
   ``import_opened`` on in-memory logs, so reading the xlsx is left out and the ratio is the
   worst case), the history's own work timed inside each run (accumulating the state in the
   row loop + recording the intervals); without = the whole − that. Target ≤ +15 %.
3. Backfill speed: ``--backfill-logs`` archived logs written as real .xlsx, replayed by
   ``bookedbiz history backfill`` as a process; seconds per log × 365. Target < 300 s.
4. Pacing page cold (caches cleared before every request) p50/p95 on the 1.2 M-spot copy with
   the two-year history, a few variants; target p95 ≤ 150 ms. ``report pacing`` as a process,
   median; target ≤ 1 s.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.access import Database
from bookedbiz.history.recording import record_state
from bookedbiz.ingest import backfill, service, transaction
from bookedbiz.ingest.reader import SheetRows, Workbook
from bookedbiz.synth.generator import LogSpec, RowFactory

ROWS = 10_000
WEIGHTS = [3.0, 2.2, 1.6, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35]


class SimulatedBook:
    """A traffic system's book of spot lines, changed a little every day."""

    def __init__(self, seed: int, start: date):
        self.rng = random.Random(seed)
        self.factory = RowFactory(LogSpec(bc.broadcast_month_of(start), 14, 1, seed, "daily",
                                          False))
        self.lines: dict[int, list[object]] = {}
        self.next_id = 0
        months = self.window(start)
        total = sum(WEIGHTS[: len(months)])
        for i, month in enumerate(months):
            for _ in range(int(ROWS * WEIGHTS[i] / total)):
                self._add(month)

    @staticmethod
    def window(day: date) -> list[str]:
        first = bc.shift_month(bc.calendar_month_of(day), -1)
        return [bc.shift_month(first, i) for i in range(14)]

    def _add(self, month: str) -> None:
        self.lines[self.next_id] = self.factory.row(month, "Commercials")
        self.next_id += 1

    def advance(self, day: date) -> None:
        """One day of sales: ~0.5 % cancelled, ~0.3 % re-rated, new orders keep ~10,000."""
        rng = self.rng
        months = self.window(day)
        low = months[0]
        for key in [k for k, row in self.lines.items() if _month(row) < low]:
            del self.lines[key]  # aired and billed: out of the daily log
        current = bc.broadcast_month_of(day)
        open_keys = [k for k, row in self.lines.items() if _month(row) >= current]
        for key in rng.sample(open_keys, min(len(open_keys), int(len(self.lines) * 0.005))):
            del self.lines[key]
        for key in rng.sample(open_keys, min(len(open_keys), int(len(self.lines) * 0.003))):
            row = self.lines.get(key)
            if row is not None and isinstance(row[15], float):
                factor = rng.choice((0.8, 0.9, 1.1, 1.25))
                row[15] = round(row[15] * factor, 2)
                row[17] = row[15]
                row[21] = round(row[21] * factor, 2) if isinstance(row[21], float) else row[21]
        ahead = [m for m in months if m >= current]
        adds = max(0, ROWS - len(self.lines)) + int(ROWS * 0.004)
        for _ in range(adds):
            self._add(rng.choices(ahead, WEIGHTS[: len(ahead)])[0])

    def workbook(self, day: date) -> Workbook:
        rows = [list(row) for row in self.lines.values()]
        sheet = SheetRows("Commercials", enumerate(rows, start=2))
        return Workbook(Path(f"Commercial Log {day:%y%m%d}.xlsx"), f"{day:%Y%m%d}".ljust(64, "0"),
                        [sheet])

    def rows(self) -> list[list[object]]:
        return [list(row) for row in self.lines.values()]


def _month(row: list[object]) -> str:
    cell = row[18]
    return f"{cell.year:04d}-{cell.month:02d}"  # type: ignore[union-attr]


def history_bytes(db: Path) -> int:
    """Pages of the history tables and of every index on them."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(
            "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM "
            "sqlite_master WHERE tbl_name IN ('booking_history', 'history_records'))"
        ).fetchone()[0])
    finally:
        conn.close()


def current_history_indexes(db: Path) -> None:
    """A bench database built by older code gets today's history indexes (schema.py)."""
    from sqlalchemy import create_engine

    from bookedbiz.db.schema import booking_history, history_records

    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_booking_history_month_to")
        for table in (booking_history, history_records):
            for index in table.indexes:
                index.create(conn, checkfirst=True)
    engine.dispose()


def record_days(db: Path, book: SimulatedBook, first: date, days: int) -> list[str]:
    """Part 1: ``days`` daily states through the backfill path, one transaction a day."""
    out = []
    database = Database(db)
    started = time.perf_counter()
    memo: dict = {}
    try:
        for n in range(days):
            day = first + timedelta(days=n)
            if n:
                book.advance(day)
            with database.writing() as conn:
                months, state = backfill.read_state(conn, book.workbook(day), day, {}, True,
                                                    memo)
                record_state(conn, day, months, state, kind="backfill")
            if (n + 1) % 90 == 0 or n + 1 == days:
                with sqlite3.connect(db) as raw:  # a SQLite bench: checkpoint, then measure
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    rows = raw.execute("SELECT COUNT(*) FROM booking_history").fetchone()[0]
                size = history_bytes(db)
                line = (f"  day {n + 1:4d}: history {size / 1e6:7.1f} MB, {rows:,} intervals, "
                        f"{(time.perf_counter() - started) / (n + 1) * 1000:.0f} ms/day")
                print(line, flush=True)
                out.append(line)
    finally:
        database.dispose()
    return out


def import_overhead(db: Path, book: SimulatedBook, first: date,
                    runs: int) -> tuple[float, float, float]:
    """Part 2: daily imports timed whole, with the history's own work (accumulating the state
    in the row loop, recording the intervals) timed inside the same run; ``without`` is the
    whole minus that part. Medians of (with, without, overhead %)."""
    spent = [0.0]
    real_record, real_add = transaction.record_state, transaction.add_to_state

    def timed_record(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started = time.perf_counter()
        try:
            return real_record(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    def timed_add(*args):  # noqa: ANN002, ANN202
        started = time.perf_counter()
        real_add(*args)
        spent[0] += time.perf_counter() - started

    transaction.record_state, transaction.add_to_state = timed_record, timed_add
    withs, withouts, ratios = [], [], []
    try:
        for n in range(runs + 1):
            day = first + timedelta(days=n)
            book.advance(day)
            spent[0] = 0.0
            started = time.perf_counter()
            result = service.import_opened(db, book.workbook(day), as_of=day, auto_setup=True)
            whole = time.perf_counter() - started
            if n == 0:
                continue  # the first run after the state simulation is a full replacement
            withs.append(whole)
            withouts.append(whole - spent[0])
            ratios.append(spent[0] / (whole - spent[0]) * 100)
            print(f"  {day}: {whole:.3f} s, history {spent[0] * 1000:.0f} ms "
                  f"(+{ratios[-1]:.1f} %), {result.rows_inserted:,} rows", flush=True)
    finally:
        transaction.record_state, transaction.add_to_state = real_record, real_add
    return statistics.median(withs), statistics.median(withouts), statistics.median(ratios)


def write_xlsx(rows: list[list[object]], path: Path) -> None:
    import xlsxwriter

    from bookedbiz.ingest.layout import HEADERS_2024

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    date_fmt = book.add_format({"num_format": "m/d/yyyy"})
    time_fmt = book.add_format({"num_format": "h:mm:ss"})
    sheet = book.add_worksheet("Commercials")
    sheet.write_row(0, 0, HEADERS_2024)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, date) and not isinstance(value, datetime):
                sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
            elif isinstance(value, timedelta):
                sheet.write_number(r, c, value.total_seconds() / 86400, time_fmt)
            elif hasattr(value, "hour"):
                sheet.write_datetime(r, c, value, time_fmt)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    book.close()


def backfill_speed(workdir: Path, book: SimulatedBook, first: date, logs: int) -> float:
    """Part 3: seconds per archived log replayed by the CLI (one process for the folder)."""
    folder = workdir / "archive"
    folder.mkdir()
    for n in range(logs):
        day = first + timedelta(days=n)
        book.advance(day)
        write_xlsx(book.rows(), folder / f"Commercial Log {day:%y%m%d}.xlsx")
    db = workdir / "backfill.db"
    subprocess.run([sys.executable, "-m", "bookedbiz", "init", "--db", str(db)], check=True,
                   capture_output=True)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bookedbiz", "history", "backfill",
                           str(folder), "--db", str(db)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    print("  " + (proc.stdout.strip() or proc.stderr.strip()), flush=True)
    return elapsed / logs


def pacing_reads(db: Path, as_of: date, runs: int) -> list[str]:
    """Part 4: the pacing page cold and ``report pacing`` as a process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_web import bench_test_client, percentile, setup

    setup(db)
    _, _, token = setup(db)
    month = bc.shift_month(bc.broadcast_month_of(as_of), 2)
    urls = [f"/reports/pacing?as_of={as_of}",
            f"/reports/pacing?as_of={as_of}&by=ae",
            f"/reports/pacing?as_of={as_of}&by=customer&measure=net",
            f"/reports/pacing?as_of={as_of}&curve={month}&market=SEA",
            "/reports/changes",
            f"/api/v1/pacing?as_of={as_of}&by=market"]
    times = bench_test_client(db, urls, runs, token, cold=True)
    lines = []
    for url, samples in times.items():
        lines.append(f"  {url:<62} p50 {statistics.median(samples):6.1f} ms  "
                     f"p95 {percentile(samples, 95):6.1f} ms")
        print(lines[-1], flush=True)
    cli = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bookedbiz", "report", "pacing", "--as-of",
                        as_of.isoformat(), "--format", "json", "--db", str(db)], check=True,
                       capture_output=True)
        cli.append(time.perf_counter() - started)
    lines.append(f"  report pacing as a process: median {statistics.median(cli):.2f} s "
                 f"(min {min(cli):.2f}, max {max(cli):.2f})")
    print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path, help="a bench database (bench/build_bench_db.py)")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, default=5, help="timed imports each way")
    parser.add_argument("--backfill-logs", type=int, default=20)
    parser.add_argument("--page-runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the database with the history here (for bench_web.py)")
    parser.add_argument("--reuse", action="store_true",
                        help="DB already holds the history (a --keep copy): skip part 1")
    args = parser.parse_args()
    first = date(2024, 10, 1)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        workdir = Path(tmp)
        db = workdir / "history.db"
        shutil.copyfile(args.db, db)
        current_history_indexes(db)
        book = SimulatedBook(7, first)
        last_day = first + timedelta(days=args.days - 1)
        if args.reuse:
            for n in range(1, args.days):
                book.advance(first + timedelta(days=n))
            print(f"1. (reused) history {history_bytes(db) / 1e6:.1f} MB", flush=True)
        else:
            conn = sqlite3.connect(db)  # start from an empty history; the spots stay
            conn.execute("DELETE FROM booking_history")
            conn.execute("DELETE FROM history_records")
            conn.commit()
            conn.close()
            spots = sqlite3.connect(db).execute("SELECT COUNT(*) FROM spots").fetchone()[0]
            print(f"1. History size: {args.days} daily states of a ~{ROWS:,}-line book on "
                  f"{spots:,} spots", flush=True)
            record_days(db, book, first, args.days)
            if args.keep:
                shutil.copyfile(db, args.keep)
        print("4. Pacing reads (cold)", flush=True)
        pacing_reads(db, last_day, args.page_runs)
        print(f"2. Daily update of a {ROWS:,}-row log with and without history", flush=True)
        with_s, without_s, ratio = import_overhead(db, book, last_day + timedelta(days=1),
                                                   args.runs)
        print(f"  median whole import {with_s:.3f} s, of which not history {without_s:.3f} s; "
              f"median overhead +{ratio:.1f} %", flush=True)
        if not args.backfill_logs:
            return
        print(f"3. Backfill of {args.backfill_logs} archived logs (xlsx)", flush=True)
        per_log = backfill_speed(workdir, SimulatedBook(9, first), first, args.backfill_logs)
        print(f"  {per_log:.2f} s per log → 365 logs ≈ {per_log * 365:.0f} s", flush=True)


if __name__ == "__main__":
    main()
