"""Where job outcomes are written: the ``job_runs`` table and a heartbeat JSON file per job.

Two places on purpose: the database is what ``jobs status`` and the heartbeat check query, and
the heartbeat file still records the outcome when the database itself is the problem (missing,
locked, corrupt).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from sqlalchemy import text

from bookedbiz.db.access import Database, reading_from, writing_to
from bookedbiz.errors import BookedBizError

STATUSES = ("running", "success", "failed", "skipped", "timeout")


def heartbeat_path(data_dir: Path, job: str) -> Path:
    return data_dir / "heartbeats" / f"{job}.json"


def read_heartbeat(data_dir: Path, job: str) -> dict[str, object] | None:
    try:
        return json.loads(heartbeat_path(data_dir, job).read_text())
    except (OSError, ValueError):
        return None


def write_heartbeat(data_dir: Path, job: str, record: dict[str, object]) -> Path:
    """Write atomically (temp file + rename); keep the last success time across failures."""
    path = heartbeat_path(data_dir, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = read_heartbeat(data_dir, job) or {}
    data = dict(record)
    if data.get("status") == "success":
        data["last_success_at"] = data.get("finished_at")
    else:
        data["last_success_at"] = previous.get("last_success_at")
    tmp = path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def start_run(db: Database | str | Path, job: str, started_at: str, *,
              abandon_running: bool) -> int:
    """Insert a 'running' row; with the lock held, older 'running' rows were abandoned."""
    with writing_to(db) as conn:
        if abandon_running:
            conn.execute(text(
                "UPDATE job_runs SET status = 'failed', finished_at = :at, "
                "summary = 'abandoned: the runner died before recording an outcome' "
                "WHERE job = :job AND status = 'running'"), {"at": started_at, "job": job})
        run_id = conn.execute(text(
            "INSERT INTO job_runs (job, started_at, status, host, pid) "
            "VALUES (:job, :at, 'running', :host, :pid) RETURNING run_id"),
            {"job": job, "at": started_at, "host": socket.gethostname(),
             "pid": os.getpid()}).scalar_one()
    return int(run_id or 0)


def finish_run(
    db: Database | str | Path,
    run_id: int | None,
    job: str,
    started_at: str,
    finished_at: str,
    status: str,
    exit_code: int,
    summary: str,
) -> int:
    """Record the outcome (update the 'running' row, or insert one if starting failed)."""
    assert status in STATUSES
    values = {"job": job, "started": started_at, "finished": finished_at, "status": status,
              "code": int(exit_code), "summary": summary, "host": socket.gethostname(),
              "pid": os.getpid(), "id": run_id}
    with writing_to(db) as conn:
        if run_id:
            conn.execute(text(
                "UPDATE job_runs SET finished_at = :finished, status = :status, "
                "exit_code = :code, summary = :summary WHERE run_id = :id"), values)
            return run_id
        new_id = conn.execute(text(
            "INSERT INTO job_runs (job, started_at, finished_at, status, exit_code, summary, "
            "host, pid) VALUES (:job, :started, :finished, :status, :code, :summary, :host, "
            ":pid) RETURNING run_id"), values).scalar_one()
    return int(new_id or 0)


def last_runs(db: Database | str | Path, limit_per_job: int = 1) -> list[dict[str, object]]:
    """Newest runs per job, newest first; none when the database cannot be read."""
    try:
        with reading_from(db) as conn:
            rows = conn.execute(text(
                "SELECT * FROM (SELECT job_runs.*, ROW_NUMBER() OVER (PARTITION BY job "
                "ORDER BY started_at DESC, run_id DESC) AS n FROM job_runs) AS ranked "
                "WHERE n <= :limit ORDER BY job, started_at DESC"),
                {"limit": int(limit_per_job)}).mappings().all()
    except BookedBizError:
        return []
    return [{k: v for k, v in row.items() if k != "n"} for row in rows]
