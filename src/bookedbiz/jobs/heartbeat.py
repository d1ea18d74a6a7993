"""Dead-man's switch: is the last successful import and the last backup recent enough?

A job that never runs cannot report its own failure (the old import wrapper lost its execute
bit and was silent for three days; the backup failed for 20 days with no alert). This check
looks at the outcome data instead of the jobs: the newest completed ``import_batches`` row, and
the ``app_state`` key ``last_backup`` (falling back to successful ``job_runs`` of ``backup``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, text

from bookedbiz.config import Settings
from bookedbiz.db.access import Database, reading_from


@dataclass(frozen=True)
class Freshness:
    what: str  # "import" or "backup"
    last_at: str | None  # ISO UTC text as stored
    age_hours: float | None
    max_age_hours: float
    source: str

    @property
    def stale(self) -> bool:
        return self.age_hours is None or self.age_hours > self.max_age_hours

    def sentence(self) -> str:
        if self.last_at is None:
            return f"No successful {self.what} is recorded ({self.source})."
        state = "STALE" if self.stale else "ok"
        return (
            f"Last successful {self.what}: {self.last_at} ({self.age_hours:.1f} h ago, limit "
            f"{self.max_age_hours:g} h) — {state}."
        )

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "stale": self.stale}


def parse_utc(text: str | None) -> datetime | None:
    """Read the ISO timestamps we store ('2026-02-13T10:05:12Z', with or without offset)."""
    if not text:
        return None
    raw = str(text).strip().replace(" ", "T")
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _age(last: str | None, now: datetime) -> float | None:
    moment = parse_utc(last)
    return None if moment is None else (now - moment).total_seconds() / 3600


def last_import_at(conn: Connection) -> str | None:
    row = conn.execute(text(
        "SELECT finished_at FROM import_batches WHERE status = 'completed' "
        "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1")).first()
    return row[0] if row else None


def last_backup_at(conn: Connection) -> tuple[str | None, str]:
    """The newest backup time and where it came from."""
    row = conn.execute(text("SELECT value FROM app_state WHERE key = 'last_backup'")).first()
    from_state = None
    if row and row[0]:
        try:
            value = json.loads(row[0])
            from_state = value.get("at") if isinstance(value, dict) else None
        except ValueError:
            from_state = None
    runs = conn.execute(text(
        "SELECT finished_at FROM job_runs WHERE job = 'backup' AND status = 'success' "
        "AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1")).first()
    from_runs = runs[0] if runs else None
    candidates = [
        (parse_utc(from_state), from_state, "app_state last_backup"),
        (parse_utc(from_runs), from_runs, "job_runs backup"),
    ]
    dated = [c for c in candidates if c[0] is not None]
    if not dated:
        return None, "app_state last_backup / job_runs backup"
    best = max(dated, key=lambda c: c[0])
    return best[1], best[2]


def check_freshness(
    db: Database | str | Path, settings: Settings, now: datetime | None = None
) -> list[Freshness]:
    """Import and backup freshness against HEARTBEAT_MAX_AGE_HOURS (``now`` fixed in tests)."""
    now = now or datetime.now(UTC)
    limit = settings.heartbeat_max_age_hours
    with reading_from(db) as conn:
        imported = last_import_at(conn)
        backed_up, source = last_backup_at(conn)
    return [
        Freshness("import", imported, _age(imported, now), limit, "import_batches completed"),
        Freshness("backup", backed_up, _age(backed_up, now), limit, source),
    ]


def heartbeat_report(items: list[Freshness]) -> tuple[int, str]:
    """Exit code (0 fresh, 1 stale) and the lines the job prints and alerts with."""
    lines = [item.sentence() for item in items]
    stale = [item.what for item in items if item.stale]
    if stale:
        lines.insert(0, f"Heartbeat check FAILED: {' and '.join(stale)} not fresh.")
        return 1, "\n".join(lines)
    return 0, "\n".join(["Heartbeat check ok.", *lines])
