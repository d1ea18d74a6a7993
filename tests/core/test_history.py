"""As-of dates and the booking history: recorded by every import, as intervals, atomically."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from tests.core.conftest import alembic_upgrade, data_checksum
from tests.core.dbstate import rows

from bookedbiz.cli.main import cli
from bookedbiz.errors import BookedBizError
from bookedbiz.history.as_of import date_in_file_name, station_today
from bookedbiz.ingest.service import import_workbook


def _batches(db: Path | str) -> list[tuple]:
    return rows(db, "SELECT status, as_of FROM import_batches ORDER BY batch_id")


def test_file_name_dates() -> None:
    assert date_in_file_name("x/Commercial Log 251105.xlsx") == date(2025, 11, 5)
    assert date_in_file_name("commercial log 240229 (1).xlsx") == date(2024, 2, 29)
    assert date_in_file_name("Commercial Log 251345.xlsx") is None
    assert date_in_file_name("daily.xlsx") is None


def test_as_of_comes_from_option_then_file_name_then_today(db_path: Path, workbooks,
                                                            tmp_path: Path) -> None:
    dated = tmp_path / "Commercial Log 251104.xlsx"
    shutil.copy(workbooks["daily"], dated)
    import_workbook(db_path, dated)
    import_workbook(db_path, dated, as_of=date(2025, 11, 6))
    import_workbook(db_path, dated, today=date(2025, 11, 6))  # the old keyword still works
    import_workbook(db_path, workbooks["daily"])
    assert _batches(db_path) == [("completed", "2025-11-04"), ("completed", "2025-11-06"),
                                 ("completed", "2025-11-06"),
                                 ("completed", station_today().isoformat())]


@pytest.mark.parametrize(("as_of", "words"), [
    ("2099-01-01", "is in the future"),
    ("2025-13-01", "is not a date; write it as YYYY-MM-DD"),
    ("yesterday", "is not a date; write it as YYYY-MM-DD"),
    ("2025-11-01", "is older than the booking history"),
])
def test_bad_as_of_is_one_sentence_and_changes_nothing(db_path: Path, workbooks,
                                                        runner: CliRunner, as_of: str,
                                                        words: str) -> None:
    import_workbook(db_path, workbooks["daily"], as_of=date(2025, 11, 5))
    before = data_checksum(db_path), _batches(db_path), _history(db_path)
    for command in (["import"], ["daily-update", "--yes"]):
        result = runner.invoke(cli, [*command, str(workbooks["daily"]), "--as-of", as_of,
                                     "--db", str(db_path)])
        assert result.exit_code != 0, result.output
        assert words in result.output, result.output
        assert result.output.strip().count("\n") == 0, result.output
        assert "Traceback" not in result.output
    assert (data_checksum(db_path), _batches(db_path), _history(db_path)) == before


def test_older_import_refused_in_the_library_too(database: str, workbooks) -> None:
    import_workbook(database, workbooks["daily"], as_of=date(2025, 11, 5))
    with pytest.raises(BookedBizError, match="older than the booking history"):
        import_workbook(database, workbooks["daily_b"], as_of=date(2025, 11, 4))
    import_workbook(database, workbooks["daily_b"], as_of=date(2025, 11, 5))  # same day: fine
    assert [s for s, _ in _batches(database)] == ["completed", "completed"]


def _history(db: Path | str) -> list[tuple]:
    return rows(db, "SELECT * FROM booking_history ORDER BY history_id")


# --- recording, backfill and kills, on a sequence of daily logs ------------------------------

HISTORY_COLUMNS = ("broadcast_month, customer_id, agency_id, ae_id, market_code, revenue_type, "
                   "language_group, contract, gross_micros, net_micros, spots, valid_from, "
                   "valid_to")


def _intervals(db: Path | str) -> list[tuple]:
    """Every interval by entity names (two databases may number entities differently), sorted
    in Python (PostgreSQL and SQLite collate NULLs differently)."""
    named = (HISTORY_COLUMNS.replace("customer_id", "c.name").replace("agency_id", "g.name")
             .replace("ae_id", "a.name"))
    found = rows(db, f"SELECT {named} "
                 "FROM booking_history h JOIN customers c ON c.customer_id = h.customer_id "
                 "LEFT JOIN agencies g ON g.agency_id = h.agency_id "
                 "JOIN aes a ON a.ae_id = h.ae_id")
    return sorted(found, key=repr)


def _states(db: Path | str, days: list[date]) -> list[dict]:
    from bookedbiz.db.access import Database
    from bookedbiz.history.queries import state_as_of

    database = Database(db)
    try:  # entities by name: two databases may number them in a different order
        with database.reading() as conn:
            customers = dict(conn.execute(text("SELECT customer_id, name FROM customers")).all())
            agencies = dict(conn.execute(text("SELECT agency_id, name FROM agencies")).all())
            aes = dict(conn.execute(text("SELECT ae_id, name FROM aes")).all())
            return [{(k[0], customers[k[1]], agencies.get(k[2]), aes[k[3]], *k[4:]): v
                     for k, v in state_as_of(conn, day).items()} for day in days]
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from tests.core.history_logs import log_days, make_orders, write_daily_log

    folder = tmp_path_factory.mktemp("seq")
    orders = make_orders("2024-09", "2025-12", seed=11, per_month=5)
    return [write_daily_log(orders, day, folder)
            for day in log_days(date(2024, 10, 7), date(2025, 3, 10), 14)]


def _fresh(tmp_path: Path, name: str) -> Path:
    from bookedbiz.db.migrate import init_database

    db = tmp_path / name
    init_database(db)
    return db


def _folder(tmp_path: Path, name: str, paths: list[Path]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for path in paths:
        shutil.copy(path, folder / path.name)
    return folder


def test_history_grows_with_changes_and_same_day_reimports_replace(database: str,
                                                                   logs) -> None:
    db = database
    import_workbook(db, logs[0])
    first = _intervals(db)
    assert first and all(row[-1] is None for row in first)
    import_workbook(db, logs[0], as_of=date(2024, 10, 8))  # unchanged next day: no new rows
    assert _intervals(db) == first
    import_workbook(db, logs[1], as_of=date(2024, 10, 9))  # changed, then back, the same day
    import_workbook(db, logs[0], as_of=date(2024, 10, 9))
    assert _intervals(db) == first
    import_workbook(db, logs[1], as_of=date(2024, 10, 9))
    changed = _intervals(db)
    assert any(row[-1] == "2024-10-09" for row in changed)
    assert len(changed) < 3 * len(first)


def test_backfill_then_live_equals_live_alone(tmp_path: Path, logs, runner: CliRunner) -> None:
    live = _fresh(tmp_path, "live.db")
    for path in logs:
        import_workbook(live, path)
    mixed = _fresh(tmp_path, "mixed.db")
    folder = _folder(tmp_path, "archive", logs[:6])
    result = runner.invoke(cli, ["history", "backfill", str(folder), "--db", str(mixed)])
    assert result.exit_code == 0, result.output
    assert "Backfilled 6 log(s)" in result.output
    conn = sqlite3.connect(mixed)
    assert conn.execute("SELECT COUNT(*) FROM spots").fetchone()[0] == 0  # history only
    conn.close()
    again = runner.invoke(cli, ["history", "backfill", str(folder), "--db", str(mixed)])
    assert again.exit_code == 0 and "6 already there" in again.output  # idempotent
    for path in logs[6:]:
        import_workbook(mixed, path)
    assert _intervals(mixed) == _intervals(live)


def test_backfill_into_a_second_station_leaves_the_first_alone(
        tmp_path: Path, logs, database: str, runner: CliRunner) -> None:
    for path in logs[:4]:
        import_workbook(database, path)
    main_before = rows(database, "SELECT COUNT(*), SUM(gross_micros) FROM booking_history")
    added = runner.invoke(cli, ["stations", "add", "KTWO", "--name", "K-Two", "--db", database])
    assert added.exit_code == 0, added.output
    folder = _folder(tmp_path, "archive", logs[:4])
    result = runner.invoke(cli, ["history", "backfill", str(folder), "--station", "KTWO",
                                 "--db", database])
    assert result.exit_code == 0, result.output
    assert "Backfilled 4 log(s)" in result.output
    by_station = dict(rows(database, "SELECT station_id, COUNT(*) FROM booking_history "
                                     "GROUP BY station_id"))
    assert by_station[1] == main_before[0][0] and by_station[2] > 0
    # the second station's history is the first's, interval for interval
    assert rows(database, "SELECT COUNT(*), SUM(gross_micros) FROM booking_history "
                          "WHERE station_id = 2") == main_before
    unknown = runner.invoke(cli, ["history", "backfill", str(folder), "--station", "NOPE",
                                  "--db", database])
    assert unknown.exit_code != 0 and "NOPE" in unknown.output


def test_backfill_before_the_recorded_history(tmp_path: Path, logs, database: str) -> None:
    from bookedbiz.ingest.backfill import backfill_folder, find_logs

    live = _fresh(tmp_path, "live.db")
    for path in logs:
        import_workbook(live, path)
    late = database
    for path in logs[5:]:
        import_workbook(late, path)
    outcome = backfill_folder(late, find_logs(_folder(tmp_path, "early", logs[:5])))
    assert outcome.recorded == 5 and not outcome.failed
    days = [date_in_file_name(p) for p in logs] + [date(2025, 6, 1)]
    assert _states(late, days) == _states(live, days)


def test_backfill_bad_input(tmp_path: Path, logs, runner: CliRunner) -> None:
    db = _fresh(tmp_path, "b.db")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no logs here")
    result = runner.invoke(cli, ["history", "backfill", str(empty), "--db", str(db)])
    assert result.exit_code != 0 and "holds no 'Commercial Log YYMMDD.xlsx' files" in \
        result.output
    folder = _folder(tmp_path, "some", logs[:4])
    (folder / "Commercial Log 241022.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    result = runner.invoke(cli, ["history", "backfill", str(folder), "--db", str(db)])
    assert result.exit_code == 1
    assert "Backfilled 4 log(s)" in result.output and "Commercial Log 241022.xlsx" in \
        result.output
    reference = _fresh(tmp_path, "ref.db")
    for path in logs[:4]:
        import_workbook(reference, path)
    assert _intervals(db) == _intervals(reference)  # consistent without the corrupt day
    before = _intervals(db), data_checksum(db)
    middle = _folder(tmp_path, "middle", [logs[2]])
    shutil.copy(logs[2], middle / "Commercial Log 241030.xlsx")  # between two recorded days
    (middle / logs[2].name).unlink()
    result = runner.invoke(cli, ["history", "backfill", str(middle), "--db", str(db)])
    assert result.exit_code != 0 and "falls inside the recorded booking history" in \
        result.output
    assert (_intervals(db), data_checksum(db)) == before


def test_backfill_reads_the_monthly_archives(tmp_path: Path, logs, database: str) -> None:
    import zipfile

    from bookedbiz.ingest.backfill import backfill_folder, find_logs

    folder = _folder(tmp_path, "daily", logs[3:4])
    (folder / "archive").mkdir()
    with zipfile.ZipFile(folder / "archive" / "Commercial Logs 2024-10.zip", "w") as archive:
        for path in logs[:3]:
            archive.write(path, path.name)
    (folder / "archive" / "Commercial Logs 2024-09.zip").write_bytes(b"not a zip")
    db = database
    outcome = backfill_folder(db, find_logs(folder))
    assert outcome.recorded == 4
    assert [name for name, _ in outcome.failed] == ["Commercial Logs 2024-09.zip"]
    reference = _fresh(tmp_path, "zref.db")
    for path in logs[:4]:
        import_workbook(reference, path)
    assert _intervals(db) == _intervals(reference)


def test_month_close_and_reopen_record_history(tmp_path: Path, logs, runner: CliRunner) -> None:
    db = _fresh(tmp_path, "c.db")
    import_workbook(db, logs[0])
    before = _intervals(db)
    conn = sqlite3.connect(db)
    month = conn.execute("SELECT MIN(broadcast_month) FROM booking_history").fetchone()[0]
    conn.execute("DELETE FROM booking_history WHERE broadcast_month = ?", (month,))
    conn.commit()
    conn.close()
    result = runner.invoke(cli, ["months", "close", month, "--by", "Fin", "--db", str(db)])
    assert result.exit_code == 0, result.output
    after = _intervals(db)  # the close brought the month's history back to its spots
    assert {r[:11] for r in after} == {r[:11] for r in before}
    result = runner.invoke(cli, ["months", "reopen", month, "--by", "Fin", "--reason", "late",
                                 "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert _intervals(db) == after  # nothing changed: nothing recorded


def test_a_merge_that_doubles_a_key_is_healed_by_the_next_import(tmp_path: Path, logs) -> None:
    """Re-pointing a merged customer's history can leave two current rows with one key; the
    next import of that month closes both and records the month's true state."""
    from bookedbiz.history.queries import state_as_of
    from bookedbiz.history.recording import state_from_spots

    db = _fresh(tmp_path, "m.db")
    import_workbook(db, logs[0])
    conn = sqlite3.connect(db)
    month = conn.execute("SELECT MAX(broadcast_month) FROM booking_history").fetchone()[0]
    conn.execute(  # the merged-away customer's row, re-pointed onto an existing key
        f"INSERT INTO booking_history ({HISTORY_COLUMNS}) SELECT {HISTORY_COLUMNS} "
        "FROM booking_history WHERE broadcast_month = ? LIMIT 1", (month,))
    conn.commit()
    import_workbook(db, logs[1])
    day = date_in_file_name(logs[1])
    from bookedbiz.db.access import Database

    database = Database(db)
    with database.reading() as core:
        assert state_as_of(core, day, [month]) == state_from_spots(core, [month])
    database.dispose()
    doubled = conn.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM booking_history WHERE valid_to IS NULL AND "
        "broadcast_month = ? GROUP BY customer_id, agency_id, ae_id, market_code, revenue_type, "
        "language_group, contract HAVING COUNT(*) > 1)", (month,)).fetchone()[0]
    conn.close()
    assert doubled == 0


