"""The job runner in-process: outcomes recorded, alerts built, budgets and step order enforced."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import fakejobs
import pytest
from sqlalchemy import text
from tests.core import dbstate

from bookedbiz.config import Settings
from bookedbiz.db.access import writing_to
from bookedbiz.jobs.definitions import JobDefinition, register_job
from bookedbiz.jobs.lock import JobLock
from bookedbiz.jobs.runner import SKIPPED_LINE, run_job
from bookedbiz.notify import Level, Message


class Captured:
    """A notifier that records messages (the real Apprise path is tested in test_notify)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message, settings: Settings) -> list:
        self.messages.append(message)
        return []


@pytest.fixture()
def db_path(database: str) -> Path | str:
    """Every runner test on a SQLite file and on a PostgreSQL database (a URL): job_runs, the
    job lock (a file, or an advisory lock on the server) and the steps' DATABASE_* alike."""
    return database if "://" in database else Path(database)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "job-data"
    folder.mkdir()
    return folder


@pytest.fixture()
def ops_settings(db_path: Path | str, data_dir: Path) -> Settings:
    where = ({"database_url": db_path} if isinstance(db_path, str)
             else {"database_path": db_path})
    return Settings(**where, data_path=data_dir, notify_timeout_seconds=1.0)


def rows(db_path: Path | str) -> list[tuple]:
    return dbstate.rows(
        db_path, "SELECT job, status, exit_code, summary, finished_at FROM job_runs "
        "ORDER BY run_id")


def run(name: str, settings: Settings, **kw) -> tuple:  # noqa: ANN003
    notes = Captured()
    console = io.StringIO()
    result = run_job(name, settings=settings, console=console, notifier=notes, **kw)
    return result, notes, console.getvalue()


def test_success_is_recorded_logged_and_low_priority(ops_settings, db_path, data_dir) -> None:
    result, notes, out = run("fake-ok", ops_settings)
    assert (result.status, result.exit_code) == ("success", 0)
    assert "all good: 12 rows" in out
    [row] = rows(db_path)
    assert row[:3] == ("fake-ok", "success", 0) and row[3] == "all good: 12 rows" and row[4]
    beat = json.loads((data_dir / "heartbeats" / "fake-ok.json").read_text())
    assert beat["status"] == "success" and beat["last_success_at"] == beat["finished_at"]
    log = (data_dir / "logs" / "fake-ok.log").read_text()
    assert "all good: 12 rows" in log and "fake-ok finished: success" in log
    [msg] = notes.messages
    assert msg.level is Level.SUCCESS and msg.priority == "low"
    assert msg.tags == ("white_check_mark",)


def test_partial_failure_exits_1_with_urgent_alert(ops_settings, db_path) -> None:
    result, notes, _ = run("fake-partial", ops_settings)
    assert (result.status, result.exit_code) == ("failed", 1)
    assert rows(db_path)[0][:3] == ("fake-partial", "failed", 1)
    [msg] = notes.messages
    assert msg.level is Level.FAILURE and msg.priority == "max"
    assert msg.tags == ("rotating_light",)
    assert "language assignment failed" in msg.body and "FAILED" in msg.title


def test_failure_alert_carries_last_five_log_lines(ops_settings) -> None:
    result, notes, _ = run("fake-fail", ops_settings)
    assert result.exit_code == 3
    body = notes.messages[0].body
    assert "--- last 5 log lines ---" in body
    assert [f"line {i}" in body for i in range(8)] == [False] * 3 + [True] * 5


def test_overrun_is_killed_and_reported_within_budget(ops_settings, db_path) -> None:
    start = time.monotonic()
    result, notes, _ = run("fake-hang", ops_settings, budget_seconds=1)
    elapsed = time.monotonic() - start
    assert (result.status, result.exit_code) == ("timeout", 124)
    assert elapsed < 1 + 5 + 3  # budget + SIGTERM grace + slack
    assert rows(db_path)[0][1] == "timeout"
    assert notes.messages[0].level is Level.FAILURE


def test_prune_never_runs_after_a_failed_step(ops_settings, tmp_path) -> None:
    register_job(JobDefinition("fake-chain", "chain", steps=lambda c, e: fakejobs.chain(
        str(tmp_path))))
    result, _, out = run("fake-chain", ops_settings)
    assert (result.status, result.exit_code) == ("failed", 5)
    assert (tmp_path / "backup").exists(), "backup runs even after a failed upload"
    assert not (tmp_path / "prune").exists(), "prune must not run after a failure"
    assert "step prune: not run because step 'upload' failed" in out


