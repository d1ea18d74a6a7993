"""Create or upgrade a database to the current schema, with a verified snapshot first."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from bookedbiz.db.connection import connect, create_db_engine, utc_now, write_transaction
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
    path: Path
    created: bool
    from_version: str | None
    to_version: str
    snapshot: Path | None


# The newest migration's revision. Kept as a constant so commands can check the schema without
# importing Alembic (a test asserts it equals Alembic's head).
SCHEMA_HEAD = "0011"


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


def current_version(path: Path) -> str | None:
    """The database's schema revision, or None for a file without BookedBiz tables."""
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


def require_current_schema(path: Path) -> None:
    """Refuse to work on a database whose schema is behind (or ahead of) this code."""
    version = current_version(path)
    if version is None:
        raise BookedBizError(
            f"{path} is not a BookedBiz database (no schema version); run 'bookedbiz init'."
        )
    if version != head_version():
        raise BookedBizError(
            f"The database schema is at version {version} but this code needs {head_version()}; "
            "run 'bookedbiz init' to upgrade."
        )
