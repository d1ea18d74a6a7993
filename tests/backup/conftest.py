"""Fixtures for the backup tests: a fake Dropbox over TLS, settings, and a database with spots.

The SDK reads DROPBOX_API_HOST / DROPBOX_API_CONTENT_HOST when ``dropbox`` is first imported
(and binds the OAuth host as a default argument), so the fake server starts and the variables
are set here, at import time, before any test imports the SDK. REQUESTS_CA_BUNDLE and
CURL_CA_BUNDLE are removed: requests would let them override the SDK's ``ca_certs``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookedbiz.config import Settings
from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.db.migrate import init_database

sys.path.insert(0, str(Path(__file__).parent))
from fake_dropbox import FakeDropbox  # noqa: E402

for _name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_name, None)

_WORKDIR = Path(tempfile.mkdtemp(prefix="fake-dropbox-"))
FAKE = FakeDropbox(_WORKDIR)
for _var in ("DROPBOX_API_HOST", "DROPBOX_API_CONTENT_HOST", "DROPBOX_API_NOTIFY_HOST"):
    os.environ[_var] = FAKE.host
if any(m == "dropbox" or m.startswith("dropbox.") for m in sys.modules):
    # Imported earlier with the real hosts baked in: drop it so our imports see the fake.
    for _mod in [m for m in sys.modules if m == "dropbox" or m.startswith("dropbox.")]:
        del sys.modules[_mod]


def _shutdown() -> None:
    FAKE.stop()
    shutil.rmtree(_WORKDIR, ignore_errors=True)


atexit.register(_shutdown)

# Environment for the fake's credentials; values are distinctive so leak checks can grep them.
DROPBOX_ENV = {
    "DROPBOX_APP_KEY": FAKE.state.app_key,
    "DROPBOX_APP_SECRET": FAKE.state.app_secret,
    "DROPBOX_REFRESH_TOKEN": FAKE.state.refresh_token,
    "DROPBOX_CA_CERTS": str(FAKE.ca_path),
    "DROPBOX_TIMEOUT_SECONDS": "3",
    "BACKUP_RETRY_SECONDS": "0.01",
    "BACKUP_RETRIES": "4",
    "BACKUP_CHUNK_MIB": "4",
}


@pytest.fixture()
def fake() -> Iterator[FakeDropbox]:
    FAKE.reset()
    yield FAKE
    FAKE.reset()


def add_spots(db: Path, count: int, *, month: str = "2025-03") -> None:
    """Insert ``count`` spots in one committed import batch (plus the rows they reference)."""
    conn = connect(db)
    try:
        with write_transaction(conn):
            now = utc_now()
            cur = conn.execute(
                "INSERT INTO import_batches (mode, source_file, started_at, finished_at, status)"
                " VALUES ('weekly', 'test.xlsx', ?, ?, 'completed')", (now, now))
            batch = cur.lastrowid
            conn.execute("INSERT OR IGNORE INTO aes (ae_id, name, name_key, created_at) "
                         "VALUES (1, 'AE', 'ae', ?)", (now,))
            conn.execute("INSERT OR IGNORE INTO customers (customer_id, name, name_key, "
                         "created_at) VALUES (1, 'A:C', 'a:c', ?)", (now,))
            conn.execute(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
                "INSERT INTO spots (import_batch_id, bill_code, air_date, broadcast_month, ae_id,"
                " customer_id, language_category, gross_rate_micros, comments) "
                "SELECT ?, 'A:C', ? || '-01', ?, 1, 1, 'default_english', i * 1000, "
                "hex(randomblob(16)) FROM s", (count, batch, month, month))
    finally:
        conn.close()


def spot_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM spots").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture()
def live_db(tmp_path: Path) -> Path:
    """An initialised database with 500 spots in tmp/data."""
    path = tmp_path / "data" / "bookedbiz.db"
    init_database(path)
    add_spots(path, 500)
    return path


@pytest.fixture()
def dropbox_env(monkeypatch: pytest.MonkeyPatch, fake: FakeDropbox,
                live_db: Path) -> dict[str, str]:
    """Environment for CLI runs against the fake Dropbox (and DATABASE_PATH = live_db)."""
    env = dict(DROPBOX_ENV, DATABASE_PATH=str(live_db))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BACKUP_LOCAL_DIR", raising=False)
    return env


@pytest.fixture()
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, live_db: Path) -> Path:
    """Environment for the local-folder target (no Dropbox credentials)."""
    root = tmp_path / "nas"
    root.mkdir()
    for key in ("DROPBOX_APP_KEY", "DROPBOX_APP_SECRET", "DROPBOX_REFRESH_TOKEN",
                "DROPBOX_ACCESS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(root))
    monkeypatch.setenv("DATABASE_PATH", str(live_db))
    return root


@pytest.fixture()
def dropbox_settings(dropbox_env: dict[str, str]) -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]
