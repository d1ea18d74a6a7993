"""The month close/reopen audit trail, newest first, for the months page."""

from __future__ import annotations

from sqlalchemy import Connection, text


def closure_events(conn: Connection, limit: int = 50) -> list[dict[str, object]]:
    rows = conn.execute(
        text(
            "SELECT broadcast_month, action, actor, reason, at FROM month_closure_events "
            "ORDER BY event_id DESC LIMIT :n"
        ),
        {"n": int(limit)},
    ).all()
    keys = ("month", "action", "actor", "reason", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]
