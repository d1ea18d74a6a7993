"""As-of dates and the booking history: recorded by every import, as intervals, atomically."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.core.conftest import data_checksum

from bookedbiz.cli.main import cli
from bookedbiz.errors import BookedBizError
from bookedbiz.history.as_of import date_in_file_name, station_today
from bookedbiz.ingest.service import import_workbook


def _batches(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT status, as_of FROM import_batches ORDER BY batch_id").fetchall()
    finally:
        conn.close()


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


def test_older_import_refused_in_the_library_too(db_path: Path, workbooks) -> None:
    import_workbook(db_path, workbooks["daily"], as_of=date(2025, 11, 5))
    with pytest.raises(BookedBizError, match="older than the booking history"):
        import_workbook(db_path, workbooks["daily_b"], as_of=date(2025, 11, 4))
    import_workbook(db_path, workbooks["daily_b"], as_of=date(2025, 11, 5))  # same day: fine


def _history(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM booking_history ORDER BY history_id").fetchall()
    finally:
        conn.close()
