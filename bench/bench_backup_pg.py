"""Benchmark: ``sync backup``, ``sync verify`` and ``sync restore --yes`` of the same data on
SQLite and on PostgreSQL (issue 14), to the local target.

Usage::

    .venv/bin/python bench/bench_backup_pg.py [--spots 120000] [--runs 3]

It builds a SQLite database with ``--spots`` synthetic spots (``bench_backup.build_database``),
copies the same rows into a fresh PostgreSQL database on a throwaway server
(``bench/pg_server.py``: fsync on), then times each verb in-process through
:class:`bookedbiz.backup.service.SyncService`, median of ``--runs``:

* backup: SQLite online-backup snapshot, gate, hash, copy to the folder, ``integrity_check`` |
  PostgreSQL figures + ``pg_dump --format=custom`` in one snapshot, gate, hash, copy, every
  block read back;
* verify: fetch, recorded hash, ``integrity_check`` | fetch, recorded hash, read back,
  ``pg_restore`` into a scratch database, figures compared, scratch dropped;
* restore --yes: fetch and verify, then rename into place | restore into a new database,
  figures compared, swapped in by two renames (the old database dropped between runs).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_backup import build_database  # noqa: E402
from pg_server import PgServer  # noqa: E402

COPIED = {
    "import_batches": ("batch_id", "mode", "source_file", "started_at", "finished_at", "status"),
    "aes": ("ae_id", "name", "name_key", "created_at"),
    "customers": ("customer_id", "name", "name_key", "created_at"),
    "spots": ("spot_id", "import_batch_id", "bill_code", "air_date", "broadcast_month", "ae_id",
              "customer_id", "language_category", "gross_rate_micros", "station_net_micros",
              "spot_type", "revenue_type", "market_code", "time_in", "time_out", "length_text",
              "comments", "media"),
}


def copy_rows(sqlite_path: Path, server: PgServer, database: str) -> None:
    """The SQLite rows into the PostgreSQL database, ids included (COPY as the superuser)."""
    source = sqlite3.connect(sqlite_path)
    conn = server.admin_connect(database)
    try:
        with conn.cursor() as cur:
            for table, columns in COPIED.items():
                names = ", ".join(columns)
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {names} FROM {table}"):
                        copy.write_row(row)
            cur.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
        source.close()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(label: str, settings_values: dict, runs: int,
            between: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    from bookedbiz.backup.service import SyncService
    from bookedbiz.config import Settings

    settings = Settings(_env_file=None, **settings_values)  # type: ignore[call-arg]
    times: dict[str, list[float]] = {"backup": [], "verify": [], "restore": []}
    for _ in range(runs):
        service = SyncService(settings, target="local")
        times["backup"].append(timed(service.backup))
        times["verify"].append(timed(lambda s=service: s.verify(None)))
        times["restore"].append(timed(lambda s=service: s.restore(None, yes=True)))
        between()
    print(f"{label}: " + ", ".join(
        f"{verb} {statistics.median(values):.2f} s ({' / '.join(f'{v:.2f}' for v in values)})"
        for verb, values in times.items()), flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spots", type=int, default=120_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-pg-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    from bookedbiz.db.migrate import init_server_database

    lite = work / "sqlite" / "bookedbiz.db"
    lite.parent.mkdir()
    build_database(lite, args.spots)
    with PgServer() as server:
        print(server.describe(), flush=True)
        name = "bookedbiz_bench"
        url = server.create_database(name)
        init_server_database(url)
        copy_rows(lite, server, name)
        for folder in ("nas-sqlite", "nas-pg", "data-pg"):
            (work / folder).mkdir()
        pg_size = server.database_size_mb(name)

        def drop_replaced() -> None:
            for (old,) in server.admin("SELECT datname FROM pg_database WHERE datname LIKE "
                                       f"'{name}_replaced_%'"):
                server.drop_database(old)

        print(f"{args.spots:,} spots; SQLite file {lite.stat().st_size / 1e6:.1f} MB, "
              f"PostgreSQL database {pg_size:.1f} MB", flush=True)
        measure("SQLite", {"database_path": lite, "backup_local_dir": work / "nas-sqlite"},
                args.runs)
        measure("PostgreSQL", {"database_url": url, "backup_local_dir": work / "nas-pg",
                               "data_path": work / "data-pg"}, args.runs, drop_replaced)
        for kind in ("sqlite", "pg"):
            sizes = [p.stat().st_size for p in (work / f"nas-{kind}" / "backups").glob("b*")]
            print(f"{kind} backup file: {statistics.median(sizes) / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
