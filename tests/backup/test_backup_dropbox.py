"""The real dropbox SDK against the fake server: sessions, offsets, faults, tokens, listing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from backup_helpers import add_spots
from fake_dropbox import content_hash as reference_hash

from bookedbiz.backup.content_hash import file_content_hash
from bookedbiz.backup.dropbox_target import DropboxTarget
from bookedbiz.cli.main import cli
from bookedbiz.config import Settings
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError, VerificationError

MIB = 1024 * 1024


@pytest.fixture()
def target(dropbox_settings: Settings) -> DropboxTarget:
    return DropboxTarget(dropbox_settings)


@pytest.fixture()
def big_file(tmp_path: Path) -> tuple[Path, str]:
    """Three and a half 4 MiB chunks: start, two appends, finish."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(14 * MIB + 12345))
    return path, file_content_hash(path)


def _upload(target: DropboxTarget, file: tuple[Path, str], dest: str = "/database.db"):
    return target.upload(file[0], dest, local_hash=file[1], overwrite=True)


def test_session_upload_commits_the_exact_bytes(target, fake, big_file) -> None:
    entry = _upload(target, big_file)
    assert entry.content_hash == big_file[1] == reference_hash(fake.read("/database.db"))
    assert fake.calls_to("upload_session/start") == 1
    assert fake.calls_to("upload_session/append_v2") == 2
    assert fake.calls_to("upload_session/finish") == 1
    assert fake.calls_to("files/upload") == 0


@pytest.mark.parametrize("size", [4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 8 * MIB])
def test_threshold_boundaries(target, fake, tmp_path, size) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))
    digest = file_content_hash(path)
    entry = target.upload(path, "/database.db", local_hash=digest, overwrite=True)
    assert entry.content_hash == digest and entry.size == size
    single = size <= 4 * MIB
    assert fake.calls_to("files/upload") == (1 if single else 0)
    assert fake.calls_to("upload_session/finish") == (0 if single else 1)


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_chunk_faults_are_retried(target, fake, big_file, kind) -> None:
    fake.add_fault("upload_session/append_v2", kind, after=1, times=2, seconds=3.5)
    entry = _upload(target, big_file)
    assert entry.content_hash == big_file[1]
    assert reference_hash(fake.read("/database.db")) == big_file[1]
    assert fake.calls_to("upload_session/append_v2") >= 4


def test_lost_response_resynchronises_offset_forward(target, fake, big_file) -> None:
    # The server stored the chunk but the answer came too late: the retry is told the offset.
    fake.add_fault("upload_session/append_v2", "timeout", after=0, times=1, seconds=3.5)
    entry = _upload(target, big_file)
    assert entry.content_hash == big_file[1]
    assert fake.calls_to("upload_session/append_v2") == 3  # 2 appends + 1 rejected retry


def test_server_losing_bytes_is_resent_from_its_offset(target, fake, big_file) -> None:
    fake.add_fault("upload_session/append_v2", "wrong_offset", after=1, times=1)
    entry = _upload(target, big_file)
    assert entry.content_hash == big_file[1]
    assert fake.read("/database.db") == big_file[0].read_bytes()


def test_persistent_failure_keeps_the_previous_remote_file(target, fake, big_file) -> None:
    old = fake.put_file("/database.db", b"yesterday")
    fake.add_fault("upload_session/append_v2", "500", after=1, times=100)
    with pytest.raises(BookedBizError, match="Could not upload"):
        _upload(target, big_file)
    assert fake.file("/database.db").content_hash == old.content_hash
    assert fake.calls_to("upload_session/finish") == 0


def test_failed_verification_before_commit_keeps_the_previous_file(target, fake,
                                                                   big_file) -> None:
    old = fake.put_file("/database.db", b"yesterday")

    def refuse() -> None:
        raise VerificationError("integrity check failed")

    with pytest.raises(VerificationError):
        target.upload(big_file[0], "/database.db", local_hash=big_file[1], overwrite=True,
                      before_commit=refuse)
    assert fake.file("/database.db").content_hash == old.content_hash
    assert fake.calls_to("upload_session/finish") == 0


def test_expired_token_is_refreshed(target, fake, big_file) -> None:
    fake.add_fault("upload_session/append_v2", "expire_token", after=1)
    entry = _upload(target, big_file)
    assert entry.content_hash == big_file[1]
    assert fake.state.refreshes == 2


def test_expired_bare_access_token_is_a_config_error(dropbox_env, fake, big_file,
                                                     monkeypatch) -> None:
    for key in ("DROPBOX_REFRESH_TOKEN", "DROPBOX_APP_KEY", "DROPBOX_APP_SECRET"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("DROPBOX_ACCESS_TOKEN", "sl.expired-token-value")
    fake.state.expired_tokens.add("sl.expired-token-value")
    target = DropboxTarget(Settings(_env_file=None))  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="expire after 4 hours") as err:
        target.check()
    assert "sl.expired-token-value" not in str(err.value)


