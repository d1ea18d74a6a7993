"""``pg_dump`` and ``pg_restore`` as child processes, for the PostgreSQL backups (SPEC §4).

The binaries are Debian's (``postgresql-client``): the newest ``/usr/lib/postgresql/N/bin``
first, because a pg_dump older than the server refuses to dump it, then ``PATH``. The child
learns where to connect from its environment (``PGHOST``, ``PGPORT``, ``PGUSER``,
``PGDATABASE`` and the password in ``PGPASSWORD``), never from its command line: ``ps`` shows
every user a command line, and messages quote it. Every failure becomes one sentence naming the
host and database, with the password removed from whatever the tool printed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from bookedbiz.db.server import describe, redact, translate_server_error
from bookedbiz.errors import BookedBizError, ConfigError, VerificationError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The first bytes of a custom-format archive (pg_dump --format=custom).
DUMP_MAGIC = b"PGDMP"
# libpq settings a DATABASE_URL may carry as query parameters, and their environment names.
QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
             "sslkey": "PGSSLKEY", "options": "PGOPTIONS",
             "target_session_attrs": "PGTARGETSESSIONATTRS"}
# Inherited settings that would redirect the child elsewhere than the URL says.
CLEARED_ENV = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD",
               "PGSERVICE", "PGOPTIONS", "PGSSLMODE", "PGTARGETSESSIONATTRS")
CONNECT_TIMEOUT_SECONDS = 10


def tool(name: str) -> Path:
    """The path of ``pg_dump`` or ``pg_restore``; a missing client is one sentence."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1])
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise ConfigError(f"{name} is not installed; PostgreSQL backups need Debian's "
                      "postgresql-client package (apt-get install postgresql-client).")


def child_env(url: URL, database: str | None = None) -> dict[str, str]:
    """The environment that points a libpq tool at ``database`` (default: the URL's) on the
    URL's server, the password included; nothing of it goes on a command line."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update(PGHOST=str(url.host), PGPORT=str(url.port or 5432),
               PGDATABASE=database or str(url.database), PGAPPNAME="bookedbiz-backup",
               PGCONNECT_TIMEOUT=str(CONNECT_TIMEOUT_SECONDS))
    if url.username:
        env["PGUSER"] = str(url.username)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    for key, name in QUERY_ENV.items():
        value = url.query.get(key)
        if isinstance(value, str):
            env[name] = value
    return env


def _tool_message(stderr: str, url: URL | None) -> str:
    """The first error line a tool printed, without its prefix and without the password."""
    text = redact(stderr, url) if url is not None else stderr
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()] or lines
    first = errors[0] if errors else "no message"
    for prefix in ("pg_dump: error: ", "pg_restore: error: ", "pg_dump: ", "pg_restore: "):
        if first.startswith(prefix):
            first = first[len(prefix):]
    return first.rstrip(".")


def _run(args: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
    except OSError as exc:
        raise BookedBizError(f"{Path(args[0]).name} could not be started ({exc.strerror}).") \
            from None


def _server_failure(what: str, stderr: str, url: URL) -> BookedBizError:
    """A failed tool that talked to the server: connection troubles read as they do for the
    app (db/server.py); anything else names the tool and its first error line."""
    message = _tool_message(stderr, url)
    low = message.lower()
    if "server version mismatch" in low:
        return ConfigError(f"{what} cannot read the {describe(url)}: {message}; install the "
                           "postgresql-client package of the server's version.")
    known = translate_server_error(BookedBizError(message), url)
    if not str(known).startswith("PostgreSQL error on"):
        return known
    return BookedBizError(f"{what} failed on the {describe(url)}: {message}.")


def dump_database(url: URL, dest: Path, *, snapshot: str | None = None) -> None:
    """``pg_dump --format=custom`` of the URL's database into ``dest``.

    ``snapshot`` is an exported snapshot (``pg_export_snapshot()``) whose transaction the caller
    keeps open: the dump then holds exactly the rows the caller counted in that transaction."""
    args = [str(tool("pg_dump")), "--format=custom", "--no-password", f"--file={dest}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    done = _run(args, child_env(url))
    if done.returncode != 0:
        dest.unlink(missing_ok=True)
        raise _server_failure("pg_dump", done.stderr, url)


def restore_dump(url: URL, database: str, dump: Path, *, jobs: int = 1) -> None:
    """``pg_restore`` of ``dump`` into the (new, empty) ``database`` on the URL's server.

    Objects become the connecting role's (``--no-owner``); grants in the dump are restored, so a
    grant to a role this server lacks fails here, in the scratch copy, before anything live is
    touched. The first error stops it (``--exit-on-error``)."""
    args = [str(tool("pg_restore")), "--no-owner", "--exit-on-error", "--no-password",
            f"--dbname={database}"]
    if jobs > 1:
        args.append(f"--jobs={jobs}")
    args.append(str(dump))
    done = _run(args, child_env(url, database))
    if done.returncode != 0:
        failure = _server_failure("pg_restore", done.stderr, url)
        if str(failure).startswith("pg_restore failed"):
            raise VerificationError(f"The dump does not restore: {_tool_message(done.stderr, url)}"
                                    f" (into the scratch database {database}).")
        raise failure


def read_archive(dump: Path) -> None:
    """Read every block of a custom-format dump without a server (``pg_restore --file=/dev/null``):
    a truncated or damaged archive fails here. This is the dump's integrity check."""
    if not is_dump(dump):
        raise VerificationError(f"{dump.name} is not a PostgreSQL dump in custom format (a "
                                "SQLite backup cannot be restored onto PostgreSQL).")
    done = _run([str(tool("pg_restore")), f"--file={os.devnull}", str(dump)], None)
    if done.returncode != 0:
        raise VerificationError(f"The dump {dump.name} is damaged or incomplete: "
                                f"{_tool_message(done.stderr, None)}.")


def is_dump(path: Path) -> bool:
    """True when ``path`` starts like a custom-format pg_dump archive."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False
