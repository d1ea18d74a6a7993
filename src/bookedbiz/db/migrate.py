"""Create or upgrade a database to the current schema, with a verified snapshot first."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from bookedbiz.db.connection import connect, create_db_engine, utc_now, write_transaction
from bookedbiz.db.server import (
    create_server_engine,
    describe,
    is_server_url,
    parse_database_url,
    server_current_version,
    translate_server_error,
)
from bookedbiz.errors import BookedBizError

LANGUAGE_SEED = (
    ("E", "English", "English", 1),
    ("M", "Mandarin", "Chinese", 2),
    ("C", "Cantonese", "Chinese", 3),
    ("M/C", "Mandarin/Cantonese", "Chinese", 4),
    ("V", "Vietnamese", "Vietnamese", 5),
    ("SA", "South Asian", "South Asian", 6),
    ("P", "Punjabi", "South Asian", 7),
    ("H", "Hindi", "South Asian", 8),
    ("T", "Tagalog", "Filipino", 9),
    ("K", "Korean", "Korean", 10),
    ("J", "Japanese", "Japanese", 11),
    ("Hm", "Hmong", "Hmong", 12),
)

MARKET_SEED = (
    ("SEA", "Seattle"),
    ("SFO", "San Francisco"),
    ("LAX", "Los Angeles"),
    ("CVC", "Central Valley"),
    ("CMP", "Chicago / Minneapolis"),
    ("MMT", "Multimarket"),
    ("NYC", "New York"),
    ("HOU", "Houston"),
    ("DAL", "Dallas"),
    ("CHI", "Chicago"),
    ("MSP", "Minneapolis"),
    ("WDC", "Washington DC"),
    ("ADMIN", "Administrative"),
)


@dataclass(frozen=True)
class InitResult:
    path: Path | str  # the SQLite file, or a server's description (never its password)
    created: bool
    from_version: str | None
    to_version: str
    snapshot: Path | None


# The newest migration's revision. Kept as a constant so commands can check the schema without
# importing Alembic (a test asserts it equals Alembic's head).
SCHEMA_HEAD = "0012"


def _alembic_config():  # noqa: ANN202 - alembic is imported lazily
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("bookedbiz.db") / "migrations"))
    return cfg


def alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def head_version() -> str:
    return SCHEMA_HEAD


def current_version(path: Path | str) -> str | None:
    """The database's schema revision, or None for a file without BookedBiz tables; ``path``
    may be a DATABASE_URL (db/server.py)."""
    if is_server_url(path):
        return server_current_version(str(path))
    conn = connect(path, readonly=True)
    try:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None
    finally:
        conn.close()


def init_database(path: Path, snapshot_dir: Path | None = None) -> InitResult:
    """Create ``path`` or upgrade it; an existing database behind head is snapshotted first."""
    created = not path.exists()
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(path).close()
    from_version = None if created else current_version(path)
    target = head_version()
    snap = None
    if not created and from_version != target:
        folder = snapshot_dir or path.parent / "backups"
        stamp = utc_now().replace(":", "").replace("-", "")
        snap = folder / f"pre-migration-{stamp}-{path.stem}.db"
        from bookedbiz.db.snapshot import snapshot_database
        try:
            snapshot_database(path, snap)
        except BookedBizError as exc:
            if from_version is not None:
                raise
            snap = None  # an empty file that was never initialised has nothing to keep
            del exc
    from alembic import command

    engine = create_db_engine(path)
    try:
        with engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
    _seed(path)
    return InitResult(path, created, from_version, target, snap)


# Two `init`s against one server take turns (a transaction-scoped advisory lock).
INIT_LOCK_KEY = 0x626B_6269_6E69  # "bkbini"


def init_server_database(raw_url: str) -> InitResult:
    """Create or upgrade the schema on a PostgreSQL server (DATABASE_URL) in one transaction:
    DDL is transactional there, so a failure leaves the database as it was. No snapshot is
    taken: a fresh server database starts at head, and pg_dump backups are issue 14's next
    step."""
    from alembic import command
    from alembic.util import CommandError
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    url = parse_database_url(raw_url)
    engine = create_server_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INIT_LOCK_KEY})
            from_version = None
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar():
                from_version = conn.execute(
                    text("SELECT version_num FROM alembic_version")).scalar()
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            _seed_core(conn)
    except SQLAlchemyError as exc:
        raise translate_server_error(exc, url) from None
    except CommandError:  # a revision this code does not have: newer code wrote it
        raise BookedBizError(
            f"The {describe(url)} has schema version {from_version}, which this code does not "
            f"know (it needs {head_version()}); run the newer BookedBiz that upgraded it."
        ) from None
    finally:
        engine.dispose()
    return InitResult(describe(url), from_version is None, from_version, head_version(), None)


def _seed_core(conn) -> None:  # noqa: ANN001 - SQLAlchemy connection
    """The languages and markets seed, adding only the rows that are missing (both dialects)."""
    from sqlalchemy import insert, select

    from bookedbiz.db.schema import languages, markets

    have = set(conn.execute(select(languages.c.code)).scalars())
    rows = [{"code": c, "name": n, "language_group": g, "sort_order": o}
            for c, n, g, o in LANGUAGE_SEED if c not in have]
    if rows:
        conn.execute(insert(languages), rows)
    have = set(conn.execute(select(markets.c.code)).scalars())
    now = utc_now()
    rows = [{"code": c, "name": n, "auto_created": False, "created_at": now}
            for c, n in MARKET_SEED if c not in have]
    if rows:
        conn.execute(insert(markets), rows)


def _seed(path: Path) -> None:
    conn = connect(path)
    try:
        with write_transaction(conn):
            conn.executemany(
                "INSERT OR IGNORE INTO languages (code, name, language_group, sort_order) "
                "VALUES (?, ?, ?, ?)",
                LANGUAGE_SEED,
            )
            now = utc_now()
            conn.executemany(
                "INSERT OR IGNORE INTO markets (code, name, auto_created, created_at) "
                "VALUES (?, ?, 0, ?)",
                [(code, name, now) for code, name in MARKET_SEED],
            )
    finally:
        conn.close()


def require_current_schema(path: Path | str) -> None:
    """Refuse to work on a database whose schema is behind (or ahead of) this code."""
    version = current_version(path)
    where = describe(parse_database_url(str(path))) if is_server_url(path) else ""
    if version is None:
        raise BookedBizError(
            f"{f'The {where}' if where else path} is not a BookedBiz database (no schema "
            "version); run 'bookedbiz init'."
        )
    if version != head_version():
        of = f" of the {where}" if where else ""
        raise BookedBizError(
            f"The database schema{of} is at version {version} but this code needs "
            f"{head_version()}; run 'bookedbiz init' to upgrade."
        )
