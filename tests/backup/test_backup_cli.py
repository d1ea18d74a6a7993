"""The sync group: help, options on group and verbs, default target, exit codes, secrets."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from backup_helpers import DROPBOX_ENV, add_spots

from bookedbiz.backup import last_backup_info
from bookedbiz.backup.manifest import ATTEMPT_KEY, write_state
from bookedbiz.backup.naming import nightly_name
from bookedbiz.cli.backup_commands import sync
from bookedbiz.cli.main import cli

VERBS = ["test", "upload", "backup", "info", "list-backups", "list", "download", "restore",
         "prune", "verify", "logs", "restore-logs"]


def test_every_verb_has_help(runner) -> None:
    assert set(sync.commands) == set(VERBS)
    for verb in VERBS:
        result = runner.invoke(cli, ["sync", verb, "--help"])
        assert result.exit_code == 0
        assert "--target" in result.output and "--json" in result.output
        assert len(sync.commands[verb].help or "") > 20


def test_target_and_json_work_on_group_and_verb(local_env: Path, runner) -> None:
    first = runner.invoke(cli, ["sync", "--target", "local", "--json", "upload"])
    assert first.exit_code == 0, first.output + first.stderr
    assert json.loads(first.stdout)["status"] == "uploaded"
    second = runner.invoke(cli, ["sync", "upload", "--target", "local", "--json"])
    assert json.loads(second.stdout)["status"] == "unchanged"
    assert (local_env / "database.db").is_file()


def test_default_target_follows_the_environment(local_env, runner, monkeypatch) -> None:
    assert json.loads(runner.invoke(cli, ["sync", "test", "--json"]).stdout)["target"] == "local"
    monkeypatch.delenv("BACKUP_LOCAL_DIR")
    none = runner.invoke(cli, ["sync", "test"])
    assert none.exit_code == 2 and "No backup target configured" in none.stderr


def test_default_target_is_dropbox_with_credentials(dropbox_env, fake, runner,
                                                    monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BACKUP_LOCAL_DIR", str(tmp_path))
    result = runner.invoke(cli, ["sync", "test", "--json"])
    assert json.loads(result.stdout) == {"ok": True, "target": "dropbox",
                                         "connected": "Dropbox account Fake Owner"}


def test_usage_errors_exit_2(local_env, runner) -> None:
    assert runner.invoke(cli, ["sync", "upload", "--target", "ftp"]).exit_code == 2
    bad = runner.invoke(cli, ["sync", "backup", "../escape"])
    assert bad.exit_code == 2 and "not allowed" in bad.stderr
    nodropbox = runner.invoke(cli, ["sync", "test", "--target", "dropbox"])
    assert nodropbox.exit_code == 2 and "not configured" in nodropbox.stderr


def test_not_found_exit_4(dropbox_env, fake, runner) -> None:
    info = runner.invoke(cli, ["sync", "info"])
    assert info.exit_code == 4 and "/database.db" in info.stderr
    assert runner.invoke(cli, ["sync", "restore"]).exit_code == 4
    assert runner.invoke(cli, ["sync", "list", "/missing"]).exit_code == 4
    as_json = runner.invoke(cli, ["sync", "verify", "--json"])
    assert as_json.exit_code == 4 and json.loads(as_json.stdout)["exit_code"] == 4


def test_list_and_list_backups_ignore_string_order(dropbox_env, fake, runner) -> None:
    fake.put_file("/backups/manual/pre_migration_backup.db", b"m")
    fake.put_file("/backups/failover_backup_20990101_000000.db", b"f")
    fake.put_file("/backups/bookedbiz-20260101T020000Z.db", b"a")
    fake.put_file("/backups/bookedbiz-20260301T020000Z.db", b"b")
    fake.put_file("/backups/bookedbiz-20260201T020000Z.db", b"c")
    data = json.loads(runner.invoke(cli, ["sync", "list-backups", "--json"]).stdout)
    assert [b["name"] for b in data["nightly"]] == [
        "bookedbiz-20260301T020000Z.db", "bookedbiz-20260201T020000Z.db",
        "bookedbiz-20260101T020000Z.db"]
    assert data["nightly"][0]["content_hash"] and data["nightly"][0]["at"].endswith("Z")
    assert [b["name"] for b in data["custom"]] == ["pre_migration_backup.db"]
    for path in ("backups", "/backups", "/backups/"):
        listed = runner.invoke(cli, ["sync", "list", path])
        assert listed.exit_code == 0 and "manual/" in listed.output
    root = runner.invoke(cli, ["sync", "list"])
    assert "backups/" in root.output


def test_nightly_backup_records_last_backup(dropbox_env, fake, runner, live_db) -> None:
    assert last_backup_info(live_db) is None
    result = runner.invoke(cli, ["sync", "backup", "--json"])
    assert result.exit_code == 0
    info = last_backup_info(live_db)
    assert info is not None and info["spot_count"] == 500 and info["target"] == "dropbox"
    assert info["name"].startswith("bookedbiz-") and info["at"].endswith("Z")
    assert fake.file(f"/backups/{info['name']}").content_hash == info["content_hash"]
    custom = runner.invoke(cli, ["sync", "backup", "before-upgrade"])
    assert custom.exit_code == 0 and fake.file("/backups/manual/before-upgrade.db")
    assert last_backup_info(live_db)["name"] == info["name"]  # custom copies don't count
    assert runner.invoke(cli, ["sync", "backup", "before-upgrade"]).exit_code == 1


def _seed_nightlies(fake, days: int) -> list[str]:
    start = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    names = []
    for i in range(days):
        name = nightly_name(start + timedelta(days=i))
        fake.put_file(f"/backups/{name}", name.encode())
        names.append(name)
    return names


def test_prune_keeps_policy_newest_verified_and_custom(dropbox_env, fake, runner,
                                                       monkeypatch) -> None:
    monkeypatch.setenv("BACKUP_KEEP_DAILY", "3")
    monkeypatch.setenv("BACKUP_KEEP_WEEKLY", "0")
    monkeypatch.setenv("BACKUP_KEEP_MONTHLY", "0")
    _seed_nightlies(fake, 10)
    fake.put_file("/backups/manual/pre_migration_backup.db", b"m")
    unverified = runner.invoke(cli, ["sync", "prune"])
    assert unverified.exit_code == 3 and "verified" in unverified.stderr
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0  # today's, verified
    dry = json.loads(runner.invoke(cli, ["sync", "prune", "--dry-run", "--json"]).stdout)
    assert len(dry["deleted"]) == 8 and len([k for k in fake.state.files
                                             if "bookedbiz-" in k]) == 11
    done = json.loads(runner.invoke(cli, ["sync", "prune", "--json"]).stdout)
    left = sorted(r.path_display for k, r in fake.state.files.items()
                  if "/backups/bookedbiz-" in k)
    assert len(left) == 3 and set(done["keep"]) == {p.rsplit("/", 1)[1] for p in left}
    assert fake.file("/backups/manual/pre_migration_backup.db") is not None


def test_prune_protects_newest_verified_when_policy_would_drop_it(
        dropbox_env, fake, runner, monkeypatch) -> None:
    monkeypatch.setenv("BACKUP_KEEP_DAILY", "1")
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    verified = [k for k in fake.state.files if "/backups/bookedbiz-" in k][0]
    # A newer nightly appears that was never verified (e.g. copied in by hand).
    later = nightly_name(datetime.now(UTC) + timedelta(days=2))
    fake.put_file(f"/backups/{later}", b"not verified")
    result = json.loads(runner.invoke(cli, ["sync", "prune", "--json"]).stdout)
    assert fake.file(verified) is not None and fake.file(f"/backups/{later}") is not None
    assert result["deleted"] == []


def test_no_prune_after_failed_backup(dropbox_env, fake, runner, live_db) -> None:
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    _seed_nightlies(fake, 30)
    write_state(live_db, ATTEMPT_KEY, {"at": "2026-01-01T00:00:00Z", "ok": False})
    result = runner.invoke(cli, ["sync", "prune"])
    assert result.exit_code == 3 and "failed" in result.stderr
    assert len([k for k in fake.state.files if "bookedbiz-" in k]) == 31


def test_failed_nightly_backup_is_recorded(dropbox_env, fake, runner, live_db) -> None:
    fake.add_fault("files/upload", "500", times=100)
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 1
    fake.state.faults.clear()
    assert runner.invoke(cli, ["sync", "prune"]).exit_code == 3


def test_local_target_full_cycle(local_env: Path, runner, live_db) -> None:
    for args in (["upload"], ["backup"], ["backup", "keep-me"], ["list-backups"], ["info"],
                 ["list", "backups"], ["verify"], ["prune"]):
        result = runner.invoke(cli, ["sync", *args])
        assert result.exit_code == 0, (args, result.output, result.stderr)
    add_spots(live_db, 5)
    restored = runner.invoke(cli, ["sync", "restore", "--yes"])
    assert restored.exit_code == 0, restored.stderr
    assert "Restored" in restored.output
    assert not list(local_env.rglob(".*partial*"))


def test_secrets_never_appear_in_output_or_logs(dropbox_env, fake, runner, caplog,
                                                monkeypatch, live_db) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [DROPBOX_ENV["DROPBOX_APP_SECRET"], DROPBOX_ENV["DROPBOX_REFRESH_TOKEN"]]
    outputs = []
    fake.add_fault("upload_session/append_v2", "expire_token")
    fake.add_fault("files/upload", "500", times=2)
    for verb in (["test"], ["upload"], ["backup"], ["info"], ["list-backups"], ["list"],
                 ["verify"], ["download"], ["restore"], ["prune", "--dry-run"],
                 ["info", "--json"], ["list", "/nope"]):
        result = runner.invoke(cli, ["sync", *verb])
        outputs += [result.output, result.stderr]
    tokens = set(fake.state.access_tokens) | set(fake.state.expired_tokens)
    assert tokens  # the SDK really did obtain access tokens
    secrets += sorted(tokens)
    # a wrong refresh token: the error must not echo it either
    monkeypatch.setenv("DROPBOX_REFRESH_TOKEN", "wrong-refresh-token-secret")
    bad = runner.invoke(cli, ["sync", "test"])
    assert bad.exit_code == 2
    outputs += [bad.output, bad.stderr]
    secrets.append("wrong-refresh-token-secret")
    text = "\n".join(outputs) + caplog.text
    for secret in secrets:
        assert secret not in text
    assert "owner@example.invalid" not in text  # the account e-mail is not printed either


@pytest.mark.parametrize("verb", [v for v in VERBS if v != "restore-logs"])  # see test_backup_logs
def test_each_verb_runs_against_local_target(local_env, runner, verb) -> None:
    assert runner.invoke(cli, ["sync", "upload"]).exit_code == 0
    assert runner.invoke(cli, ["sync", "backup"]).exit_code == 0
    args = {"list": ["list", "backups"], "restore": ["restore"]}.get(verb, [verb])
    result = runner.invoke(cli, ["sync", *args, "--json"])
    assert result.exit_code == 0, (verb, result.output, result.stderr)
    assert json.loads(result.stdout)["ok"] is True
