"""Bad input: one clear sentence, a non-zero exit, and the data exactly as before."""

from __future__ import annotations

import os
import sqlite3
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from tests.core.conftest import data_checksum
from tests.core.handmade import spot_row, write_workbook

from bookedbiz.cli.main import cli
from bookedbiz.db import connection
from bookedbiz.ingest.service import import_workbook


def _run_import(runner: CliRunner, db: Path, *args: str):
    return runner.invoke(cli, ["import", *args, "--db", str(db), "--today", "2025-11-05"])


@pytest.fixture()
def loaded_db(db_path: Path, workbooks) -> Path:
    import_workbook(db_path, workbooks["daily"], today=date(2025, 11, 5))
    return db_path


def _make(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.xlsx"
    if kind == "text":
        path.write_text("Bill Code,Start Date\nAcme,2025-01-01\n")
    elif kind == "empty-file":
        path.write_bytes(b"")
    elif kind == "corrupt-zip":
        good = write_workbook(folder / "good.xlsx", {"Commercials": [spot_row()]})
        path.write_bytes(good.read_bytes()[:700])
    elif kind == "zip-not-xlsx":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not a workbook")
    elif kind == "password":
        # An encrypted OOXML file is an OLE2 container holding an 'EncryptedPackage' stream.
        header = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504
        path.write_bytes(header + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 1024)
    elif kind == "empty-workbook":
        book = openpyxl.Workbook()
        book.save(path)
    elif kind == "no-spot-sheet":
        book = openpyxl.Workbook()
        book.active.title = "Summary"
        book.active.append(["Customer", "Total", "Notes"])
        book.active.append(["Acme", 100, ""])
        book.save(path)
    elif kind == "too-few-columns":
        write_workbook(path, {"Commercials": [spot_row()[:12]]}, header=False)
    elif kind == "header-only":
        write_workbook(path, {"Commercials": []})
    elif kind == "all-rejected":
        write_workbook(path, {"Commercials": [spot_row(air_date=None), spot_row(bill_code=None),
                                              spot_row(gross_rate="n/a")]})
    return path


CASES = {
    "text": "not an Excel .xlsx workbook",
    "empty-file": "empty (0 bytes)",
    "corrupt-zip": "cannot be read as an Excel workbook",
    "zip-not-xlsx": "cannot be read as an Excel workbook",
    "password": "password-protected",
    "empty-workbook": "is empty",
    "no-spot-sheet": "has 3 columns; a commercial log has 29",
    "too-few-columns": "has 12 columns",
    "header-only": "header row but no spot rows",
    "all-rejected": "Every row of all-rejected.xlsx was rejected",
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_workbooks(kind: str, loaded_db: Path, tmp_path: Path, runner: CliRunner) -> None:
    path = _make(kind, tmp_path)
    before = data_checksum(loaded_db)
    result = _run_import(runner, loaded_db, str(path))
    assert result.exit_code != 0
    assert CASES[kind] in result.output, result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") <= 2  # one clear sentence
    assert data_checksum(loaded_db) == before


def test_missing_file_and_missing_database(loaded_db: Path, tmp_path: Path,
                                           runner: CliRunner) -> None:
    result = _run_import(runner, loaded_db, str(tmp_path / "nope.xlsx"))
    assert result.exit_code == 4 and "does not exist" in result.output
    missing_db = tmp_path / "typo.db"
    result = runner.invoke(cli, ["import", str(tmp_path / "x.xlsx"), "--db", str(missing_db)])
    assert result.exit_code == 4 and "bookedbiz init" in result.output
    assert not missing_db.exists()  # never a silent new empty database


def test_closed_month_file_fails(db_path: Path, workbooks, runner: CliRunner) -> None:
    import_workbook(db_path, workbooks["recap"], mode="historical", closed_by="Fin",
                    as_of=date(2025, 11, 5))  # the same day as _run_import's
    before = data_checksum(db_path)
    result = _run_import(runner, db_path, str(workbooks["recap"]))
    assert result.exit_code == 1 and "closed" in result.output
    assert data_checksum(db_path) == before


def test_abandoned_running_batch_is_marked_failed(loaded_db: Path, workbooks) -> None:
    conn = sqlite3.connect(loaded_db)
    conn.execute("INSERT INTO import_batches (mode, source_file, started_at, status, started_by) "
                 "VALUES ('weekly', 'x.xlsx', '2025-01-01T00:00:00Z', 'running', ?)",
                 (f"{os.uname().nodename}:999999",))
    conn.commit()
    import_workbook(loaded_db, workbooks["daily"], today=date(2025, 11, 5))
    status, error = conn.execute(
        "SELECT status, error FROM import_batches WHERE source_file = 'x.xlsx'").fetchone()
    assert status == "failed" and "interrupted" in error


def test_locked_database(loaded_db: Path, workbooks, runner: CliRunner,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKEDBIZ_BUSY_TIMEOUT_MS", "200")
    before = data_checksum(loaded_db)
    writer = sqlite3.connect(loaded_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        result = _run_import(runner, loaded_db, str(workbooks["daily_b"]))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 75
    assert "busy" in result.output
    assert data_checksum(loaded_db) == before


def test_disk_full(loaded_db: Path, workbooks, runner: CliRunner,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(loaded_db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = data_checksum(loaded_db)
    monkeypatch.setitem(connection.EXTRA_PRAGMAS, "max_page_count", pages + 8)
    result = _run_import(runner, loaded_db, str(workbooks["daily_b"]))
    monkeypatch.delitem(connection.EXTRA_PRAGMAS, "max_page_count")
    assert result.exit_code == 1
    assert "full" in result.output
    assert data_checksum(loaded_db) == before


def test_bad_arguments(loaded_db: Path, workbooks, runner: CliRunner) -> None:
    result = _run_import(runner, loaded_db, str(workbooks["daily"]), "--mode", "historical")
    assert result.exit_code == 2 and "--closed-by" in result.output
    result = runner.invoke(cli, ["months", "close", "Smarch-25", "--by", "x", "--db",
                                 str(loaded_db)])
    assert result.exit_code == 2 and "not a month" in result.output
    result = runner.invoke(cli, ["report", "revenue", "--by", "planet", "--db", str(loaded_db)])
    assert result.exit_code == 2
