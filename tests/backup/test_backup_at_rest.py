"""A backup damaged or replaced at rest is refused by verify, download and restore.

The damage is chosen so that only the recorded content hash can catch it: four characters of a
spot's text inside a data page in the middle of the file, so the copy still opens and still
passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from backup_helpers import add_spots

from bookedbiz.backup.records import LEDGER_NAME
from bookedbiz.cli.main import cli

REFUSING_VERBS = (["verify"], ["download"], ["restore", "--yes"])


def _damage_a_data_page(path: Path, *, keep_mtime: bool) -> None:
    """Change 4 hex characters of a stored comment near the middle of the file."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    hexdigits = b"0123456789ABCDEF"
    at = next(i for i in range(middle, len(data) - 32)
              if all(c in hexdigits for c in data[i:i + 32]))
    assert at > 4096  # a data page, not the header page
    for i in range(at + 8, at + 12):
        data[i] = ord("0") if data[i] != ord("0") else ord("1")
    path.write_bytes(bytes(data))
    if keep_mtime:  # bit rot leaves the timestamp alone
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def _live_files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.iterdir()
            if p.name.startswith(db.name) and p.is_file()}


def _assert_all_refused(runner, live_db: Path, needle: str) -> None:
    before = _live_files(live_db)
    for args in REFUSING_VERBS:
        result = runner.invoke(cli, ["sync", *args])
        assert result.exit_code == 3, (args, result.output, result.stderr)
        assert needle in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1  # one clear sentence
    assert _live_files(live_db) == before
    assert not list(live_db.parent.glob("*.partial"))
    assert not list(live_db.parent.glob("restore-*.db"))
    assert not list(live_db.parent.glob("bookedbiz.db.restore-*"))


@pytest.mark.parametrize("keep_mtime", [False, True])
def test_local_backup_damaged_at_rest_is_refused(local_env: Path, runner, live_db: Path,
                                                 keep_mtime: bool) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    add_spots(live_db, 7)  # the live database differs from the backup
    backup = next((local_env / "backups").glob("bookedbiz-*.db"))
    manifest_before = (local_env / "backups" / "manifest.json").read_bytes()
    ledger = live_db.parent / LEDGER_NAME
    ledger_before = ledger.read_bytes()
    _damage_a_data_page(backup, keep_mtime=keep_mtime)
    needle = "corrupt" if keep_mtime else "damaged or replaced at rest"
    _assert_all_refused(runner, live_db, needle)
    # verify never rewrites a recorded hash
    assert (local_env / "backups" / "manifest.json").read_bytes() == manifest_before
    assert ledger.read_bytes() == ledger_before


def test_local_backup_sound_copy_still_verifies_and_restores(local_env: Path, runner,
                                                             live_db: Path) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    verified = runner.invoke(cli, ["sync", "verify", "--json"])
    assert verified.exit_code == 0, verified.stderr
    assert json.loads(verified.stdout)["matches_record"] is True
    add_spots(live_db, 3)
    assert runner.invoke(cli, ["sync", "restore", "--yes"]).exit_code == 0


def test_dropbox_backup_replaced_on_the_server_is_refused(dropbox_env, fake, runner,
                                                          live_db: Path, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    name = next(k for k in fake.state.files if k.startswith("/backups/bookedbiz-"))
    # A different, perfectly sound BookedBiz database takes the backup's place: Dropbox's own
    # content hash describes the new bytes, so only the recorded hash can tell.
    add_spots(live_db, 40)
    other = tmp_path / "other.db"
    src = sqlite3.connect(live_db)
    dst = sqlite3.connect(other)
    src.backup(dst)
    src.close()
    dst.close()
    fake.put_file(fake.file(name).path_display, other.read_bytes())
    _assert_all_refused(runner, live_db, "damaged or replaced at rest")


def test_dropbox_backup_and_manifest_replaced_is_refused_by_the_local_record(
        dropbox_env, fake, runner, live_db: Path) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    path = next(r.path_display for k, r in fake.state.files.items()
                if k.startswith("/backups/bookedbiz-"))
    add_spots(live_db, 40)
    assert runner.invoke(cli, ["sync", "upload"]).exit_code == 0
    # Someone copies the current database over the backup and fixes up the manifest to match.
    fake.put_file(path, fake.read("/database.db"))
    manifest = json.loads(fake.read("/backups/manifest.json"))
    new_hash = fake.file(path).content_hash
    manifest["files"][path]["content_hash"] = new_hash
    manifest["backups"][path.rsplit("/", 1)[1]]["content_hash"] = new_hash
    fake.put_file("/backups/manifest.json", json.dumps(manifest).encode())
    _assert_all_refused(runner, live_db, "differs from the local record")


def test_new_box_checks_against_the_target_manifest(dropbox_env, fake, runner,
                                                    live_db: Path) -> None:
    """After a disaster the local record is gone: the manifest on the target still guards."""
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    (live_db.parent / LEDGER_NAME).unlink()  # the old box died with its data folder
    assert runner.invoke(cli, ["sync", "verify"]).exit_code == 0
    name = next(r.path_display for k, r in fake.state.files.items()
                if k.startswith("/backups/bookedbiz-"))
    damaged = live_db.parent.parent / "damaged.db"
    damaged.write_bytes(fake.read(name))
    _damage_a_data_page(damaged, keep_mtime=False)
    fake.put_file(name, damaged.read_bytes())
    refused = runner.invoke(cli, ["sync", "verify"])
    assert refused.exit_code == 3 and "recorded when it was made" in refused.stderr


def test_unrecorded_copy_needs_ignore_record(dropbox_env, fake, runner, live_db: Path,
                                             tmp_path: Path) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    stray = "/backups/manual/from-elsewhere.db"
    fake.put_file(stray, live_db.read_bytes())
    refused = runner.invoke(cli, ["sync", "verify", "--name", stray])
    assert refused.exit_code == 3 and "No content hash was recorded" in refused.stderr
    accepted = runner.invoke(cli, ["sync", "download", "--name", stray, "--ignore-record",
                                   "--to", str(tmp_path / "stray.db"), "--json"])
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["matches_record"] is False


def test_unreadable_local_record_refuses(local_env: Path, runner, live_db: Path) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    (live_db.parent / LEDGER_NAME).write_text("{not json")
    result = runner.invoke(cli, ["sync", "verify"])
    assert result.exit_code == 3 and LEDGER_NAME in result.stderr


@pytest.mark.parametrize("verb", [["upload"], ["backup"], ["test"], ["list-backups"]])
def test_missing_local_dir_is_an_error_not_a_new_folder(local_env: Path, runner, verb,
                                                        monkeypatch) -> None:
    missing = local_env.parent / "nas-not-mounted"
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(missing))
    result = runner.invoke(cli, ["sync", *verb])
    assert result.exit_code == 2, (result.output, result.stderr)
    assert "does not exist" in result.stderr and str(missing) in result.stderr
    assert not missing.exists()
