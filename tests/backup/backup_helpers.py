"""Shared test helpers: the fake Dropbox server (started once) and database fillers.

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
from pathlib import Path

from fake_dropbox import FakeDropbox

from bookedbiz.db.connection import connect, utc_now, write_transaction

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
