"""The streaming reader and the loading reader see the same rows, and imports agree to the
last cell whichever one is used."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from tests.core.handmade import spot_row, write_workbook

from bookedbiz.ingest import reader, sources
from bookedbiz.ingest.layout import HEADERS_2024
from bookedbiz.ingest.reader import open_workbook
from bookedbiz.ingest.service import import_workbook


def _trimmed(rows) -> list[list[object]]:
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] in ("", None):
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def _gap_workbook(path: Path) -> Path:
    """Blank rows above a title, a blank column, a header, data and a gap row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Commercials"
    sheet["C3"] = "Commercial Log"
    sheet.append([])
    sheet.append(list(HEADERS_2024))
    sheet.append(spot_row())
    sheet.append([])
    sheet.append(spot_row(bill_code=None))
    book.save(path)
    return path


@pytest.fixture()
def all_books(workbooks, tmp_path: Path) -> list[Path]:
    quirks = write_workbook(tmp_path / "q.xlsx", {
        "Commercials": [spot_row(), spot_row(gross_rate="$1,234.00"), [None] * 29],
        "Pending": [spot_row(market="NEW")],
    })
    return [*workbooks.values(), quirks, _gap_workbook(tmp_path / "gap.xlsx")]


def test_both_readers_yield_the_same_cells(all_books: list[Path]) -> None:
    assert sources.python_calamine_plus is not None
    for path in all_books:
        loaded, streamed = sources.LoadedSource(path), sources.StreamingSource(path)
        names = [m.name for m in loaded.metadata]
        assert names == [m.name for m in streamed.metadata]
        for name in names:
            assert _trimmed(streamed.rows(name)) == _trimmed(loaded.rows(name)), (path, name)


def test_row_numbers_count_from_the_top_of_the_sheet(tmp_path: Path, db_path: Path) -> None:
    """Blank rows inside the data never leave the parse child, but every row keeps its number."""
    path = _gap_workbook(tmp_path / "gap.xlsx")
    with open_workbook(path) as book:
        rows = list(book.sheets[0].rows)
    assert [number for number, _ in rows] == [6, 8]
    result = import_workbook(db_path, path, mode="historical", closed_by="x",
                             today=date(2025, 5, 1))
    assert [(r.row_number, r.reason) for r in result.rejects] == [(8, "missing bill code")]


def _spots(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM spots ORDER BY spot_id").fetchall()
    finally:
        conn.close()


def test_imports_agree_whichever_reader(workbooks, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bookedbiz.db.migrate import init_database

    results = []
    for streaming in (True, False):
        if not streaming:  # the loading reader, for the comparison only (forked children see it)
            monkeypatch.setattr(reader, "open_source",
                                lambda path, kind: sources.LoadedSource(path, kind))
        db = tmp_path / f"{streaming}.db"
        init_database(db)
        import_workbook(db, workbooks["recap"], mode="historical", closed_by="x",
                        today=date(2025, 5, 1))
        results.append(_spots(db))
    assert results[0] == results[1] and len(results[0]) > 2000


def test_an_xlsx_under_another_name_is_still_streamed(tmp_path: Path, db_path: Path) -> None:
    """The format comes from the bytes: an .xlsx saved as upload.tmp or report.xls is streamed
    (never handed to the loading reader) and imports like the original."""
    path = write_workbook(tmp_path / "upload.tmp", {"Commercials": [spot_row()]})
    assert isinstance(sources.open_source(path, "xlsx"), sources.StreamingSource)
    renamed = path.rename(tmp_path / "report.xls")
    assert list(sources.open_source(renamed, "xlsx").rows("Commercials"))[1][0] == (
        "Acme Agency:Acme Foods")
    result = import_workbook(db_path, renamed, mode="historical", closed_by="x",
                             today=date(2025, 5, 1))
    assert result.rows_inserted == 1


def test_spreadsheet_application_cells(tmp_path: Path, db_path: Path) -> None:
    """Rich text, formulas without a cached value, booleans, 1904 dates, durations and error
    cells read the same with both readers, except that an error cell keeps its text
    (``#N/A``) when streamed, so a broken amount is rejected with a reason, not read as blank."""
    from datetime import datetime, time, timedelta

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = openpyxl.Workbook()
    book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    sheet.title = "Commercials"
    sheet.append(list(HEADERS_2024))
    row = spot_row(bill_code=CellRichText(["Acme ", TextBlock(InlineFont(b=True), "Foods")]),
                   time_in=time(7, 0), length=timedelta(seconds=30), media="=1+2",
                   comments="Ünïcödé 日本", air_date=datetime(2025, 3, 4, 0, 0))
    sheet.append(row)
    broken = spot_row(gross_rate="#N/A")
    sheet.append(broken)
    path = tmp_path / "app.xlsx"
    book.save(path)
    loaded = _trimmed(sources.LoadedSource(path).rows("Commercials"))
    streamed = _trimmed(sources.StreamingSource(path).rows("Commercials"))
    assert loaded[:2] == streamed[:2]
    assert streamed[2][15] == "#N/A" and loaded[2][15] == ""
    assert streamed[1][0] == "Acme Foods" and streamed[1][1] == date(2025, 3, 4)
    result = import_workbook(db_path, path, mode="historical", closed_by="x",
                             today=date(2025, 5, 1))
    assert result.rows_inserted == 1
    assert [(r.row_number, r.value, r.reason) for r in result.rejects] == [
        (3, "#N/A", "unparseable money")]
