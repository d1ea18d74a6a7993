"""SQLite and PostgreSQL side by side (issue 14 "Speed"): the same measures, the same machine,
runs interleaved, medians, and the PostgreSQL / SQLite ratio per measure (bar: ≤ 1.5×).

    .venv/bin/python bench/bench_databases.py --per-month 800 --import-runs 1   # small, quick
    .venv/bin/python bench/bench_databases.py --scale 1 --scale 5 --cold-runs 20 --cold-runs-5x 10

1. Import, each run a command in its own process, SQLite and PostgreSQL interleaved:
   - the 500,000-row recap (``bookedbiz import --mode historical`` into a fresh database), the
     import's own ``seconds`` (reading the workbook included), median of ``--import-runs``;
   - the daily update of a 10,000-row log (``bookedbiz daily-update`` end to end, start-up and
     the parse child included; the database set up as bench_import.py does), median of
     ``--daily-runs``.
   SQLite gets ``--db FILE``; PostgreSQL gets ``DATABASE_URL`` in the environment.
2. Every report page of bench_web.py, cold (report and footer caches cleared before each
   request), server time with the Flask test client, both apps in this one process, requests
   alternating between them: p50 and p95 per page, at each ``--scale`` (1 = 1.2 M spots,
   5 = 6 M) or ``--per-month`` (spots per broadcast month, for small development runs). Both
   databases hold exactly the same rows (bench_data.py copies the built SQLite file into
   PostgreSQL), and the API's revenue JSON is compared between them before timing.

PostgreSQL is a throwaway server (bench/pg_server.py, settings printed). Whatever part of the
PostgreSQL port is not there yet is reported per measure ("not measured: …") instead of failing
the run. Results are printed as tables and written to bench/out/bench_databases-*.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench_data import OUT, add_bench_user, copy_to_postgres, spot_count, sqlite_bench_db
from bench_data import working_copy as copy_working
from pg_server import PgServer

PY = sys.executable
BAR = 1.5
# Byte-compiled modules are written, as on an installed system (bench_import.py).
BASE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "DATABASE_URL", "DATABASE_PATH")}


# -- the machine's load while a measure runs -----------------------------------------------


class LoadMonitor:
    """The 1-minute load average sampled every few seconds while a measure runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = []
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self._every):
                return

    def __enter__(self) -> LoadMonitor:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> str:
        return f"{min(self.samples):.1f}–{max(self.samples):.1f}"


# -- one database as commands see it --------------------------------------------------------


@dataclass
class Side:
    """SQLite (a file, ``--db``) or PostgreSQL (a database on the server, ``DATABASE_URL``)."""

    name: str
    server: PgServer | None = None
    workdir: Path | None = None
    error: str | None = None  # set once a step fails: the rest of that measure is skipped
    _count: int = field(default=0, repr=False)

    @property
    def is_pg(self) -> bool:
        return self.server is not None

    def fresh(self, label: str) -> str:
        """A new, empty, initialised database: its path or URL."""
        self._count += 1
        if self.server is not None:
            target = self.server.create_database(f"bench_{label}_{self._count}")
        else:
            assert self.workdir is not None
            target = str(self.workdir / f"{label}-{self._count}.db")
        self.run(target, "init")
        return target

    def discard(self, target: str) -> None:
        if self.server is not None:
            self.server.drop_database(target.rsplit("/", 1)[1])
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)

    def command(self, target: str, *args: str) -> tuple[list[str], dict[str, str]]:
        argv = [PY, "-m", "bookedbiz", *args]
        if self.is_pg:
            return argv, dict(BASE_ENV, DATABASE_URL=target)
        return [*argv, "--db", target], dict(BASE_ENV)

    def run(self, target: str, *args: str) -> str:
        """Run a set-up command; a failure raises StepFailed with its one sentence."""
        argv, env = self.command(target, *args)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if proc.returncode:
            raise StepFailed(f"'bookedbiz {args[0]}' failed: {last_line(proc)}")
        return proc.stdout

    def timed(self, target: str, *args: str) -> tuple[float, float, str]:
        """Wall and CPU seconds (the reaped parse child included) and stdout of one command."""
        argv, env = self.command(target, *args)
        started = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(
                errors="replace")
        if os.waitstatus_to_exitcode(status):
            lines = (stderr.strip() or stdout.strip()).splitlines()
            raise StepFailed(f"'bookedbiz {args[0]}' failed: "
                             f"{lines[-1] if lines else os.waitstatus_to_exitcode(status)}")
        return wall, usage.ru_utime + usage.ru_stime, stdout


