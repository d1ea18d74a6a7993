"""One way to write an audit entry, inside the caller's write transaction."""

from __future__ import annotations

import json
import sqlite3

from bookedbiz.db.connection import utc_now


def audit(conn: sqlite3.Connection, actor: str, action: str, subject: str,
          detail: dict[str, object]) -> int:
    """Record who did what to which record; returns the entry's id (undo refers to it)."""
    cur = conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (utc_now(), actor, action, subject, json.dumps(detail)),
    )
    return int(cur.lastrowid)
