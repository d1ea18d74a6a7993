"""The job lock (shared path, exclusive, dies with its holder) and the freshness check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.databases import PASSWORD

from bookedbiz.config import Settings
from bookedbiz.db.access import writing_to
from bookedbiz.errors import ConfigError
from bookedbiz.jobs.heartbeat import check_freshness, heartbeat_report
from bookedbiz.jobs.lock import JobLock, LockBusyError, job_lock_path, lock_holder, lock_is_held

NOW = datetime(2026, 2, 13, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_lock_path_is_under_the_data_dir_or_the_configured_dir(tmp_path) -> None:
    settings = Settings(data_path=tmp_path / "data")
    assert job_lock_path(settings) == tmp_path / "data" / "locks" / "bookedbiz-jobs.lock"
    db_only = Settings(database_path=tmp_path / "x" / "b.db")
    assert job_lock_path(db_only).parent == (tmp_path / "x" / "locks").resolve()
    run = Settings(data_path=tmp_path / "data", job_lock_dir=tmp_path / "run" / "bookedbiz")
    assert job_lock_path(run) == tmp_path / "run" / "bookedbiz" / "bookedbiz-jobs.lock"


def _lock_settings(tmp_path: Path, database: str) -> Settings:
    """A file lock beside a SQLite database; an advisory lock on a PostgreSQL server."""
    if "://" in database:
        return Settings(data_path=tmp_path, database_url=database)
    return Settings(data_path=tmp_path, database_path=Path(database))


def test_lock_is_exclusive_and_probing_does_not_take_it(tmp_path, database) -> None:
    settings = _lock_settings(tmp_path, database)
    assert not lock_is_held(settings)
    with JobLock(settings, "backup"):
        assert lock_is_held(settings)
        assert lock_is_held(settings), "probing twice must not steal or release the lock"
        assert lock_holder(settings)["job"] == "backup"
        with pytest.raises(LockBusyError) as busy:
            JobLock(settings, "daily-update").acquire()
        assert busy.value.exit_code == 75
        assert str(busy.value).startswith("Another job holds the lock ")
        assert str(busy.value).endswith("; daily-update was skipped.")
        assert PASSWORD not in str(busy.value)
    assert not lock_is_held(settings)
    with JobLock(settings, "again"):
        pass


def test_advisory_lock_holds_across_hosts_and_names_its_holder(tmp_path, pg_url) -> None:
    """Two 'hosts' (separate data folders, so no shared file) exclude each other through the
    server; the second is told who holds it, and the lock is free once the first ends."""
    first = Settings(data_path=tmp_path / "host-a", database_url=pg_url)
    second = Settings(data_path=tmp_path / "host-b", database_url=pg_url)
    lock = JobLock(first, "backup")
    lock.acquire()
    try:
        holder = lock_holder(second)
        assert holder["job"] == "backup" and holder["pid"] == os.getpid()
        with pytest.raises(LockBusyError, match="advisory lock .* on the database"):
            JobLock(second, "daily-update").acquire()
        assert not (tmp_path / "host-a" / "locks").exists()  # no file lock on a server
    finally:
        lock.release()
    assert lock_holder(second) is None
    with JobLock(second, "daily-update"):
        assert lock_is_held(first)


def test_lock_in_a_private_tmp_is_refused_under_systemd(tmp_path, monkeypatch) -> None:
    in_tmp = Settings(data_path=tmp_path, job_lock_dir=Path("/tmp/bookedbiz-never-created"))
    monkeypatch.setenv("INVOCATION_ID", "0123abcd")
    with pytest.raises(ConfigError, match="private"):
        JobLock(in_tmp, "backup").acquire()
    assert not Path("/tmp/bookedbiz-never-created").exists()
    monkeypatch.delenv("INVOCATION_ID")
    with JobLock(Settings(data_path=tmp_path), "backup"):
        pass


def test_lock_dies_with_a_killed_holder(tmp_path, database) -> None:
    settings = _lock_settings(tmp_path, database)
    where = (f"database_url={database!r}" if "://" in database
             else f"database_path={database!r}")
    code = (
        "import sys, time; from bookedbiz.config import Settings; "
        "from bookedbiz.jobs.lock import JobLock; "
        f"lock = JobLock(Settings(data_path={str(tmp_path)!r}, {where}), 'holder'); "
        "lock.acquire(); print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert lock_is_held(settings)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + 10  # the server notices the dropped connection at once
    while lock_is_held(settings) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lock_is_held(settings)


def _set(db: Path | str, *, imported: datetime | None = None,
         backup_state: datetime | None = None, backup_run: datetime | None = None) -> None:
    with writing_to(db) as conn:
        if imported:
            insert = ("INSERT INTO import_batches (mode, source_file, started_at, finished_at, "
                      "status) VALUES ('weekly', 'f.xlsx', :at, :at, :status)")
            conn.execute(text(insert), {"at": iso(imported), "status": "completed"})
            conn.execute(text(insert), {"at": iso(NOW), "status": "failed"})
        if backup_state:
            conn.execute(text("INSERT INTO app_state (key, value, updated_at) VALUES "
                              "('last_backup', :v, :at)"),
                         {"v": json.dumps({"at": iso(backup_state), "name": "x.db"}),
                          "at": iso(NOW)})
        if backup_run:
            conn.execute(text("INSERT INTO job_runs (job, started_at, finished_at, status, "
                              "exit_code) VALUES ('backup', :at, :at, 'success', 0)"),
                         {"at": iso(backup_run)})


def test_fresh_import_and_backup_pass(database) -> None:
    _set(database, imported=NOW - timedelta(hours=5), backup_state=NOW - timedelta(hours=10))
    items = check_freshness(database, Settings(heartbeat_max_age_hours=26), NOW)
    assert [(i.what, round(i.age_hours, 1), i.stale) for i in items] == [
        ("import", 5.0, False), ("backup", 10.0, False)]
    assert heartbeat_report(items)[0] == 0


def test_a_failed_import_does_not_count_and_old_import_is_stale(database) -> None:
    _set(database, imported=NOW - timedelta(hours=27), backup_state=NOW - timedelta(hours=1))
    code, text = heartbeat_report(check_freshness(database, Settings(), NOW))
    assert code == 1 and "import not fresh" in text and "27.0 h ago" in text


def test_backup_falls_back_to_job_runs_and_never_is_stale(database) -> None:
    _set(database, imported=NOW, backup_run=NOW - timedelta(hours=2))
    items = check_freshness(database, Settings(), NOW)
    assert items[1].source == "job_runs backup" and not items[1].stale
    items = check_freshness(database, Settings(), NOW + timedelta(hours=30))
    assert items[1].stale


def test_nothing_ever_recorded_is_stale(database) -> None:
    code, text = heartbeat_report(check_freshness(database, Settings(), NOW))
    assert code == 1 and "No successful import" in text and "No successful backup" in text


def test_configured_age_is_respected(database) -> None:
    _set(database, imported=NOW - timedelta(hours=7), backup_state=NOW - timedelta(hours=7))
    assert heartbeat_report(check_freshness(
        database, Settings(heartbeat_max_age_hours=6), NOW))[0] == 1
    assert heartbeat_report(check_freshness(
        database, Settings(heartbeat_max_age_hours=8), NOW))[0] == 0


def test_job_runs_are_recorded_and_read_back(database) -> None:
    """start_run / finish_run / last_runs on both databases: an unfinished run is abandoned by
    the next locked start, and the newest run per job comes first."""
    from bookedbiz.jobs import records

    first = records.start_run(database, "backup", iso(NOW - timedelta(hours=2)),
                              abandon_running=True)
    second = records.start_run(database, "backup", iso(NOW - timedelta(hours=1)),
                               abandon_running=True)
    assert second > first
    records.finish_run(database, second, "backup", iso(NOW - timedelta(hours=1)), iso(NOW),
                       "success", 0, "uploaded")
    orphan = records.finish_run(database, None, "daily-update", iso(NOW), iso(NOW), "failed",
                                1, "could not start")
    runs = records.last_runs(database, 5)
    assert [(r["job"], r["status"], r["exit_code"]) for r in runs] == [
        ("backup", "success", 0), ("backup", "failed", None),
        ("daily-update", "failed", 1)]
    assert runs[1]["summary"].startswith("abandoned") and runs[2]["run_id"] == orphan
    assert [r["job"] for r in records.last_runs(database, 1)] == ["backup", "daily-update"]
    code, _ = heartbeat_report(check_freshness(database, Settings(), NOW))
    assert code == 1  # a successful backup run, but no import yet


def test_jobs_status_on_both(tmp_path, database) -> None:
    """``jobs status --json`` reads job_runs, freshness and the lock of either database (the
    advisory lock on a server), and never prints the password."""
    from click.testing import CliRunner

    from bookedbiz.cli.main import cli
    from bookedbiz.jobs import records

    records.finish_run(database, None, "backup", iso(NOW), iso(NOW), "success", 0, "ok")
    where = ({"DATABASE_URL": database} if "://" in database
             else {"DATABASE_PATH": database})
    env = {**where, "DATA_PATH": str(tmp_path)}
    settings = _lock_settings(tmp_path, database)
    with JobLock(settings, "backup"):
        result = CliRunner().invoke(cli, ["jobs", "status", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    status = json.loads(result.output)
    assert status["lock"]["held"] and status["lock"]["holder"]["job"] == "backup"
    assert ("advisory lock" in status["lock"]["path"]) == ("://" in database)
    backup = next(j for j in status["jobs"] if j["job"] == "backup")
    assert [(r["status"], r["summary"]) for r in backup["runs"]] == [("success", "ok")]
