"""The daily logs in the backup: uploaded when new or changed, recorded, restored verified and
unzipped into a folder that 'history backfill' reads."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from bookedbiz.cli.main import cli
from bookedbiz.ingest.backfill import find_logs
from bookedbiz.jobs.log_archive import archive_daily_logs, daily_folder

TODAY = date(2026, 12, 3)


def _logs(data: Path, days: int = 40) -> dict[str, bytes]:
    folder = daily_folder(data)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for back in range(days):
        name = f"Commercial Log {TODAY - timedelta(days=back):%y%m%d}.xlsx"
        written[name] = os.urandom(3000) + name.encode()
        (folder / name).write_bytes(written[name])
    archive_daily_logs(data, keep_days=7, today=TODAY)
    return written


def _json(result) -> dict:  # noqa: ANN001
    assert result.exit_code == 0, (result.output, result.stderr)
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["local", "dropbox"])
def test_logs_round_trip(kind: str, request, runner, live_db: Path, tmp_path: Path) -> None:
    request.getfixturevalue("local_env" if kind == "local" else "dropbox_env")
    logs = _logs(live_db.parent)
    first = _json(runner.invoke(cli, ["sync", "logs", "--json"]))
    assert len(first["uploaded"]) == 8 + 2 and first["unchanged"] == []  # 8 days + 2 months
    assert any(p.endswith("/logs/archive/Commercial Logs 2026-11.zip") for p in first["uploaded"])
    second = _json(runner.invoke(cli, ["sync", "logs", "--json"]))
    assert second["uploaded"] == [] and len(second["unchanged"]) == 10
    # the next day: one more log moves into November's zip, so that zip travels again
    new_name = f"Commercial Log {TODAY + timedelta(days=1):%y%m%d}.xlsx"
    (daily_folder(live_db.parent) / new_name).write_bytes(b"tomorrow")
    logs[new_name] = b"tomorrow"
    archive_daily_logs(live_db.parent, keep_days=7, today=TODAY + timedelta(days=1))
    third = _json(runner.invoke(cli, ["sync", "logs", "--json"]))
    assert sorted(Path(p).name for p in third["uploaded"]) == [
        "Commercial Log 261204.xlsx", "Commercial Logs 2026-11.zip"]
    assert [Path(p).name for p in third["removed"]] == ["Commercial Log 261126.xlsx"]
    # after a disaster: everything back, verified, unzipped, ready for backfill
    dest = tmp_path / "rebuild"
    dest.mkdir()
    restored = _json(runner.invoke(cli, ["sync", "restore-logs", "--to", str(dest), "--json"]))
    assert sorted(restored["logs"]) == sorted(logs)
    for name, body in logs.items():
        assert (dest / name).read_bytes() == body
    assert len(find_logs(dest)) == len(logs)
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_a_damaged_log_archive_is_refused(local_env: Path, runner, live_db: Path,
                                          tmp_path: Path) -> None:
    _logs(live_db.parent)
    _json(runner.invoke(cli, ["sync", "logs", "--json"]))
    remote = local_env / "backups" / "logs" / "archive" / "Commercial Logs 2026-11.zip"
    data = bytearray(remote.read_bytes())
    data[len(data) // 2] ^= 0x55
    remote.write_bytes(bytes(data))
    dest = tmp_path / "rebuild"
    dest.mkdir()
    result = runner.invoke(cli, ["sync", "restore-logs", "--to", str(dest)])
    assert result.exit_code == 3 and "damaged or replaced at rest" in result.stderr
    assert not list(dest.iterdir()) or all(p.suffix == ".xlsx" for p in dest.iterdir())


def test_restore_logs_needs_a_folder_and_backed_up_logs(local_env: Path, runner,
                                                        tmp_path: Path) -> None:
    missing = runner.invoke(cli, ["sync", "restore-logs", "--to", str(tmp_path / "none")])
    assert missing.exit_code == 4 and "does not exist" in missing.stderr
    none = runner.invoke(cli, ["sync", "restore-logs", "--to", str(tmp_path)])
    assert none.exit_code == 4 and "No daily logs" in none.stderr
