"""``bookedbiz jobs status``: the last runs per job, heartbeat ages and the lock, at a glance."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bookedbiz.config import Settings
from bookedbiz.errors import BookedBizError
from bookedbiz.jobs import records
from bookedbiz.jobs.definitions import JOBS
from bookedbiz.jobs.heartbeat import check_freshness, parse_utc
from bookedbiz.jobs.lock import lock_holder, lock_label


def _age_hours(text: object, now: datetime) -> float | None:
    moment = parse_utc(str(text)) if text else None
    return None if moment is None else round((now - moment).total_seconds() / 3600, 2)


def collect_status(
    db_path: Path | str, settings: Settings, now: datetime | None = None, runs_per_job: int = 3
) -> dict[str, object]:
    now = now or datetime.now(UTC)
    data_dir = settings.resolved_data_path()
    runs = records.last_runs(db_path, runs_per_job)
    jobs = []
    for name in sorted(JOBS):
        beat = records.read_heartbeat(data_dir, name) or {}
        jobs.append({
            "job": name,
            "runs": [run for run in runs if run["job"] == name],
            "heartbeat_file": str(records.heartbeat_path(data_dir, name)),
            "heartbeat_status": beat.get("status"),
            "heartbeat_finished_at": beat.get("finished_at"),
            "heartbeat_age_hours": _age_hours(beat.get("finished_at"), now),
            "last_success_at": beat.get("last_success_at"),
            "last_success_age_hours": _age_hours(beat.get("last_success_at"), now),
        })
    try:
        freshness = [item.as_dict() for item in check_freshness(db_path, settings, now)]
    except BookedBizError as exc:
        freshness = [{"what": "database", "error": str(exc), "stale": True}]
    try:
        holder = lock_holder(settings, db_path)
    except BookedBizError as exc:
        holder = {"error": str(exc)}
    return {
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lock": {"path": lock_label(settings, db_path), "held": holder is not None,
                 "holder": holder},
        "jobs": jobs,
        "freshness": freshness,
    }


def _fmt_age(hours: object) -> str:
    return "never" if hours is None else f"{float(hours):.1f} h ago"  # type: ignore[arg-type]


def render_status(status: dict[str, object]) -> str:
    lock = status["lock"]  # type: ignore[index]
    lines = [f"Lock {lock['path']}: " + (f"HELD by {lock['holder']}" if lock["held"] else "free")]
    for job in status["jobs"]:  # type: ignore[union-attr]
        lines.append(
            f"\n{job['job']}: heartbeat {job['heartbeat_status'] or 'none'} "
            f"({_fmt_age(job['heartbeat_age_hours'])}), last success "
            f"{_fmt_age(job['last_success_age_hours'])}"
        )
        if not job["runs"]:
            lines.append("  no runs recorded")
        for run in job["runs"]:
            code = "" if run["exit_code"] is None else f" exit {run['exit_code']}"
            lines.append(
                f"  {run['started_at']}  {run['status']:<8}{code}  {run['summary'] or ''}"[:160]
            )
    lines.append("")
    for item in status["freshness"]:  # type: ignore[union-attr]
        if "error" in item:
            lines.append(f"Freshness: {item['error']}")
            continue
        state = "STALE" if item["stale"] else "ok"
        when = (f"{item['last_at']} ({_fmt_age(item['age_hours'])})" if item["last_at"]
                else "never recorded")
        lines.append(
            f"Last {item['what']}: {when}, limit {item['max_age_hours']:g} h: {state}"
        )
    return "\n".join(lines)
