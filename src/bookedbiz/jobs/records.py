"""Where job outcomes are written: the ``job_runs`` table and a heartbeat JSON file per job.

Two places on purpose: the database is what ``jobs status`` and the heartbeat check query, and
the heartbeat file still records the outcome when the database itself is the problem (missing,
locked, corrupt).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path

from bookedbiz.db.connection import connect, write_transaction
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


def start_run(db_path: Path, job: str, started_at: str, *, abandon_running: bool) -> int:
    """Insert a 'running' row; with the lock held, older 'running' rows were abandoned."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if abandon_running:
                conn.execute(
                    "UPDATE job_runs SET status = 'failed', finished_at = ?, "
                    "summary = 'abandoned: the runner died before recording an outcome' "
                    "WHERE job = ? AND status = 'running'",
                    (started_at, job),
                )
            cur = conn.execute(
                "INSERT INTO job_runs (job, started_at, status, host, pid) "
                "VALUES (?, ?, 'running', ?, ?)",
                (job, started_at, socket.gethostname(), os.getpid()),
            )
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


def finish_run(
    db_path: Path,
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
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if run_id:
                conn.execute(
                    "UPDATE job_runs SET finished_at = ?, status = ?, exit_code = ?, summary = ? "
                    "WHERE run_id = ?",
                    (finished_at, status, exit_code, summary, run_id),
                )
                return run_id
            cur = conn.execute(
                "INSERT INTO job_runs (job, started_at, finished_at, status, exit_code, summary, "
                "host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job, started_at, finished_at, status, exit_code, summary,
                 socket.gethostname(), os.getpid()),
            )
            return int(cur.lastrowid or 0)
    finally:
        conn.close()


def last_runs(db_path: Path, limit_per_job: int = 1) -> list[dict[str, object]]:
    """Newest runs per job, newest first."""
    try:
        conn = connect(db_path, readonly=True)
    except BookedBizError:
        return []
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT * FROM (SELECT job_runs.*, ROW_NUMBER() OVER (PARTITION BY job "
            "ORDER BY started_at DESC, run_id DESC) AS n FROM job_runs) WHERE n <= ? "
            "ORDER BY job, started_at DESC",
            (limit_per_job,),
        ).fetchall()
        return [{k: row[k] for k in row.keys() if k != "n"} for row in rows]
    finally:
        conn.close()