def test_listing_paginates_and_accepts_relative_folders(target, fake) -> None:
    for i in range(8):
        fake.put_file(f"/backups/bookedbiz-2026010{i + 1}T020000Z.db", b"x" * i)
    fake.put_file("/backups/manual/pre_migration_backup.db", b"m")
    names = [e.name for e in target.list_folder("backups")]
    assert len(names) == 9 and "manual" in names
    assert fake.calls_to("list_folder/continue") >= 2
    assert [e.name for e in target.list_folder("/backups/")] == names
    with pytest.raises(NotFoundError):
        target.list_folder("/nothing-here")


def test_copy_delete_and_metadata(target, fake) -> None:
    fake.put_file("/database.db", b"abc")
    copied = target.copy("/database.db", "/backups/x.db")
    assert copied.content_hash == reference_hash(b"abc")
    assert target.metadata("/backups/x.db") is not None
    target.delete("/backups/x.db")
    assert target.metadata("/backups/x.db") is None


KILL_SCRIPT = "from bookedbiz.cli.main import cli; cli(['sync', 'upload'])"


def test_killed_upload_leaves_previous_remote_copy(dropbox_env, fake, live_db) -> None:
    add_spots(live_db, 60_000)  # > 8 MiB: a session with several 4 MiB chunks
    assert live_db.stat().st_size > 8 * MIB
    old = fake.put_file("/database.db", b"the previous night's copy")
    fake.add_fault("upload_session/append_v2", "hang", after=0, times=1, seconds=30)
    env = {k: v for k, v in os.environ.items()
           if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert fake.hang_started.wait(30), proc.communicate(timeout=5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        fake.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert fake.file("/database.db").content_hash == old.content_hash
    assert fake.calls_to("upload_session/start") == 1
    assert fake.calls_to("upload_session/finish") == 0
    # The killed process could not clean up its snapshot; the next run removes it.
    assert len(list(live_db.parent.glob(".bookedbiz-snapshot-*"))) == 1
    from bookedbiz.backup.gate import remove_stale_snapshots

    remove_stale_snapshots(live_db.parent)
    assert not list(live_db.parent.glob(".bookedbiz-snapshot-*"))


def test_dropped_connections_until_exit_keep_previous_copy(dropbox_env, fake, runner,
                                                           live_db) -> None:
    add_spots(live_db, 60_000)
    old = fake.put_file("/database.db", b"the previous night's copy")
    fake.add_fault("upload_session/append_v2", "drop", after=0, times=100)
    result = runner.invoke(cli, ["sync", "upload"])
    assert result.exit_code == 1
    assert "Could not upload" in result.stderr
    assert fake.file("/database.db").content_hash == old.content_hash
    assert not list(live_db.parent.glob(".bookedbiz-snapshot-*"))


def test_cli_session_upload_sends_per_chunk_hashes(dropbox_env, fake, runner, live_db,
                                                   monkeypatch) -> None:
    add_spots(live_db, 60_000)
    fake.add_fault("upload_session/append_v2", "wrong_offset", after=1, times=1)
    seen: list[str | None] = []
    from dropbox import files

    original = files.UploadSessionAppendArg.__init__

    def spy(self, cursor=None, close=None, content_hash=None):  # what the SDK is asked to send
        seen.append(content_hash)
        original(self, cursor, close, content_hash)

    monkeypatch.setattr(files.UploadSessionAppendArg, "__init__", spy)
    result = runner.invoke(cli, ["sync", "upload", "--json"])
    assert result.exit_code == 0, result.output
    assert seen and all(h is not None and len(h) == 64 for h in seen)
    remote = fake.file("/database.db")
    assert remote.size > 8 * MIB
    assert reference_hash(fake.read("/database.db")) == remote.content_hash


def test_configured_ca_bundle_beats_requests_ca_bundle(dropbox_env, fake, monkeypatch,
                                                       tmp_path) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(_unrelated_ca(tmp_path)))
    target = DropboxTarget(Settings(_env_file=None))  # type: ignore[call-arg]
    assert target.check() == "Dropbox account Fake Owner"


def test_certificate_failure_is_not_retried(dropbox_env, fake, monkeypatch) -> None:
    monkeypatch.delenv("DROPBOX_CA_CERTS")
    target = DropboxTarget(Settings(_env_file=None))  # type: ignore[call-arg]
    with pytest.raises(BookedBizError, match="SSLError"):
        target.check()
    assert fake.state.calls == []  # the TLS handshake failed; nothing reached the handler


def _unrelated_ca(tmp_path: Path) -> Path:
    """A valid PEM bundle that does not contain the fake's CA."""
    import trustme

    path = tmp_path / "unrelated-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path
