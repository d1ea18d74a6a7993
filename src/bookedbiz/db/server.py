"""A PostgreSQL server chosen by ``DATABASE_URL`` (SPEC §4): parsing the URL, the engine, and
one sentence for each way reaching the server can fail.

Every message names the host, port and database and never the password: operators paste
errors into tickets and chat, and the URL is a secret (config.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bookedbiz.errors import BookedBizError, ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL

DRIVER = "postgresql+psycopg"
EXAMPLE = f"{DRIVER}://user:password@host:5432/database"
# A server that does not answer fails a command in seconds, not after the OS's TCP timeout.
CONNECT_TIMEOUT_SECONDS = 10


def is_server_url(target: object) -> bool:
    """True for a ``DATABASE_URL`` (text with a scheme); False for a SQLite path."""
    return isinstance(target, str) and "://" in target


def parse_database_url(raw: str) -> URL:
    """The URL as SQLAlchemy's; a bad one is one ConfigError sentence without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw.strip())
        port = url.port  # a non-numeric port fails here
    except (ArgumentError, ValueError):
        raise ConfigError(f"DATABASE_URL is not a database URL; write it as {EXAMPLE}.") \
            from None
    if url.drivername not in ("postgresql", DRIVER):
        raise ConfigError(f"DATABASE_URL names '{url.drivername}', but only PostgreSQL is "
                          f"supported there; write it as {EXAMPLE}.")
    if not url.host or not url.database:
        raise ConfigError(f"DATABASE_URL must name a host and a database; write it as "
                          f"{EXAMPLE}.")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"DATABASE_URL has port {port}, which is not a TCP port.")
    return url.set(drivername=DRIVER)


def describe(url: URL) -> str:
    """'database D on host H:P' (as user U): what a message may say about a server."""
    port = url.port or 5432
    user = f" as user {url.username}" if url.username else ""
    return f"database {url.database} on {url.host}:{port}{user}"


def create_server_engine(url: URL | str, *, pool_size: int = 5) -> Engine:
    """An engine for the server; ``pool_pre_ping`` so a restarted server costs no request."""
    from sqlalchemy import create_engine

    if isinstance(url, str):
        url = parse_database_url(url)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                       "application_name": "bookedbiz"})


def redact(text: str, url: URL) -> str:
    """``text`` with the URL's password removed wherever it appears."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def translate_server_error(exc: BaseException, url: URL) -> BookedBizError:
    """One sentence an operator can act on, naming host and database, never the password."""
    where = describe(url)
    text = redact(str(getattr(exc, "orig", None) or exc), url)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low \
            or ("authentication" in low and "failed" in low):
        return BookedBizError(f"The PostgreSQL server refused the password for {where}; "
                              "check the user and password in DATABASE_URL.")
    if "does not exist" in low and "database" in low:
        return BookedBizError(f"The {where} does not exist on that PostgreSQL server; create "
                              "it (createdb) or correct DATABASE_URL.")
    if "permission denied" in low:
        first = text.strip().splitlines()[0] if text.strip() else "permission denied"
        return BookedBizError(f"The PostgreSQL {where} refused the operation ({first}).")
    if any(hint in low for hint in ("connection refused", "could not connect",
                                    "could not translate host", "timeout expired",
                                    "timed out", "connection failed", "no route to host",
                                    "server closed the connection")):
        return BookedBizError(f"The PostgreSQL server for {where} cannot be reached; check "
                              "that it is running and that DATABASE_URL names the right host "
                              "and port.")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return BookedBizError(f"PostgreSQL error on {where}: {first}.")


def server_current_version(url: URL | str) -> str | None:
    """The schema revision of the server's database, None when it has no BookedBiz tables;
    an unreachable server is a sentence (translate_server_error)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(url, str):
        url = parse_database_url(url)
    engine = create_server_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise translate_server_error(exc, url) from None
    finally:
        engine.dispose()


def server_tables(url: URL | str) -> set[str]:
    """The names of the tables in the server database's default schema (doctor)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(url, str):
        url = parse_database_url(url)
    engine = create_server_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        raise translate_server_error(exc, url) from None
    finally:
        engine.dispose()
