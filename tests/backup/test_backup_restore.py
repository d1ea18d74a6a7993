"""download / restore / verify: side files, verification, refusing busy databases."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from backup_helpers import add_spots, spot_count

from bookedbiz.cli.main import cli
from bookedbiz.db.connection import connect

LEFTOVER_WAL = r"""
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA wal_autocheckpoint=0")
conn.execute("DELETE FROM spots")
conn.execute("CREATE TABLE leftover (x)")
os._exit(0)  # die without checkpoint: the -wal with these changes stays on disk
"""

HOLDER = r"""
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("SELECT count(*) FROM spots").fetchone()
print("open", flush=True)
time.sleep(60)
"""


def _backup(runner) -> None:
    result = runner.invoke(cli, ["sync", "backup"])
    assert result.exit_code == 0, result.output


def test_restore_over_leftover_wal_reads_restored_data(dropbox_env, fake, runner,
                                                       live_db: Path) -> None:
    _backup(runner)  # 500 spots
    subprocess.run([sys.executable, "-c", LEFTOVER_WAL, str(live_db)], check=True)
    wal = Path(f"{live_db}-wal")
    assert wal.exists() and wal.stat().st_size > 0
    result = runner.invoke(cli, ["sync", "restore", "--yes"])
    assert result.exit_code == 0, result.output + result.stderr
    assert not Path(f"{live_db}-wal").exists() and not Path(f"{live_db}-shm").exists()
    conn = connect(live_db)  # the app's way of opening: WAL mode
    try:
        assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 500
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "leftover" not in tables
    finally:
        conn.close()
    aside = sorted(live_db.parent.glob("bookedbiz.db.replaced-*"))
    assert [p.name.endswith("-wal") for p in aside].count(True) == 1
    old = [p for p in aside if p.name.endswith("Z")][0]
    # The old database with its own WAL is kept intact: it shows the pre-restore state.
    conn = sqlite3.connect(old)
    assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 0
    conn.close()


def test_restore_without_yes_only_verifies(dropbox_env, fake, runner, live_db) -> None:
    _backup(runner)
    add_spots(live_db, 10)
    result = runner.invoke(cli, ["sync", "restore"])
    assert result.exit_code == 0
    assert "Nothing replaced" in result.output and "spots:        500" in result.output
    assert spot_count(live_db) == 510
    assert list(live_db.parent.glob("bookedbiz.db.restore-*"))


def test_restore_refuses_while_job_lock_held(dropbox_env, fake, runner, live_db) -> None:
    _backup(runner)
    add_spots(live_db, 10)
    lock = live_db.parent / "locks" / "bookedbiz-jobs.lock"
    lock.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl,sys,time;f=open(sys.argv[1],'w');"
                               "fcntl.flock(f,fcntl.LOCK_EX);print('x',flush=True);"
                               "time.sleep(60)", str(lock)], stdout=subprocess.PIPE)
    try:
        holder.stdout.readline()
        result = runner.invoke(cli, ["sync", "restore", "--yes"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 75
    assert "job lock" in result.stderr and "Nothing was replaced" in result.stderr
    assert spot_count(live_db) == 510
    # our probe released the lock: a job can take it again
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_restore_refuses_while_another_process_has_the_database_open(
        dropbox_env, fake, runner, live_db) -> None:
    _backup(runner)
    add_spots(live_db, 10)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(live_db)],
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"open"
        result = runner.invoke(cli, ["sync", "restore", "--yes"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 75, result.output + result.stderr
    assert "open in another process" in result.stderr
    assert spot_count(live_db) == 510


def test_restore_refuses_while_another_process_writes(dropbox_env, fake, runner,
                                                      live_db) -> None:
    _backup(runner)
    conn = sqlite3.connect(live_db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3,sys,time;c=sqlite3.connect(sys.argv[1],"
         "isolation_level=None);c.execute('BEGIN IMMEDIATE');print('w',flush=True);"
         "time.sleep(60)", str(live_db)], stdout=subprocess.PIPE)
    try:
        writer.stdout.readline()
        result = runner.invoke(cli, ["sync", "restore", "--yes"])
    finally:
        writer.kill()
        writer.wait()
    assert result.exit_code == 75
    assert "being written" in result.stderr


def test_corrupt_download_is_refused_and_live_untouched(dropbox_env, fake, runner,
                                                        live_db) -> None:
    _backup(runner)
    name = [k for k in fake.state.files if k.startswith("/backups/bookedbiz-")][0]
    rec = fake.state.files[name]
    data = bytearray(rec.blob.read_bytes())
    data[5000] ^= 0xFF  # flip a byte behind the server's back: the hash no longer matches
    rec.blob.write_bytes(bytes(data))
    before = live_db.read_bytes()
    for args in (["restore", "--yes"], ["verify"], ["download"]):
        result = runner.invoke(cli, ["sync", *args])
        assert result.exit_code == 3, (args, result.output)
        assert "corrupt" in result.stderr
    assert live_db.read_bytes() == before
    assert not list(live_db.parent.glob("*.partial"))


def test_download_to_path_and_name_selection(dropbox_env, fake, runner, live_db,
                                             tmp_path) -> None:
    _backup(runner)
    add_spots(live_db, 25)
    assert runner.invoke(cli, ["sync", "backup", "pre_migration_backup"]).exit_code == 0
    out = tmp_path / "copy.db"
    result = runner.invoke(cli, ["sync", "download", "--to", str(out)])
    assert result.exit_code == 0
    assert spot_count(out) == 500  # the newest nightly, not the custom name
    manual = tmp_path / "manual.db"
    assert runner.invoke(cli, ["sync", "download", "--name", "pre_migration_backup",
                               "--to", str(manual)]).exit_code == 0
    assert spot_count(manual) == 525
    again = runner.invoke(cli, ["sync", "download", "--to", str(out)])
    assert again.exit_code == 1 and "already exists" in again.stderr
    missing = runner.invoke(cli, ["sync", "download", "--name", "nope"])
    assert missing.exit_code == 4
    live = runner.invoke(cli, ["sync", "download", "--to", str(live_db)])
    assert live.exit_code == 1


def test_verify_marks_backup_verified(dropbox_env, fake, runner, live_db) -> None:
    _backup(runner)
    result = runner.invoke(cli, ["sync", "verify", "--json"])
    assert result.exit_code == 0
    assert '"integrity": "ok"' in result.output and '"spot_count": 500' in result.output
    assert not list(live_db.parent.glob(".bookedbiz-verify-*"))
    time.sleep(0)  # keep imports used
    assert os.path.exists(live_db)