def test_busy_lock_is_skipped_not_success(ops_settings, db_path) -> None:
    with JobLock(ops_settings, "someone-else"):
        result, notes, out = run("fake-ok", ops_settings)
    assert (result.status, result.exit_code) == ("skipped", 75)
    assert SKIPPED_LINE in out
    assert rows(db_path)[0][:3] == ("fake-ok", "skipped", 75)
    [msg] = notes.messages
    assert msg.level is Level.WARNING and msg.priority == "low"


def test_missing_database_still_alerts_and_writes_heartbeat(tmp_path) -> None:
    settings = Settings(database_path=tmp_path / "gone.db", data_path=tmp_path / "d")
    result, notes, out = run("fake-ok", settings)
    assert result.exit_code == 4 and result.status == "failed"
    assert "does not exist" in out
    beat = json.loads((tmp_path / "d" / "heartbeats" / "fake-ok.json").read_text())
    assert beat["status"] == "failed" and beat["exit_code"] == 4
    assert notes.messages[0].level is Level.FAILURE


def test_unknown_job_is_a_usage_error(ops_settings) -> None:
    result, notes, out = run("no-such-job", ops_settings)
    assert result.exit_code == 2 and "Unknown job" in out
    assert notes.messages and notes.messages[0].level is Level.FAILURE


def test_extra_options_reach_the_job_and_are_rejected_where_meaningless(ops_settings) -> None:
    result, _, out = run("fake-ok", ops_settings, extra=("--file", "x.xlsx"))
    assert result.exit_code == 0 and "extra args: --file x.xlsx" in out
    result, _, out = run("backup", ops_settings, extra=("--bogus",))
    assert result.exit_code == 2 and "takes no extra options" in out


def test_daily_update_and_backup_definitions_call_the_cli(ops_settings, data_dir) -> None:
    from bookedbiz.jobs.definitions import JOBS, JobContext

    ctx = JobContext(ops_settings, ops_settings.database_path, data_dir, data_dir / "logs")
    [daily, archive, changes] = JOBS["daily-update"].steps(ctx, ("--file", "a.xlsx"))
    assert changes.argv[3:] == ("report", "changes", "--format", "alert")
    assert not changes.run_after_failure
    assert list(daily.argv[1:]) == [
        "-m", "bookedbiz", "daily-update", "--auto-setup", "--unattended", "--log-file",
        str(data_dir / "logs" / "daily-update.detail.log"), "--file", "a.xlsx"]
    assert archive.argv[3:] == ("jobs", "archive-logs") and archive.run_after_failure
    backup = JOBS["backup"].steps(ctx, ())
    assert [s.argv[3:] for s in backup] == [("sync", "upload"), ("sync", "backup"),
                                            ("sync", "prune"), ("sync", "logs")]
    assert [s.run_after_failure for s in backup] == [False, True, False, True]


def test_abandoned_running_rows_are_closed(ops_settings, db_path) -> None:
    with writing_to(db_path) as conn:
        conn.execute(text("INSERT INTO job_runs (job, started_at, status) VALUES "
                          "('fake-ok', '2026-01-01T00:00:00Z', 'running')"))
    run("fake-ok", ops_settings)
    statuses = [r[1] for r in rows(db_path)]
    assert statuses == ["failed", "success"]


def test_success_notification_can_be_switched_off(ops_settings) -> None:
    settings = ops_settings.model_copy(update={"notify_success": False})
    result, notes, _ = run("fake-ok", settings)
    assert result.exit_code == 0 and notes.messages == []


@pytest.mark.parametrize("stale", [False, True])
def test_heartbeat_check_job_in_process(ops_settings, db_path, stale) -> None:
    from bookedbiz.db.connection import utc_now

    if not stale:
        now = utc_now()
        with writing_to(db_path) as conn:
            conn.execute(text("INSERT INTO import_batches (mode, source_file, started_at, "
                              "finished_at, status) VALUES ('weekly', 'x.xlsx', :now, :now, "
                              "'completed')"), {"now": now})
            conn.execute(text("INSERT INTO app_state (key, value, updated_at) VALUES "
                              "('last_backup', :v, :now)"),
                         {"v": json.dumps({"at": now}), "now": now})
    result, notes, out = run("heartbeat-check", ops_settings)
    assert result.exit_code == (1 if stale else 0)
    assert ("Heartbeat check FAILED" in out) is stale
    assert notes.messages[0].level is (Level.FAILURE if stale else Level.SUCCESS)
