"""Snapshots under load and the sanity gate (empty skeleton, shrink, wrong path)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backup_helpers import add_spots, spot_count

from bookedbiz.backup.content_hash import file_content_hash
from bookedbiz.backup.gate import taken_snapshot
from bookedbiz.cli.main import cli
from bookedbiz.config import Settings
from bookedbiz.db.migrate import init_database
from bookedbiz.db.snapshot import backup_to_file, verify_database_file
from bookedbiz.errors import NotFoundError, VerificationError

WRITER = r"""
import sqlite3, sys, time
db, progress, stop = sys.argv[1], sys.argv[2], sys.argv[3]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("PRAGMA wal_autocheckpoint=50")
conn.execute("PRAGMA busy_timeout=5000")
total = conn.execute("SELECT count(*) FROM spots").fetchone()[0]
import os
while not os.path.exists(stop):
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300) "
        "INSERT INTO spots (import_batch_id, bill_code, air_date, broadcast_month, ae_id, "
        "customer_id, language_category, comments) SELECT 1, 'A:C', '2025-04-01', '2025-04', "
        "1, 1, 'default_english', hex(randomblob(24)) FROM s")
    conn.execute("UPDATE spots SET comments = hex(randomblob(8)) WHERE spot_id IN "
                 "(SELECT spot_id FROM spots ORDER BY random() LIMIT 20)")
    conn.execute("COMMIT")
    total += 300
    with open(progress + ".tmp", "w") as f:
        f.write(str(total))
    import os as _o; _o.replace(progress + ".tmp", progress)
"""


def _committed(progress: Path) -> int:
    for _ in range(100):
        try:
            return int(progress.read_text())
        except (OSError, ValueError):
            time.sleep(0.01)
    raise AssertionError("writer made no progress")


def test_snapshots_under_continuous_writes_are_consistent(live_db: Path, tmp_path: Path) -> None:
    progress, stop = tmp_path / "progress", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live_db), str(progress),
                               str(stop)])
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    try:
        _committed(progress)
        counts = []
        for _ in range(22):
            before = _committed(progress)
            with taken_snapshot(settings, live_db, None) as snap:
                after = _committed(progress)
                check = verify_database_file(snap.path)  # raises unless integrity is ok
                assert check.spot_count == snap.spot_count
                assert before <= snap.spot_count <= after + 300
                assert not Path(str(snap.path) + "-wal").exists()
                counts.append(snap.spot_count)
            time.sleep(0.02)
        assert len(counts) >= 20 and counts[-1] > counts[0]  # the writer really was writing
        wal = Path(str(live_db) + "-wal")
        assert wal.exists()  # committed rows lived in the WAL, and the snapshots had them
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert writer.returncode == 0
    assert not list(live_db.parent.glob(".bookedbiz-snapshot-*"))  # temp files cleaned up


def test_unchanged_database_gives_identical_snapshots(live_db: Path, tmp_path: Path) -> None:
    a = backup_to_file(live_db, tmp_path / "a.db")
    b = backup_to_file(live_db, tmp_path / "b.db")
    assert file_content_hash(a) == file_content_hash(b)
    add_spots(live_db, 1)
    c = backup_to_file(live_db, tmp_path / "c.db")
    assert file_content_hash(c) != file_content_hash(a)


def test_source_opened_read_only_and_missing_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(NotFoundError):
        backup_to_file(missing, tmp_path / "out.db")
    assert not missing.exists()


def _skeleton(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    assert path.stat().st_size == 4096
    return path


def test_empty_4kb_skeleton_is_refused(dropbox_env, fake, runner, tmp_path: Path) -> None:
    fake.put_file("/database.db", b"previous good copy")
    before = fake.file("/database.db").content_hash
    skeleton = _skeleton(tmp_path / "data" / "skeleton.db")
    result = runner.invoke(cli, ["sync", "upload", "--db", str(skeleton)])
    assert result.exit_code == 3, result.output
    assert "skeleton" in result.stderr
    assert fake.file("/database.db").content_hash == before
    assert fake.calls_to("upload_session/start") == 0 and fake.calls_to("files/upload") == 0


def test_initialised_but_empty_database_is_refused_after_a_full_backup(
        dropbox_env, fake, runner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["sync", "upload"]).exit_code == 0
    good = fake.file("/database.db").content_hash
    empty = tmp_path / "data" / "empty.db"
    init_database(empty)
    for verb in ("upload", "backup"):
        result = runner.invoke(cli, ["sync", verb, "--db", str(empty)])
        assert result.exit_code == 3, result.output
        assert "no spots" in result.stderr
    assert fake.file("/database.db").content_hash == good
    assert not [f for f in fake.state.files if f.startswith("/backups/bookedbiz-")]


def test_shrink_beyond_threshold_is_refused_unless_allowed(dropbox_env, fake, runner,
                                                           live_db: Path) -> None:
    assert runner.invoke(cli, ["sync", "upload"]).exit_code == 0
    conn = sqlite3.connect(live_db)
    conn.execute("DELETE FROM spots WHERE spot_id > 100")
    conn.commit()
    conn.close()
    refused = runner.invoke(cli, ["sync", "upload"])
    assert refused.exit_code == 3
    assert "fell from 500" in refused.stderr and "100" in refused.stderr
    allowed = runner.invoke(cli, ["sync", "upload", "--allow-shrink"])
    assert allowed.exit_code == 0, allowed.output
    assert spot_count(live_db) == 100


def test_wrong_database_path_is_a_clear_error(dropbox_env, fake, runner, tmp_path) -> None:
    missing = tmp_path / "data" / "typo.db"
    for verb in (["upload"], ["backup"]):
        result = runner.invoke(cli, ["sync", *verb, "--db", str(missing)])
        assert result.exit_code == 4
        assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert not missing.exists()
    assert fake.calls_to("files/upload") == 0


def test_corrupt_snapshot_is_never_committed(dropbox_env, fake, runner, live_db,
                                             tmp_path) -> None:
    fake.put_file("/database.db", b"previous good copy")
    before = fake.file("/database.db").content_hash
    broken = tmp_path / "data" / "broken.db"
    broken.write_bytes(live_db.read_bytes())
    conn = sqlite3.connect(broken)
    conn.execute("PRAGMA writable_schema = ON")
    # Swap two index root pages: integrity_check fails, counting still works.
    root = conn.execute("SELECT rootpage FROM sqlite_master "
                        "WHERE name = 'ix_spots_month_station'").fetchone()[0]
    other = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_spot_summary_ae'"
                         ).fetchone()[0]
    conn.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = 'ix_spots_month_station'",
                 (other,))
    conn.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = 'ix_spot_summary_ae'",
                 (root,))
    conn.commit()
    conn.close()
    assert root != other
    with pytest.raises(VerificationError):
        verify_database_file(broken)
    result = runner.invoke(cli, ["sync", "upload", "--db", str(broken)])
    assert result.exit_code == 3, result.output
    assert fake.file("/database.db").content_hash == before
