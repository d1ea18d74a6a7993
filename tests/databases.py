"""Both databases for the database-touching suites (SPEC §4, issue 14): a throwaway PostgreSQL
server, and the ``database`` fixture that runs a test once on a SQLite file and once on a fresh
PostgreSQL database.

Debian's ``postgresql`` package provides initdb and pg_ctl under /usr/lib/postgresql/N/bin; the
server runs as the ``postgres`` user (PostgreSQL refuses to run as root) from a temporary data
directory, listens on 127.0.0.1 only, on a free port, with its unix socket inside that directory,
and is stopped and removed when the session ends. Tests reach it over TCP with a password, as a
station group's app would.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "bookedbiz"
PASSWORD = "s3cret-Pg-pw"  # tests assert it never appears in an error


@dataclass(frozen=True)
class PgServer:
    """The running server: its port, socket folder and admin access for test set-up."""

    port: int
    socket_dir: Path

    def url(self, database: str, *, password: str = PASSWORD, port: int | None = None) -> str:
        return (f"postgresql+psycopg://{USER}:{password}@127.0.0.1:{port or self.port}/"
                f"{database}")

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser over the unix socket (trust, set-up only)."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("Debian's postgresql package is not installed (scripts/test.sh installs it)")
    pytest.importorskip("psycopg")
    root = Path(tempfile.mkdtemp(prefix="bookedbiz-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth-local=trust", "--auth-host=scram-sha-256",
                                     "-E", "UTF8", "--locale=C.UTF-8"]), **run)
        options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                                     "-l", str(root / "server.log"), "-w", "start"]), **run)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr or exc.stdout}") from None
    server = PgServer(port, sockets)
    try:
        server.admin(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                     "-w", "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A new empty database owned by the test user; its URL (with the password)."""
    name = f"bookedbiz_test_{os.getpid()}_{next(_numbers)}"
    pg_server.admin(f"CREATE DATABASE {name} OWNER {USER}")
    try:
        yield pg_server.url(name)
    finally:
        pg_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An initialised database at the current schema: a SQLite file's path, then a PostgreSQL
    URL. Pass it wherever a command or service takes a database (``Database(target)``)."""
    if request.param == "sqlite":
        from bookedbiz.db.migrate import init_database

        path = tmp_path / "data" / "bookedbiz.db"
        init_database(path)
        yield str(path)
        return
    from bookedbiz.db.migrate import init_server_database

    server: PgServer = request.getfixturevalue("pg_server")
    name = f"bookedbiz_both_{os.getpid()}_{next(_numbers)}"
    server.admin(f"CREATE DATABASE {name} OWNER {USER}")
    try:
        url = server.url(name)
        init_server_database(url)
        yield url
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
