"""A small JSON manifest next to the backups, and the ``app_state`` records in the database.

The manifest (``<backups folder>/manifest.json`` on the target) remembers, per backup, the spot
count, the content hash recorded when the copy was made and when it was last verified, plus the
spot count of the newest upload. It lives on the target so the shrink gate still has a reference
when the local database was replaced by an empty one, and so a new box can still check a backup
against its record after a disaster (a copy of the records also lives under DATA_PATH, see
:mod:`bookedbiz.backup.records`). ``app_state`` in the live database holds ``last_backup``
(read by the heartbeat check and ``doctor``) and ``backup_attempt`` (so ``prune`` never runs
after a failure).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bookedbiz.backup.naming import join
from bookedbiz.backup.targets import Target
from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.db.server import is_server_url
from bookedbiz.errors import BookedBizError

log = logging.getLogger(__name__)
MANIFEST_NAME = "manifest.json"
LAST_BACKUP_KEY = "last_backup"
ATTEMPT_KEY = "backup_attempt"


class Manifest:
    def __init__(self, target: Target, backup_folder: str):
        self.target = target
        self.path = join(backup_folder, MANIFEST_NAME)
        self.data: dict[str, Any] = {"version": 1, "last": None, "backups": {}}
        raw = target.read_bytes(self.path)
        if raw:
            try:
                loaded = json.loads(raw)
                if isinstance(loaded, dict) and isinstance(loaded.get("backups"), dict):
                    self.data = loaded
            except ValueError:
                log.warning("ignoring an unreadable backup manifest at %s", self.path)

    @property
    def last_spot_count(self) -> int | None:
        last = self.data.get("last") or {}
        value = last.get("spot_count")
        return int(value) if isinstance(value, int) else None

    def record_upload(self, name: str, spot_count: int, content_hash: str) -> None:
        self.data["last"] = {"at": utc_now(), "name": name, "spot_count": spot_count,
                             "content_hash": content_hash}

    def record_file(self, path: str, content_hash: str, size: int,
                    facts: dict[str, Any] | None = None) -> None:
        """The content hash of a copy at ``path``, recorded when it was made (and only then);
        for a PostgreSQL dump also its figures (:mod:`bookedbiz.backup.facts`)."""
        files = self.data.setdefault("files", {})
        files[path] = {"content_hash": content_hash, "size": size, "recorded_at": utc_now()}
        if facts is not None:
            files[path]["facts"] = facts

    def recorded_facts(self, path: str) -> dict[str, Any] | None:
        value = ((self.data.get("files") or {}).get(path) or {}).get("facts")
        return value if isinstance(value, dict) else None

    def recorded_hash(self, path: str, name: str) -> str | None:
        """The hash recorded for ``path`` when it was made (older manifests: per backup name)."""
        entry = (self.data.get("files") or {}).get(path) or {}
        if isinstance(entry.get("content_hash"), str):
            return str(entry["content_hash"])
        legacy = self.data["backups"].get(name) or {}
        last = self.data.get("last") or {}
        if not legacy and last.get("name") == path:
            legacy = last
        value = legacy.get("content_hash")
        return value if isinstance(value, str) else None

    def record_backup(self, name: str, spot_count: int | None, content_hash: str,
                      size: int) -> None:
        """A new backup: its hash is recorded once here, verified by the upload itself."""
        entry = self.data["backups"].setdefault(name, {})
        entry.update({"spot_count": spot_count, "content_hash": content_hash, "size": size,
                      "verified_at": utc_now()})

    def mark_verified(self, name: str, content_hash: str) -> None:
        """Note a successful verify; never changes (or adds) the recorded hash."""
        entry = self.data["backups"].get(name)
        if entry and entry.get("content_hash") == content_hash:
            entry["verified_at"] = utc_now()

    def verified_hash(self, name: str) -> str | None:
        entry = self.data["backups"].get(name) or {}
        return entry.get("content_hash") if entry.get("verified_at") else None

    def spot_count(self, name: str) -> int | None:
        return (self.data["backups"].get(name) or {}).get("spot_count")

    def forget(self, name: str, path: str | None = None) -> None:
        self.data["backups"].pop(name, None)
        if path is not None:
            (self.data.get("files") or {}).pop(path, None)

    def save(self) -> None:
        self.target.write_bytes(self.path, json.dumps(self.data, indent=1).encode())


def read_state(db_path: Path | str, key: str) -> dict[str, Any] | None:
    """One JSON value from ``app_state`` (None when absent or unreadable); ``db_path`` may be
    a DATABASE_URL."""
    if is_server_url(db_path):
        return _server_read_state(str(db_path), key)
    try:
        conn = connect(db_path, readonly=True)
    except BookedBizError:
        return None
    try:
        row = conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
    except Exception:  # noqa: BLE001 - a foreign or broken file simply has no state
        return None
    finally:
        conn.close()
    if not row or not row[0]:
        return None
    try:
        value = json.loads(row[0])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def write_state(db_path: Path | str, key: str, value: dict[str, Any]) -> bool:
    """Upsert ``app_state[key]``; returns False (and logs) when the database refuses."""
    if is_server_url(db_path):
        return _server_write_state(str(db_path), key, value)
    try:
        conn = connect(db_path)
        try:
            with write_transaction(conn):
                conn.execute(
                    "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                    "updated_at = excluded.updated_at",
                    (key, json.dumps(value, sort_keys=True), utc_now()),
                )
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - recording state must not hide the real outcome
        log.warning("could not record %s in %s: %s", key, db_path, exc)
        return False
    return True


def _server_read_state(url: str, key: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from bookedbiz.db.access import reading_from
    from bookedbiz.db.schema import app_state

    try:
        with reading_from(url) as conn:
            raw = conn.execute(select(app_state.c.value).where(app_state.c.key == key)).scalar()
        value = json.loads(raw) if raw else None
    except Exception:  # noqa: BLE001 - an unreachable or foreign database simply has no state
        return None
    return value if isinstance(value, dict) else None


def _server_write_state(url: str, key: str, value: dict[str, Any]) -> bool:
    from sqlalchemy.dialects.postgresql import insert

    from bookedbiz.db.access import Database
    from bookedbiz.db.schema import app_state

    db = Database(url)
    try:
        with db.writing() as conn:
            row = insert(app_state).values(key=key, value=json.dumps(value, sort_keys=True),
                                           updated_at=utc_now())
            conn.execute(row.on_conflict_do_update(
                index_elements=[app_state.c.key],
                set_={"value": row.excluded.value, "updated_at": row.excluded.updated_at}))
    except Exception as exc:  # noqa: BLE001 - recording state must not hide the real outcome
        log.warning("could not record %s in %s: %s", key, db.describe(), exc)
        return False
    finally:
        db.dispose()
    return True


def last_backup_info(db_path: str | Path) -> dict[str, Any] | None:
    """The ``last_backup`` record: {at, name, target, spot_count, content_hash} or None;
    ``db_path`` is a SQLite path or a DATABASE_URL."""
    return read_state(db_path if is_server_url(db_path) else Path(db_path), LAST_BACKUP_KEY)
