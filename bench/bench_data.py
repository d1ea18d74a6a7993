"""The same data on both databases for the side-by-side benchmarks (issue 14).

The SQLite benchmark database is built by the existing builder (``build_bench_db.py``'s
``build_large_database``: the generator's rows through the real import path). Its users and
tokens are added on a working copy through the user service, and then every table of
``db/schema.py`` is copied row for row into a fresh PostgreSQL database made by
``bookedbiz init`` (``init_server_database``), with ``COPY``. Both databases then hold exactly
the same rows, ids, users and password hashes, so a page, a sign-in or a token means the same
on each, and the comparison measures the database and its code path, not two data sets.

The copy itself is benchmark plumbing, not a product feature (a station moving to a server
would use the product's own path); it is timed and printed only for information.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from pg_server import PgServer

OUT = Path(__file__).resolve().parent / "out"
BENCH_USER, BENCH_PASSWORD = "bench-user", "bench-password-0123"


def sqlite_bench_db(per_month: int, years: int = 5, echo=print) -> Path:  # noqa: ANN001
    """bench/out/bench-<spots a month>x<years>.db, built once by the existing builder (delete
    it after a schema change: a kept file has the schema it was built with)."""
    from bookedbiz.synth.bulk import build_large_database

    path = OUT / f"bench-{per_month}x{years}.db"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        building = path.with_name(path.name + ".building")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        total = build_large_database(building, years, per_month, echo=echo)
        with sqlite3.connect(building) as conn:  # fold the WAL in: one file to copy
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        building.replace(path)
        for suffix in ("-wal", "-shm"):  # the emptied write-ahead log of the closed build
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        echo(f"built {path.name}: {total:,} spots in {time.perf_counter() - started:.0f} s")
    return path


def working_copy(source: Path, workdir: Path) -> Path:
    """A copy the benchmark may write to (users, tokens), never the shared built file."""
    dest = workdir / source.name
    shutil.copyfile(source, dest)
    wal = Path(f"{source}-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{dest}-wal"))
    return dest


def add_bench_user(db: Path) -> str:
    """The page benchmark's viewer and API token; returns the token."""
    from bookedbiz import users
    from bookedbiz.errors import BookedBizError

    try:
        users.create_user(db, BENCH_USER, BENCH_PASSWORD, "viewer")
    except BookedBizError:
        users.set_password(db, BENCH_USER, BENCH_PASSWORD)
    return users.create_token(db, BENCH_USER, "bench")[1]


def spot_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0]


def copy_to_postgres(sqlite_path: Path, server: PgServer, dbname: str, echo=print,  # noqa: ANN001
                     workers: int = 2) -> str:
    """A fresh PostgreSQL database (``bookedbiz init``) holding exactly the SQLite file's rows;
    its URL. Tables are copied ``workers`` at a time, secondary indexes built after the copy,
    sequences continue after the copied ids; the copy is vacuumed and analysed."""
    from concurrent.futures import ThreadPoolExecutor

    from bookedbiz.db.migrate import init_server_database
    from bookedbiz.db.schema import metadata

    started = time.perf_counter()
    url = server.create_database(dbname)
    init_server_database(url)
    tables = [t.name for t in metadata.sorted_tables]
    with server.admin_connect(dbname) as pg:
        pg.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        # Secondary indexes are built once after the copy instead of row by row.
        indexes = pg.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for name, _definition in indexes:
            pg.execute(f'DROP INDEX "{name}"')
        pg.commit()
    biggest_first = sorted(tables, key=lambda t: -_row_count(sqlite_path, t))
    with ThreadPoolExecutor(workers) as pool:
        rows_copied = sum(pool.map(lambda t: _copy_table(sqlite_path, server, dbname, t),
                                   biggest_first))
    copied = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda d: server.admin(d, dbname=dbname), [d for _n, d in indexes]))
    with server.admin_connect(dbname) as pg:
        serials = pg.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND (column_default LIKE 'nextval%' "
            "OR is_identity = 'YES')").fetchall()
        for table_name, column in serials:
            pg.execute(f"SELECT setval(pg_get_serial_sequence('\"{table_name}\"', "
                       f"'{column}'), COALESCE(MAX(\"{column}\"), 0) + 1, false) "
                       f"FROM \"{table_name}\"")
        pg.commit()
    server.admin("VACUUM ANALYZE", dbname=dbname)
    echo(f"copied {rows_copied:,} rows of {sqlite_path.name} into PostgreSQL in "
         f"{time.perf_counter() - started:.0f} s (rows {copied - started:.0f} s; "
         f"{server.database_size_mb(dbname):.0f} MB; SQLite file "
         f"{sqlite_path.stat().st_size / 1e6:.0f} MB)")
    return url


def _row_count(sqlite_path: Path, table: str) -> int:
    with sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True) as conn:
        try:
            return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        except sqlite3.OperationalError:  # a table this file does not have
            return 0


def _copy_table(sqlite_path: Path, server: PgServer, dbname: str, table: str) -> int:
    """One table's rows with COPY, in its own transaction; the number of rows."""
    from bookedbiz.db.schema import metadata

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        present = {row[1] for row in source.execute(f'PRAGMA table_info("{table}")')}
        columns = [c.name for c in metadata.tables[table].columns if c.name in present]
        if not columns:
            return 0
        names = ", ".join(f'"{c}"' for c in columns)
        count = 0
        with server.admin_connect(dbname) as pg:
            # As the superuser, foreign-key triggers are skipped: the rows are consistent.
            pg.execute("SET session_replication_role = replica")
            with pg.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {names} FROM "{table}"'):
                    copy.write_row(row)
                    count += 1
            pg.commit()
        return count
    finally:
        source.close()