@pytest.mark.slow
def test_killed_imports_leave_the_history_whole(tmp_path: Path, logs) -> None:
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    db = _fresh(tmp_path, "k.db")
    for path in logs[:3]:
        import_workbook(db, path)
    old = _intervals(db)
    reference = _fresh(tmp_path, "k_ref.db")
    for path in logs[:4]:
        import_workbook(reference, path)
    new = _intervals(reference)
    assert old != new
    saved = tmp_path / "k_old.db"
    shutil.copy(db, saved)
    rng = random.Random(20261203)
    env = dict(os.environ, BOOKEDBIZ_BUSY_TIMEOUT_MS="2000")
    command = [sys.executable, "-m", "bookedbiz", "import", str(logs[3]), "--db", str(db)]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, env=env, check=True)  # how long a whole run is
    whole = time.perf_counter() - started
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(saved, db)
    seen = {"old": 0, "new": 0}
    for _run in range(14):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        time.sleep(whole * rng.uniform(0.3, 1.1))  # mostly while it works, sometimes after
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = _intervals(db)
        assert now in (old, new), "the history is mixed"
        seen["old" if now == old else "new"] += 1
        if now == new:  # start again from the old state
            for suffix in ("-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.copy(saved, db)
    assert seen["old"] >= 1, seen  # some kills landed mid-import


def test_revision_0008_adds_the_history_and_keeps_every_row(tmp_path: Path, workbooks) -> None:
    """A database with data at revision 0007 (no history, no as-of column) upgrades to the
    head: the history tables appear empty, the batches gain an empty ``as_of``, every other
    row is as before; running it again changes nothing; the next import records history."""
    from bookedbiz.db.migrate import current_version, head_version

    db = _fresh(tmp_path, "old.db")
    import_workbook(db, workbooks["daily"], as_of=date(2025, 11, 5))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DROP TABLE booking_history")
        conn.execute("DROP TABLE history_records")
        conn.execute("ALTER TABLE import_batches DROP COLUMN as_of")
        conn.execute("UPDATE alembic_version SET version_num = '0007'")
    conn.close()

    def state() -> tuple:
        conn = sqlite3.connect(db)
        try:
            return tuple(conn.execute(
                "SELECT (SELECT COUNT(*) || ':' || SUM(gross_rate_micros) FROM spots), "
                "(SELECT SUM(gross_micros) FROM spot_summary), (SELECT COUNT(*) FROM "
                "import_batches), (SELECT COUNT(*) FROM customers)").fetchone())
        finally:
            conn.close()

    before = state()
    alembic_upgrade(db)
    assert current_version(db) == head_version() and state() == before
    assert _intervals(db) == []
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT as_of FROM import_batches").fetchall() == [(None,)]
    conn.execute("UPDATE alembic_version SET version_num = '0007'")
    conn.commit()
    conn.close()
    alembic_upgrade(db)  # idempotent over existing tables and columns
    assert state() == before
    import_workbook(db, workbooks["daily"], as_of=date(2025, 11, 6))
    assert _intervals(db)
