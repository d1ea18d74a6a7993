"""One way to write an audit entry, inside the caller's write transaction."""

from __future__ import annotations

import json

from sqlalchemy import Connection, text

from bookedbiz.db.connection import utc_now


def audit(conn: Connection, actor: str, action: str, subject: str,
          detail: dict[str, object]) -> int:
    """Record who did what to which record; returns the entry's id (undo refers to it)."""
    return int(conn.execute(
        text("INSERT INTO audit_log (at, actor, action, subject, detail) "
             "VALUES (:at, :actor, :action, :subject, :detail) RETURNING audit_id"),
        {"at": utc_now(), "actor": actor, "action": action, "subject": subject,
         "detail": json.dumps(detail)},
    ).scalar_one())
