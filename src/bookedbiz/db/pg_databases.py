"""Whole databases on a PostgreSQL server: the scratch copies a backup is verified in, and the
one-step swap that puts a restored copy in place of the live database (SPEC §4).

``CREATE DATABASE`` and ``DROP DATABASE`` cannot run in a transaction, so they run on an
autocommit connection. The swap is two ``ALTER DATABASE … RENAME`` in one transaction on a
maintenance database (a database cannot rename itself): it commits both or neither. Names are
quoted by the dialect's identifier preparer; they are built here from the configured database
name, never taken from input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bookedbiz.db.server import create_server_engine, describe, translate_server_error
from bookedbiz.errors import BookedBizError, ConfigError, DatabaseBusyError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

MAX_NAME = 63  # PostgreSQL truncates longer identifiers
MAINTENANCE_DATABASES = ("postgres", "template1")
SWAP_LOCK_TIMEOUT_MS = 5000


def side_name(database: str, purpose: str, stamp: str) -> str:
    """``<database>_<purpose>_<stamp>``, shortened from the database name's end to fit 63."""
    suffix = f"_{purpose}_{stamp}"
    return database[: MAX_NAME - len(suffix)] + suffix


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def _connect(url: URL, *, fallback: bool) -> tuple[Engine, Connection]:
    """A connection to the URL's database; with ``fallback``, to a maintenance database when
    that one does not exist (a restore onto a server whose database was lost)."""
    from sqlalchemy.exc import SQLAlchemyError

    names = [str(url.database), *(MAINTENANCE_DATABASES if fallback else ())]
    for index, name in enumerate(names):
        target = url.set(database=name)
        engine = create_server_engine(target, pool_size=1)
        try:
            return engine, engine.connect()
        except SQLAlchemyError as exc:
            engine.dispose()
            if index + 1 < len(names) and "does not exist" in str(exc):
                continue
            raise translate_server_error(exc, target) from None
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def _autocommit(url: URL, *, fallback: bool = False) -> Iterator[Connection]:
    from sqlalchemy.exc import SQLAlchemyError

    engine, conn = _connect(url, fallback=fallback)
    try:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise translate_server_error(exc, url) from None
    finally:
        conn.close()
        engine.dispose()


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def create_database(url: URL, name: str, purpose: str) -> None:
    """A new empty database ``name`` (from ``template0``), owned by the URL's role.

    A role without CREATEDB gets one sentence naming the grant, since verify and restore need a
    scratch database."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with _autocommit(url, fallback=True) as conn:
        try:
            conn.execute(text(f"CREATE DATABASE {_quote(conn, name)} TEMPLATE template0"))
        except DBAPIError as exc:
            if _sqlstate(exc) == "42501":
                role = url.username or "the database role"
                raise ConfigError(
                    f"The PostgreSQL role {role} may not create databases, which {purpose} "
                    f"needs for a scratch copy on the {describe(url)}'s server; grant it once "
                    f"as a superuser: ALTER ROLE {role} CREATEDB.") from None
            raise


def drop_database(url: URL, name: str) -> None:
    """Drop ``name`` if it exists, closing any session on it (a scratch copy only)."""
    from sqlalchemy import text

    with _autocommit(url, fallback=True) as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {_quote(conn, name)} WITH (FORCE)"))


def database_exists(url: URL, name: str) -> bool:
    from sqlalchemy import text

    with _autocommit(url, fallback=True) as conn:
        return conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": name}).scalar() is not None


def other_sessions(url: URL) -> int:
    """How many other sessions (the web app, Datasette, an import) have the URL's database
    open; connects to that database itself, so its own session is not counted."""
    from sqlalchemy import text

    with _autocommit(url) as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalar() or 0)


def copy_database_grants(url: URL, source: str, dest: str) -> None:
    """Give ``dest`` the database-level grants of ``source`` (CONNECT, TEMPORARY, CREATE to
    other roles): a dump holds the grants on tables, not those on the database itself."""
    from sqlalchemy import text

    with _autocommit(url) as conn:
        row = conn.execute(text("SELECT datacl IS NULL, datdba FROM pg_database "
                                "WHERE datname = :name"), {"name": source}).one_or_none()
        if row is None or row[0]:
            return  # the defaults, which a new database has too
        owner = row[1]
        grants = conn.execute(text(
            "SELECT a.grantee, pg_get_userbyid(a.grantee), a.privilege_type, a.is_grantable "
            "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = :name"),
            {"name": source}).all()
        target = _quote(conn, dest)
        conn.execute(text(f"REVOKE ALL ON DATABASE {target} FROM PUBLIC"))
        for grantee, role, privilege, grantable in grants:
            if grantee == owner or privilege not in ("CONNECT", "TEMPORARY", "CREATE"):
                continue
            who = "PUBLIC" if grantee == 0 else _quote(conn, role)
            option = " WITH GRANT OPTION" if grantable and grantee != 0 else ""
            conn.execute(text(f"GRANT {privilege} ON DATABASE {target} TO {who}{option}"))


def swap_databases(url: URL, live: str, replacement: str, aside: str | None) -> None:
    """In one transaction: ``live`` becomes ``aside`` and ``replacement`` becomes ``live``
    (``aside`` None: there is no live database, ``replacement`` only takes its name).

    Refused (DatabaseBusyError, nothing renamed) while any session has either database open;
    a role that does not own the live database gets a sentence naming what it needs."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError

    last: BaseException | None = None
    for maintenance in MAINTENANCE_DATABASES:
        engine = create_server_engine(url.set(database=maintenance), pool_size=1)
        try:
            with engine.connect() as conn, conn.begin():
                conn.execute(text(f"SET LOCAL lock_timeout = {SWAP_LOCK_TIMEOUT_MS}"))
                if aside is not None:
                    conn.execute(text(f"ALTER DATABASE {_quote(conn, live)} RENAME TO "
                                      f"{_quote(conn, aside)}"))
                conn.execute(text(f"ALTER DATABASE {_quote(conn, replacement)} RENAME TO "
                                  f"{_quote(conn, live)}"))
            return
        except OperationalError as exc:
            if _sqlstate(exc) is None:  # could not connect to this maintenance database
                last = exc
                continue
            raise _swap_error(exc, url, live) from None
        except DBAPIError as exc:
            raise _swap_error(exc, url, live) from None
        finally:
            engine.dispose()
    assert last is not None
    raise BookedBizError(
        f"Cannot swap in the restored copy of the {describe(url)}: neither the 'postgres' nor "
        f"the 'template1' database accepts a connection ({translate_server_error(last, url)})")


def _swap_error(exc: BaseException, url: URL, live: str) -> BookedBizError:
    state = _sqlstate(exc)
    if state in ("55006", "55P03"):  # object_in_use, lock_not_available
        return DatabaseBusyError(
            f"The {describe(url)} is open in another session (the web app, Datasette or an "
            "import); stop it before restoring.")
    if state == "42501":
        role = url.username or "the database role"
        return ConfigError(
            f"The PostgreSQL role {role} may not rename the database {live}: a restore swaps in "
            f"the restored copy, which needs the role to own the database and to have CREATEDB "
            f"(as a superuser: ALTER DATABASE {live} OWNER TO {role}; ALTER ROLE {role} "
            "CREATEDB).")
    return translate_server_error(exc, url)
