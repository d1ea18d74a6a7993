"""How fresh the data is: the time of the last completed import, and whether it is stale."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

STALE_AFTER_HOURS = 24.0


def last_completed_import_at(conn: Connection) -> str | None:
    """``finished_at`` (ISO UTC) of the newest completed import batch, or None."""
    return conn.execute(
        text(
            "SELECT finished_at FROM import_batches WHERE status = 'completed' "
            "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
        )
    ).scalar()


def parse_utc(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def describe(
    finished_at: str | None,
    now: datetime | None = None,
    timezone: str = "America/Los_Angeles",
    stale_after_hours: float = STALE_AFTER_HOURS,
) -> dict[str, Any]:
    """What the footer and /health show: local display time, age in hours, stale flag."""
    when = parse_utc(finished_at) if finished_at else None
    if when is None:
        return {"at": None, "display": None, "age_hours": None, "stale": True}
    now = now or datetime.now(UTC)
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = when.astimezone(zone)
    age = (now - when).total_seconds() / 3600
    return {
        "at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "display": local.strftime("%Y-%m-%d %I:%M %p ") + (local.tzname() or ""),
        "age_hours": round(age, 2),
        "stale": age > stale_after_hours,
    }
