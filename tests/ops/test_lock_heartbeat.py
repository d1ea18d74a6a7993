"""The job lock (shared path, exclusive, dies with its holder) and the freshness check."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bookedbiz.config import Settings
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


def test_lock_is_exclusive_and_probing_does_not_take_it(tmp_path) -> None:
    settings = Settings(data_path=tmp_path)
    assert not lock_is_held(settings)
    with JobLock(settings, "backup"):
        assert lock_is_held(settings)
        assert lock_is_held(settings), "probing twice must not steal or release the lock"
        assert lock_holder(settings)["job"] == "backup"
        with pytest.raises(LockBusyError) as busy:
            JobLock(settings, "daily-update").acquire()
        assert busy.value.exit_code == 75
    assert not lock_is_held(settings)
    with JobLock(settings, "again"):
        pass


def test_lock_in_a_private_tmp_is_refused_under_systemd(tmp_path, monkeypatch) -> None:
    in_tmp = Settings(data_path=tmp_path, job_lock_dir=Path("/tmp/bookedbiz-never-created"))
    monkeypatch.setenv("INVOCATION_ID", "0123abcd")
    with pytest.raises(ConfigError, match="private"):
        JobLock(in_tmp, "backup").acquire()
    assert not Path("/tmp/bookedbiz-never-created").exists()
    monkeypatch.delenv("INVOCATION_ID")
    with JobLock(Settings(data_path=tmp_path), "backup"):
        pass


def test_lock_dies_with_a_killed_holder(tmp_path) -> None:
    settings = Settings(data_path=tmp_path)
    code = (
        "import sys, time; from bookedbiz.config import Settings; "
        "from bookedbiz.jobs.lock import JobLock; "
        f"lock = JobLock(Settings(data_path={str(tmp_path)!r}), 'holder'); lock.acquire(); "
        "print('held', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert lock_is_held(settings)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert not lock_is_held(settings)


def _set(db: Path, *, imported: datetime | None = None, backup_state: datetime | None = None,
         backup_run: datetime | None = None) -> None:
    conn = sqlite3.connect(db)
    if imported:
        conn.execute("INSERT INTO import_batches (mode, source_file, started_at, finished_at, "
                     "status) VALUES ('weekly', 'f.xlsx', ?, ?, 'completed')",
                     (iso(imported), iso(imported)))
        conn.execute("INSERT INTO import_batches (mode, source_file, started_at, finished_at, "
                     "status) VALUES ('weekly', 'f.xlsx', ?, ?, 'failed')", (iso(NOW), iso(NOW)))
    if backup_state:
        conn.execute("INSERT INTO app_state (key, value, updated_at) VALUES ('last_backup', ?, ?)",
                     (json.dumps({"at": iso(backup_state), "name": "x.db"}), iso(NOW)))
    if backup_run:
        conn.execute("INSERT INTO job_runs (job, started_at, finished_at, status, exit_code) "
                     "VALUES ('backup', ?, ?, 'success', 0)", (iso(backup_run), iso(backup_run)))
    conn.commit()
    conn.close()


def test_fresh_import_and_backup_pass(db_path) -> None:
    _set(db_path, imported=NOW - timedelta(hours=5), backup_state=NOW - timedelta(hours=10))
    items = check_freshness(db_path, Settings(heartbeat_max_age_hours=26), NOW)
    assert [(i.what, round(i.age_hours, 1), i.stale) for i in items] == [
        ("import", 5.0, False), ("backup", 10.0, False)]
    assert heartbeat_report(items)[0] == 0


def test_a_failed_import_does_not_count_and_old_import_is_stale(db_path) -> None:
    _set(db_path, imported=NOW - timedelta(hours=27), backup_state=NOW - timedelta(hours=1))
    code, text = heartbeat_report(check_freshness(db_path, Settings(), NOW))
    assert code == 1 and "import not fresh" in text and "27.0 h ago" in text


def test_backup_falls_back_to_job_runs_and_never_is_stale(db_path) -> None:
    _set(db_path, imported=NOW, backup_run=NOW - timedelta(hours=2))
    items = check_freshness(db_path, Settings(), NOW)
    assert items[1].source == "job_runs backup" and not items[1].stale
    items = check_freshness(db_path, Settings(), NOW + timedelta(hours=30))
    assert items[1].stale


def test_nothing_ever_recorded_is_stale(db_path) -> None:
    code, text = heartbeat_report(check_freshness(db_path, Settings(), NOW))
    assert code == 1 and "No successful import" in text and "No successful backup" in text


def test_configured_age_is_respected(db_path) -> None:
    _set(db_path, imported=NOW - timedelta(hours=7), backup_state=NOW - timedelta(hours=7))
    assert heartbeat_report(check_freshness(
        db_path, Settings(heartbeat_max_age_hours=6), NOW))[0] == 1
    assert heartbeat_report(check_freshness(
        db_path, Settings(heartbeat_max_age_hours=8), NOW))[0] == 0
