"""Import speed and memory.

1. Daily update of a 10,000-row log, end to end (`bookedbiz daily-update` as a process, so
   start-up and the parse child are included), median of several runs, against a bare
   python-calamine read of the same file in its own process, runs interleaved.
   Targets: ≤ 1.0 s and ≤ 4× the bare read.
2. Historical import of a 500,000-row recap vs python-calamine alone reading the same file,
   each in its own process, medians; peak RSS of the import.  Target: ≤ 2× calamine, ≤ 400 MB.

    .venv/bin/python bench/bench_import.py [--recap-rows 500000] [--runs 3]
        [--postgres | --database-url postgresql+psycopg://…]

With ``--postgres`` the same runs go to a throwaway PostgreSQL server started for the bench
(Debian's package, as tests/databases.py starts it; a fresh database for every import); with
``--database-url`` to an existing server (the daily update only: the recap needs fresh
databases). Both need ``bookedbiz init`` to work on that server.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
PY = sys.executable

CALAMINE_ONLY = """
import sys, time, python_calamine
t = time.perf_counter()
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = 0
for name in book.sheet_names:
    for row in book.get_sheet_by_name(name).iter_rows():
        n += 1
print(time.perf_counter() - t, n)
"""


# Byte-compiled modules are written (a warm-up run makes them), as on an installed system;
# a developer shell's PYTHONDONTWRITEBYTECODE would add recompiling the edited modules.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall time, peak RSS (MB) of the child, stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False, env=env or ENV)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{proc.stdout}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) // 1024, proc.stdout


def wall_and_cpu(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the reaped parse child included)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env or ENV)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def peak_rss_mb(args: list[str], env: dict[str, str] | None = None) -> int:
    """Peak RSS of one child, measured with GNU time when available."""
    if shutil.which("/usr/bin/time"):
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", *args], capture_output=True,
                              text=True, check=False, env=env or ENV)
        return int(proc.stderr.strip().splitlines()[-1]) // 1024
    return run_timed(args, env)[1]


def bookedbiz(*args: str) -> list[str]:
    return [PY, "-m", "bookedbiz", *args]


def ensure_workbook(path: Path, kind: str, start: str, months: int, per_month: int) -> Path:
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        print(f"generating {path.name} …", flush=True)
        subprocess.run(bookedbiz("generate-log", str(path), "--start", start, "--months",
                                 str(months), "--rows-per-month", str(per_month), "--kind",
                                 kind), check=True, capture_output=True)
    return path


class Target:
    """Where the imports go: a new SQLite file per use, or a PostgreSQL database (a fresh one
    per use when the bench started the server)."""

    def __init__(self, url: str | None = None, server: PgServer | None = None) -> None:
        self.url, self.server = url, server
        self.dialect = "postgresql" if (url or server) else "sqlite"

    @contextmanager
    def fresh(self, tmp: str, name: str) -> Iterator[tuple[list[str], dict[str, str]]]:
        """(the CLI's --db arguments, its environment) for a new, initialised database."""
        if self.dialect == "sqlite":
            db = Path(tmp) / f"{name}.db"
            yield ["--db", str(db)], ENV
            return
        if self.server is None:
            yield [], {**ENV, "DATABASE_URL": self.url}
            return
        with self.server.database(name) as url:
            yield [], {**ENV, "DATABASE_URL": url}


def bench_daily(runs: int, target: Target) -> dict[str, object]:
    log = ensure_workbook(OUT / "daily-10k.xlsx", "daily", "2026-10", 5, 2000)
    with tempfile.TemporaryDirectory() as tmp, target.fresh(tmp, "daily") as (where, env):
        def setup(*args: str) -> None:
            subprocess.run(bookedbiz(*args, *where), check=True, capture_output=True, env=env)

        setup("init")
        setup("import", str(log), "--mode", "historical", "--closed-by", "x",
              "--as-of", "2026-11-19")
        for month in ("Nov-26", "Dec-26", "Jan-27", "Feb-27"):
            setup("months", "reopen", month, "--by", "x", "--reason", "b")
        daily = bookedbiz("daily-update", str(log), "--unattended", "--auto-setup",
                          "--as-of", "2026-11-20", *where)
        bare = [PY, "-c", CALAMINE_ONLY, str(log)]
        wall_and_cpu(daily, env)  # warm-up: byte-compiled modules, page cache
        wall_and_cpu(bare)
        times, calamine, daily_cpu, bare_cpu = [], [], [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            wall, cpu = wall_and_cpu(daily, env)
            times.append(wall)
            daily_cpu.append(cpu)
            wall, cpu = wall_and_cpu(bare)
            calamine.append(wall)
            bare_cpu.append(cpu)
    daily_median, bare_median = statistics.median(times), statistics.median(calamine)
    cpu_daily, cpu_bare = statistics.median(daily_cpu), statistics.median(bare_cpu)
    return {"database": target.dialect,
            "daily_update_10k_median_s": round(daily_median, 3),
            "bare_calamine_read_process_median_s": round(bare_median, 3),
            "ratio_daily_update_to_bare_read": round(daily_median / bare_median, 2),
            "cpu_daily_update_median_s (process + parse child)": round(cpu_daily, 3),
            "cpu_bare_read_median_s": round(cpu_bare, 3),
            "cpu_ratio": round(cpu_daily / cpu_bare, 2),
            "load_average": os.getloadavg(),
            "daily_update_10k_runs": [round(t, 3) for t in times],
            "bare_calamine_runs": [round(t, 3) for t in calamine]}


def bench_recap(rows: int, runs: int, target: Target) -> dict[str, object]:
    per_month = rows // 12
    recap = ensure_workbook(OUT / f"recap-{rows}.xlsx", "recap", "2025-01", 12, per_month)
    calamine, imports, peaks = [], [], []
    for run in range(runs):
        out = run_timed([PY, "-c", CALAMINE_ONLY, str(recap)])[2]
        calamine.append(float(out.split()[0]))
        with tempfile.TemporaryDirectory() as tmp, \
                target.fresh(tmp, f"recap{run}") as (where, env):
            subprocess.run(bookedbiz("init", *where), check=True, capture_output=True, env=env)
            args = bookedbiz("import", str(recap), "--mode", "historical", "--closed-by", "x",
                             "--json", *where)
            elapsed, _peak, out = run_timed(args, env)
            imports.append(json.loads(out)["seconds"])
        with tempfile.TemporaryDirectory() as tmp, \
                target.fresh(tmp, f"recap_rss{run}") as (where, env):
            subprocess.run(bookedbiz("init", *where), check=True, capture_output=True, env=env)
            peaks.append(peak_rss_mb(bookedbiz("import", str(recap), "--mode", "historical",
                                               "--closed-by", "x", *where), env))
    calamine_median = statistics.median(calamine)
    import_median = statistics.median(imports)
    calamine_peak = peak_rss_mb([PY, "-c", CALAMINE_ONLY, str(recap)])
    return {
        "database": target.dialect,
        "recap_rows": rows,
        "calamine_read_median_s": round(calamine_median, 2),
        "import_median_s": round(import_median, 2),
        "ratio_import_to_calamine": round(import_median / calamine_median, 2),
        "import_peak_rss_mb": max(peaks),
        "calamine_alone_peak_rss_mb": calamine_peak,
        "runs": {"calamine": calamine, "import": imports},
    }


class PgServer:
    """A throwaway PostgreSQL for the bench (initdb/pg_ctl from Debian's package, as the
    postgres user when run as root, on a free loopback port; removed afterwards)."""

    USER, PASSWORD = "bookedbiz", "bench-pw"

    def __init__(self) -> None:
        import glob

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise SystemExit("--postgres needs Debian's postgresql package (initdb, pg_ctl).")
        self.bin = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="bookedbiz-bench-pg-"))
        self.sockets = self.root / "run"
        self.port = 0

    def _as_postgres(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def start(self) -> None:
        import pwd
        import socket

        self.sockets.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        data = self.root / "data"
        subprocess.run(self._as_postgres([str(self.bin / "initdb"), "-D", str(data), "-U",
                                          "postgres", "--auth-local=trust",
                                          "--auth-host=scram-sha-256", "-E", "UTF8",
                                          "--locale=C.UTF-8"]), check=True, capture_output=True)
        # fsync on, as a production server runs; commits do not wait for their WAL flush, the
        # guarantee SQLite's WAL mode with synchronous=NORMAL gives (a crash may lose the last
        # transactions, never corrupt or half-apply one), so the two are compared like for like
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c synchronous_commit=off")
        subprocess.run(self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(data), "-o",
                                          options, "-l", str(self.root / "server.log"), "-w",
                                          "start"]), check=True, capture_output=True)
        self.admin(f"CREATE ROLE {self.USER} LOGIN PASSWORD '{self.PASSWORD}'")

    def stop(self) -> None:
        subprocess.run(self._as_postgres([str(self.bin / "pg_ctl"), "-D",
                                          str(self.root / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.sockets), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    @contextmanager
    def database(self, name: str) -> Iterator[str]:
        self.admin(f"CREATE DATABASE bench_{name} OWNER {self.USER}")
        try:
            yield (f"postgresql+psycopg://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}/"
                   f"bench_{name}")
        finally:
            self.admin(f"DROP DATABASE IF EXISTS bench_{name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recap-rows", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-recap", action="store_true")
    parser.add_argument("--postgres", action="store_true",
                        help="Run on a throwaway PostgreSQL server started for the bench.")
    parser.add_argument("--database-url", default=None,
                        help="Run the daily update on this (initialisable) PostgreSQL database.")
    args = parser.parse_args()
    server = PgServer() if args.postgres else None
    if server is not None:
        server.start()
    try:
        target = Target(args.database_url, server)
        results: dict[str, object] = bench_daily(args.runs + 2, target)
        print(json.dumps(results, indent=2), flush=True)
        if not args.skip_recap and (target.dialect == "sqlite" or server is not None):
            recap = bench_recap(args.recap_rows, args.runs, target)
            print(json.dumps(recap, indent=2))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
