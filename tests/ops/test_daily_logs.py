"""Fresher data and kept logs: several daily-update times, and daily logs zipped by month."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from opscli import root_cli
from test_deploy import parse_unit

from bookedbiz.jobs.log_archive import archive_daily_logs, daily_folder, log_files

TODAY = date(2026, 12, 3)


def _write_logs(data: Path, days: int) -> dict[str, bytes]:
    folder = daily_folder(data)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for back in range(days):
        day = TODAY - timedelta(days=back)
        name = f"Commercial Log {day:%y%m%d}.xlsx"
        body = os.urandom(2048) + name.encode()
        (folder / name).write_bytes(body)
        written[name] = body
    (folder / "notes.txt").write_text("not a log")
    return written


def test_daily_update_at_several_times(tmp_path: Path, runner) -> None:  # noqa: ANN001
    out, prefix = tmp_path / "out", tmp_path / "opt"
    binary = prefix / ".venv" / "bin" / "bookedbiz"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    result = runner.invoke(root_cli(), [
        "deploy", "render", "--prefix", str(prefix), "--data-dir", "/var/lib/bookedbiz",
        "--daily-update-at", "21:30,03:30, 9:30,15:30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    timer = out / "systemd" / "bookedbiz-daily-update.timer"
    assert parse_unit(timer.read_text())["Timer"]["OnCalendar"].splitlines() == [
        "*-*-* 03:30:00", "*-*-* 09:30:00", "*-*-* 15:30:00", "*-*-* 21:30:00"]
    assert "DAILY_LOG_KEEP_DAYS=14" in (out / "etc" / "bookedbiz.env").read_text()
    if shutil.which("systemd-analyze"):
        units = [str(timer), str(out / "systemd" / "bookedbiz-daily-update.service")]
        proc = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    for bad in ("25:00", "03:30,", "3h", ""):
        refused = runner.invoke(root_cli(), ["deploy", "render", "--data-dir",
                                             "/var/lib/bookedbiz", "--daily-update-at", bad,
                                             "--out", str(tmp_path / "bad")])
        assert refused.exit_code == 2, (bad, refused.output)


def test_old_logs_are_zipped_by_month_and_nothing_is_lost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    logs = _write_logs(data, 40)  # 2026-10-25 .. 2026-12-03
    outcome = archive_daily_logs(data, keep_days=14, today=TODAY)
    folder = daily_folder(data)
    left = sorted(p.name for p in folder.glob("Commercial Log *.xlsx"))
    assert len(left) == outcome.kept == 15  # 2026-11-19 .. 2026-12-03
    assert left[0] == "Commercial Log 261119.xlsx"
    assert outcome.zips == ["Commercial Logs 2026-10.zip", "Commercial Logs 2026-11.zip"]
    archived = {}
    for zip_name in outcome.zips:
        with zipfile.ZipFile(folder / "archive" / zip_name) as zipped:
            assert zipped.testzip() is None
            archived.update({n: zipped.read(n) for n in zipped.namelist()})
    assert len(archived) == 25 and all(logs[n] == body for n, body in archived.items())
    assert set(archived) | set(left) == set(logs)  # every day is somewhere
    assert (folder / "notes.txt").exists()
    # The next day moves one more log into November's zip, keeping what it had.
    again = archive_daily_logs(data, keep_days=14, today=TODAY + timedelta(days=1))
    assert again.archived == ["Commercial Log 261119.xlsx"]
    with zipfile.ZipFile(folder / "archive" / "Commercial Logs 2026-11.zip") as zipped:
        assert len(zipped.namelist()) == 19
    assert [p.name for p in log_files(data)][-2:] == ["Commercial Logs 2026-10.zip",
                                                      "Commercial Logs 2026-11.zip"]


def test_a_log_that_differs_from_its_archived_copy_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_logs(data, 20)
    archive_daily_logs(data, keep_days=14, today=TODAY)
    folder = daily_folder(data)
    name = "Commercial Log 261115.xlsx"
    (folder / name).write_bytes(b"a re-export with other content")
    outcome = archive_daily_logs(data, keep_days=14, today=TODAY)
    assert outcome.conflicts == [name] and (folder / name).exists()
    same = "Commercial Log 261116.xlsx"
    with zipfile.ZipFile(folder / "archive" / "Commercial Logs 2026-11.zip") as zipped:
        (folder / same).write_bytes(zipped.read(same))
    assert same in archive_daily_logs(data, keep_days=14, today=TODAY).archived
    assert not (folder / same).exists()


def test_archive_logs_command(tmp_path: Path, runner, monkeypatch) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    _write_logs(data, 30)
    monkeypatch.setenv("DATA_PATH", str(data))
    monkeypatch.setenv("DAILY_LOG_KEEP_DAYS", "20")
    result = runner.invoke(root_cli(), ["jobs", "archive-logs", "--today", "2026-12-03"])
    assert result.exit_code == 0, result.output
    assert "Archived 9 daily log(s)" in result.output and "21 recent kept" in result.output
    result = runner.invoke(root_cli(), ["jobs", "archive-logs", "--today", "2026-12-03",
                                        "--keep-days", "5"])
    assert "Archived 15 daily log(s)" in result.output


def test_no_daily_folder_is_nothing_to_do(tmp_path: Path) -> None:
    outcome = archive_daily_logs(tmp_path / "nothing", keep_days=3, today=TODAY)
    assert (outcome.archived, outcome.kept) == ([], 0)


@pytest.mark.parametrize("keep", [1, 100])
def test_keep_days_bounds(tmp_path: Path, keep: int) -> None:
    data = tmp_path / "data"
    _write_logs(data, 10)
    outcome = archive_daily_logs(data, keep_days=keep, today=TODAY)
    assert outcome.kept == min(10, keep + 1)
