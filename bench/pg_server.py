"""A throwaway PostgreSQL server for the benchmarks (issue 14: SQLite and PostgreSQL side by side).

    .venv/bin/python bench/pg_server.py            # start one, print its URL, stop on Ctrl-C

It starts the way ``tests/databases.py`` does: Debian's ``postgresql`` package (initdb and
pg_ctl from /usr/lib/postgresql/N/bin; ``scripts/test.sh`` installs it), run as the ``postgres``
user through runuser when we are root, listening on 127.0.0.1 on a free port, its unix socket
in the temporary directory, stopped and removed at exit. Nothing is downloaded.

Unlike the test server, this one keeps ``fsync`` and ``full_page_writes`` on; the settings are
those of a small box (2 cores, a few GB of memory for the database) and are printed with every
benchmark (``SETTINGS``). ``synchronous_commit = off`` is the durability SQLite has here (WAL with
``synchronous = NORMAL``): a crash may lose the last commits, never corrupt the data; pass
``durable=True`` (``--durable``) for ``synchronous_commit = on``.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROLE = "bookedbiz"

# Server settings for a small box, stated in every result (docs/benchmarks.md).
SETTINGS: dict[str, str] = {
    "shared_buffers": "512MB",         # the hot part of spot_summary and its indexes
    "effective_cache_size": "2GB",     # what the OS page cache is likely to hold for us
    "work_mem": "32MB",                # a report's sort or hash of summary rows stays in memory
    "maintenance_work_mem": "256MB",   # index builds after COPY
    "max_wal_size": "2GB",             # a 500,000-row import without forced checkpoints
    "checkpoint_timeout": "15min",
    "wal_compression": "on",
    "random_page_cost": "1.1",         # SSD
    "effective_io_concurrency": "100",
    "max_connections": "100",          # two app processes' pools and the benchmark
    "jit": "off",                      # compiling a report query costs more than it saves
    "max_parallel_workers_per_gather": "1",  # 2 cores, shared with the app processes
}


def bin_dir() -> Path | None:
    """Debian's newest PostgreSQL binaries, or None when the package is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PgServer:
    """A running throwaway server; ``stop()`` (also at exit) stops it and removes its files."""

    def __init__(self, *, durable: bool = False, parent: Path | None = None) -> None:
        binaries = bin_dir()
        if binaries is None:
            raise RuntimeError("Debian's postgresql package is not installed "
                               "(scripts/test.sh installs it)")
        self.bin = binaries
        self.version = binaries.parts[-2]
        self.password = secrets.token_hex(12)
        self.root = Path(tempfile.mkdtemp(prefix="bookedbiz-bench-pg-", dir=parent))
        self.data, self.sockets = self.root / "data", self.root / "run"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.port = free_port()
        self.settings = dict(SETTINGS, synchronous_commit="on" if durable else "off",
                             fsync="on", full_page_writes="on")
        self._running = False
        try:
            self._start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        atexit.register(self.stop)

    def _start(self) -> None:
        run = {"check": True, "capture_output": True, "text": True, "timeout": 180}
        try:
            subprocess.run(_as_postgres([
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8"]), **run)
            options = [f"-p {self.port}", f"-k {self.sockets}", "-c listen_addresses=127.0.0.1"]
            options += [f"-c {name}={value}" for name, value in self.settings.items()]
            subprocess.run(_as_postgres([
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", " ".join(options),
                "-l", str(self.root / "server.log"), "-w", "-t", "120", "start"]), **run)
        except subprocess.CalledProcessError as exc:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"could not start PostgreSQL: {exc.stderr or exc.stdout}{tail}") \
                from None
        self._running = True
        self.admin(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")

    # -- using it ---------------------------------------------------------------------------

    def admin(self, sql: str, dbname: str = "postgres") -> list[tuple]:
        """One statement as the superuser over the unix socket (set-up only); its rows."""
        import psycopg

        with psycopg.connect(host=str(self.sockets), port=self.port, user="postgres",
                             dbname=dbname, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def admin_connect(self, dbname: str):  # noqa: ANN201 - a psycopg connection
        """A superuser connection to ``dbname`` (bulk copying; the caller closes it)."""
        import psycopg

        return psycopg.connect(host=str(self.sockets), port=self.port, user="postgres",
                               dbname=dbname)

    def url(self, database: str) -> str:
        """The DATABASE_URL of ``database`` (holds the password: never print it)."""
        return (f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/"
                f"{database}")

    def create_database(self, name: str) -> str:
        """A new empty database owned by the benchmark role; its URL."""
        self.drop_database(name)
        self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def database_size_mb(self, name: str) -> float:
        rows = self.admin(f"SELECT pg_database_size('{name}')")
        return rows[0][0] / 1e6

    def describe(self) -> str:
        """Version, port and the settings that differ from PostgreSQL's defaults."""
        shown = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"PostgreSQL {self.version} on 127.0.0.1:{self.port} ({shown})"

    def stop(self) -> None:
        if self._running:
            self._running = False
            subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                                         "fast", "-w", "stop"]), capture_output=True,
                           timeout=180, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="bookedbiz_bench")
    parser.add_argument("--durable", action="store_true", help="synchronous_commit = on")
    parser.add_argument("--init", action="store_true", help="bookedbiz init the database")
    args = parser.parse_args()
    with PgServer(durable=args.durable) as server:
        url = server.create_database(args.database)
        if args.init:
            from bookedbiz.db.migrate import init_server_database

            init_server_database(url)
        print(server.describe())
        print(f"DATABASE_URL={url}")  # the operator asked for it: this server is theirs
        print("Ctrl-C stops the server and removes its files.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