class StepFailed(Exception):
    """A command or page that does not work on this database (yet)."""


def last_line(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return text[-1] if text else f"exit code {proc.returncode}"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(pg: float | None, lite: float | None) -> float | None:
    return round(pg / lite, 2) if pg and lite else None


# -- 1. import -------------------------------------------------------------------------------


def ensure_workbook(name: str, kind: str, start: str, months: int, per_month: int) -> Path:
    """bench/out's generated workbook (the same files bench_import.py uses)."""
    path = OUT / name
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        print(f"generating {name} …", flush=True)
        subprocess.run([PY, "-m", "bookedbiz", "generate-log", str(path), "--start", start,
                        "--months", str(months), "--rows-per-month", str(per_month), "--kind",
                        kind], check=True, capture_output=True, env=BASE_ENV)
    return path


def measure_recap(sides: list[Side], rows: int, runs: int) -> dict:
    recap = ensure_workbook(f"recap-{rows}.xlsx", "recap", "2025-01", 12, rows // 12)
    seconds: dict[str, list[float]] = {s.name: [] for s in sides}
    with LoadMonitor() as load:
        for _ in range(runs):
            for side in sides:
                if side.error:
                    continue
                try:
                    target = side.fresh("recap")
                    try:
                        _wall, _cpu, out = side.timed(
                            target, "import", str(recap), "--mode", "historical",
                            "--closed-by", "bench", "--json")
                        seconds[side.name].append(float(json.loads(out)["seconds"]))
                    finally:
                        side.discard(target)
                except StepFailed as exc:
                    side.error = str(exc)
    return result_row(f"historical import of a {rows:,}-row recap (s)", sides, seconds,
                      load.summary())


def measure_daily(sides: list[Side], runs: int) -> dict:
    log = ensure_workbook("daily-10k.xlsx", "daily", "2026-10", 5, 2000)
    targets: dict[str, str] = {}
    for side in sides:
        try:
            target = targets[side.name] = side.fresh("daily")
            side.run(target, "import", str(log), "--mode", "historical", "--closed-by", "x",
                     "--as-of", "2026-11-19")
            for month in ("Nov-26", "Dec-26", "Jan-27", "Feb-27"):
                side.run(target, "months", "reopen", month, "--by", "x", "--reason", "b")
        except StepFailed as exc:
            side.error = str(exc)
    # Without --auto-setup (bench_import.py has it): its one new market is added by the warm-up
    # run only, so the timed runs are the same either way, and PostgreSQL's first run then
    # does not depend on the resolver's market insert.
    args = ("daily-update", str(log), "--unattended", "--as-of", "2026-11-20")
    walls: dict[str, list[float]] = {s.name: [] for s in sides}
    with LoadMonitor() as load:
        for attempt in range(runs + 1):  # the first is a warm-up (byte code, page cache)
            for side in sides:
                if side.error:
                    continue
                try:
                    wall, _cpu, _out = side.timed(targets[side.name], *args)
                except StepFailed as exc:
                    side.error = str(exc)
                    continue
                if attempt:
                    walls[side.name].append(wall)
    for side in sides:
        if side.name in targets:
            side.discard(targets[side.name])
    return result_row("daily update of a 10,000-row log, end to end (s)", sides, walls,
                      load.summary())


def result_row(measure: str, sides: list[Side], values: dict[str, list[float]],
               load: str) -> dict:
    row: dict = {"measure": measure, "load": load}
    for side in sides:
        row[side.name] = {"median": median(values[side.name]),
                          "runs": [round(v, 3) for v in values[side.name]]}
        if side.error:
            row[side.name]["not_measured"] = side.error
        side.error = None  # the next measure tries again
    row["ratio"] = ratio(row["postgresql"]["median"], row["sqlite"]["median"])
    return row


# -- 2. report pages, cold -------------------------------------------------------------------


def app_settings(target: str):  # noqa: ANN201 - bookedbiz.config.Settings
    """Settings naming exactly one database, whatever the environment says."""
    import dataclasses

    from bookedbiz.config import load_settings

    settings = load_settings()
    if "://" in target:
        return dataclasses.replace(settings, database_url=target, database_path=None)
    return dataclasses.replace(settings, database_url=None, database_path=Path(target))


def signed_in_client(target: str):  # noqa: ANN201 - (Flask test client, caches)
    """The app on ``target`` in this process, signed in as the benchmark viewer."""
    import re

    from bookedbiz.web import create_app

    config = {"SETTINGS": app_settings(target), "SECRET_KEY": "bench-" + "z" * 32}
    config["DATABASE_URL" if "://" in target else "DATABASE_PATH"] = target
    app = create_app(config)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if not found:
        raise StepFailed(f"the sign-in page did not render ({page[:120]!r})")
    from bench_data import BENCH_PASSWORD, BENCH_USER

    signed = client.post("/login", data={"username": BENCH_USER, "password": BENCH_PASSWORD,
                                         "csrf_token": found.group(1)})
    if signed.status_code != 302:
        raise StepFailed(f"signing in answered HTTP {signed.status_code}")
    caches = [app.extensions["bookedbiz.report_cache"], app.extensions["bookedbiz.freshness"]]
    return client, caches


def year_and_customer(db: Path) -> tuple[int, int]:
    """bench_web.py's choice: the year before the last, the customer with the most spots."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        years = sorted({int(m[:4]) for (m,) in conn.execute(
            "SELECT DISTINCT broadcast_month FROM spot_summary")})
        customer = conn.execute("SELECT customer_id FROM spot_summary GROUP BY customer_id "
                                "ORDER BY SUM(spots) DESC LIMIT 1").fetchone()[0]
    return (years[-2] if len(years) > 1 else years[-1]), customer


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def round_trips(target: str, repeat: int = 300) -> dict:
    """Median cost of one trivial query inside a read transaction, and of a whole read
    transaction around it (every request opens one), in microseconds."""
    from sqlalchemy import text

    from bookedbiz.db.access import Database

    db = Database(target)
    query, transaction = [], []
    try:
        with db.reading() as conn:
            for _ in range(repeat):
                started = time.perf_counter()
                conn.execute(text("SELECT 1")).scalar()
                query.append(time.perf_counter() - started)
        for _ in range(repeat):
            started = time.perf_counter()
            with db.reading() as conn:
                conn.execute(text("SELECT 1")).scalar()
            transaction.append(time.perf_counter() - started)
    finally:
        db.dispose()
    return {"query_us": round(statistics.median(query) * 1e6),
            "read_transaction_us": round(statistics.median(transaction) * 1e6)}


def measure_pages(server: PgServer, per_month: int, years: int, runs: int) -> dict:
    from bench_web import pages

    source = sqlite_bench_db(per_month, years)
    with tempfile.TemporaryDirectory(prefix="bench-db-", dir=OUT) as work:
        db = copy_working(source, Path(work))
        token = add_bench_user(db)
        spots = spot_count(db)
        year, customer = year_and_customer(db)
        dbname = f"pages_{per_month}x{years}"
        url = copy_to_postgres(db, server, dbname)
        urls = pages(year, customer)
        headers = {"Authorization": f"Bearer {token}"}
        print(f"\n{spots:,} spots; year {year}; customer #{customer}; {runs} cold runs a page",
              flush=True)
        clients: dict[str, object] = {}
        failed: dict[str, str] = {}
        for name, target in (("sqlite", str(db)), ("postgresql", url)):
            try:
                clients[name] = signed_in_client(target)
            except Exception as exc:  # noqa: BLE001 - any failure: say so, measure the rest
                failed[name] = f"the web app does not start on it: {one_line(exc)}"
        same = compare_api(clients, f"/api/v1/revenue?by=customer&year={year}", headers)
        print(f"API revenue by customer identical on both: {same}", flush=True)
        trips = {}
        for name, target in (("sqlite", str(db)), ("postgresql", url)):
            try:
                trips[name] = round_trips(target)
            except Exception as exc:  # noqa: BLE001
                trips[name] = {"not_measured": one_line(exc)}
        print(f"one SELECT 1 / one read transaction around it (µs): {trips}", flush=True)
        rows = []
        with LoadMonitor() as load:
            for page in urls:
                rows.append(time_page(page, clients, failed, headers, runs))
        server.drop_database(dbname)
    return {"spots": spots, "per_month": per_month, "years": years, "cold_runs": runs,
            "year": year, "load": load.summary(), "api_revenue_identical": same,
            "round_trips": trips,
            "pages": rows}


class LastError(logging.Handler):
    """Keeps the last error the app logged (a page's 500), instead of printing tracebacks."""

    last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        self.last = one_line(exc) if exc else record.getMessage()[:200]

    def take(self) -> str:
        last, self.last = self.last, None
        return f": {last}" if last else ""


APP_ERRORS = LastError(logging.ERROR)


class QueryCounter:
    """Statements sent through SQLAlchemy, per dialect: a page's round trips to the database
    (what a server pays per query and an in-process SQLite hardly does)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._count)

    def _count(self, conn, *_args) -> None:  # noqa: ANN001
        name = conn.dialect.name
        self.counts[name] = self.counts.get(name, 0) + 1


QUERIES = QueryCounter()
logging.getLogger().addHandler(APP_ERRORS)  # before create_app: Flask adds no stderr handler


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def get(client_and_caches, url: str, headers: dict, cold: bool):  # noqa: ANN001, ANN201
    client, caches = client_and_caches
    if cold:
        for cache in caches:
            cache.clear()
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise StepFailed(f"HTTP {response.status_code}{APP_ERRORS.take()}")
    return elapsed, response


def compare_api(clients: dict, url: str, headers: dict) -> bool | None:
    """True when both apps return the same revenue JSON (the same data, read the same way)."""
    if len(clients) < 2:
        return None
    try:
        bodies = [get(c, url, headers, cold=True)[1].get_json() for c in clients.values()]
    except StepFailed:
        return None
    return bodies[0] == bodies[1]


def time_page(url: str, clients: dict, failed: dict, headers: dict, runs: int) -> dict:
    samples: dict[str, list[float]] = {name: [] for name in clients}
    QUERIES.counts.clear()
    errors: dict[str, str] = dict(failed)
    for name, client in clients.items():
        try:
            for _ in range(2):  # templates compiled, pooled connections open
                get(client, url, headers, cold=False)
        except Exception as exc:  # noqa: BLE001
            errors[name] = one_line(exc)
    live = {n: c for n, c in clients.items() if n not in errors}
    for number in range(runs):
        order = list(live.items())  # alternating, each first in turn: the same machine load
        for name, client in order[::-1] if number % 2 else order:
            if name in errors:
                continue
            try:
                samples[name].append(get(client, url, headers, cold=True)[0])
            except Exception as exc:  # noqa: BLE001
                errors[name] = one_line(exc)
    row: dict = {"page": url}
    for name in ("sqlite", "postgresql"):
        values = samples.get(name) or []
        if name in errors or not values:
            row[name] = {"not_measured": errors.get(name, "no samples")}
        else:
            row[name] = {"p50": round(statistics.median(values), 1),
                         "p95": round(percentile(values, 95), 1),
                         "queries": round(QUERIES.counts.get(name, 0) / len(values))}
    row["ratio_p95"] = ratio(row["postgresql"].get("p95"), row["sqlite"].get("p95"))
    row["ratio_p50"] = ratio(row["postgresql"].get("p50"), row["sqlite"].get("p50"))
    print(format_page(row), flush=True)
    return row


# -- output ----------------------------------------------------------------------------------


def cell(side: dict, key: str, unit: str) -> str:
    if "not_measured" in side:
        return "not measured"
    value = side.get(key)
    return "—" if value is None else f"{value:.{3 if unit == 's' else 0}f} {unit}"


def verdict(value: float | None) -> str:
    if value is None:
        return ""
    if value < 0.95:
        return "PostgreSQL faster"
    if value <= 1.05:
        return "the same"
    return "within 1.5×" if value <= BAR else "MISSES 1.5×"


def format_page(row: dict) -> str:
    lite, pg = row["sqlite"], row["postgresql"]
    text = (f"{row['page'][:52]:<52} sqlite {cell(lite, 'p50', 'ms'):>8} / "
            f"{cell(lite, 'p95', 'ms'):>8}   postgresql {cell(pg, 'p50', 'ms'):>8} / "
            f"{cell(pg, 'p95', 'ms'):>8}")
    if row["ratio_p95"] is not None:
        text += f"   p95 ×{row['ratio_p95']:.2f} {verdict(row['ratio_p95'])}"
        text += f"   queries {lite.get('queries')}/{pg.get('queries')}"
    for name in ("sqlite", "postgresql"):
        if "not_measured" in row[name]:
            text += f"\n    {name} not measured: {row[name]['not_measured']}"
    return text


def print_import(row: dict) -> None:
    lite, pg = row["sqlite"], row["postgresql"]
    text = (f"{row['measure']}: sqlite {cell(lite, 'median', 's')} {lite['runs']}, "
            f"postgresql {cell(pg, 'median', 's')} {pg['runs']}")
    if row["ratio"] is not None:
        text += f", ratio ×{row['ratio']:.2f} {verdict(row['ratio'])}"
    text += f" (load {row['load']})"
    for name in ("sqlite", "postgresql"):
        if "not_measured" in row[name]:
            text += f"\n    {name} not measured: {row[name]['not_measured']}"
    print(text, flush=True)


@contextmanager
def postgres() -> Iterator[PgServer]:
    with PgServer(parent=OUT) as server:
        print(server.describe(), flush=True)
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, action="append", default=[],
                        help="1 = 1.2 M spots, 5 = 6 M (repeatable)")
    parser.add_argument("--per-month", type=int, action="append", default=[],
                        help="spots a broadcast month instead of --scale (small runs)")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--cold-runs-5x", type=int, default=10,
                        help="cold runs a page above 3 M spots")
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--daily-runs", type=int, default=5)
    parser.add_argument("--recap-rows", type=int, default=500_000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-pages", action="store_true")
    args = parser.parse_args()
    scales = [20_000 * s for s in args.scale] + args.per_month
    if not scales and not args.skip_pages:
        scales = [20_000]
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "cpus": os.cpu_count(), "load_at_start": os.getloadavg()}
    QUERIES.install()
    with postgres() as server, tempfile.TemporaryDirectory(prefix="bench-db-", dir=OUT) as tmp:
        results["postgresql"] = server.describe()
        if not args.skip_import:
            sides = [Side("sqlite", workdir=Path(tmp)), Side("postgresql", server=server)]
            results["daily"] = measure_daily(sides, args.daily_runs)
            print_import(results["daily"])
            results["recap"] = measure_recap(sides, args.recap_rows, args.import_runs)
            print_import(results["recap"])
        results["pages"] = []
        for per_month in [] if args.skip_pages else scales:
            runs = args.cold_runs if per_month * 12 * args.years <= 3_000_000 else \
                args.cold_runs_5x
            results["pages"].append(measure_pages(server, per_month, args.years, runs))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out = OUT / f"bench_databases-{stamp}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
