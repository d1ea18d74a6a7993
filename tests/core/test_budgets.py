"""Budgets: both layouts from CSV and XLSX equal an independent reading of the file; bad files
are refused with every problem and its row, and the database stays exactly as it was."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner
from sqlalchemy import text
from tests.core import dbstate
from tests.core.conftest import alembic_upgrade, data_checksum

from bookedbiz.cli.main import cli
from bookedbiz.db.access import Database

AES = ("Mei-Lin Chen", "Diego Alvarez", "Charmaine Lane")
MONTHS = ("2026-01", "2026-02", "2026-03")
LABELS = {"2026-01": "Jan-26", "2026-02": "Feb-26", "2026-03": "Mar-26"}


@pytest.fixture()
def ae_db(database: str) -> str:
    """Three AEs and an alias, on a SQLite file and on a PostgreSQL database (a URL)."""
    db = Database(database)
    try:
        with db.writing() as conn:
            for name in AES:
                conn.execute(text("INSERT INTO aes (name, name_key, created_at) "
                                  "VALUES (:n, :k, 'now')"), {"n": name, "k": name.casefold()})
            conn.execute(text("INSERT INTO ae_aliases (alias_key, alias_text, ae_id, "
                              "created_by, created_at) SELECT 'charmaine lane - transfer', "
                              "'Charmaine Lane - TRANSFER', ae_id, 'test', 'now' FROM aes "
                              "WHERE name = 'Charmaine Lane'"))
    finally:
        db.dispose()
    return database


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def listed(db: Path | str, year: int = 2026) -> dict[tuple[str, str], Decimal]:
    result = run("budgets", "list", "--year", str(year), "--format", "json", "--db", str(db))
    assert result.exit_code == 0, result.output
    return {(r["ae"], r["month"]): Decimal(str(r["gross"])) for r in json.loads(result.output)}


# -- an independent reading of the files written below ----------------------------------------

CANONICAL = {"charmaine lane - transfer": "Charmaine Lane"}


def _amount(value: object) -> Decimal:
    if isinstance(value, int | float):
        return Decimal(repr(value))
    return Decimal(re.sub(r"[$,\s]", "", str(value)))


def _month(value: object) -> str:
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value)
    for key, label in LABELS.items():
        if text in (key, label):
            return key
    raise AssertionError(text)


def independent(rows: list[list[object]]) -> dict[tuple[str, str], Decimal]:
    header, *body = rows
    out = {}
    for row in body:
        ae = CANONICAL.get(str(row[0]).casefold(), str(row[0]))
        if header[1] == "Month":
            out[(ae, _month(row[1]))] = _amount(row[2]).quantize(Decimal("0.01"))
        else:
            for head, cell in zip(header[1:], row[1:], strict=True):
                if cell not in (None, ""):
                    out[(ae, _month(head))] = _amount(cell).quantize(Decimal("0.01"))
    return out


LONG = [["AE", "Month", "Gross"],
        ["Mei-Lin Chen", "2026-01", "$150,000.00"],
        ["Mei-Lin Chen", "Feb-26", 160000],
        ["Diego Alvarez", "2026-03", "98,765.43"],
        ["Charmaine Lane - TRANSFER", "Jan-26", 120000.5]]
WIDE = [["AE", "Jan-26", "2026-02", "Mar-26"],
        ["Mei-Lin Chen", "$150,000.00", 160000, ""],
        ["Diego Alvarez", 80000, "$81,000.25", "98,765.43"],
        ["Charmaine Lane - TRANSFER", 120000.5, "", 130000]]


def write(rows: list[list[object]], path: Path, *, dates: bool = False) -> Path:
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
        return path
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Budget")
    date_format = book.add_format({"num_format": "mmm-yy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if dates and r == 0 and c > 0:  # Excel turns typed 'Jan-26' into a date
                sheet.write_datetime(r, c, _as_date(str(value)), date_format)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif value != "":
                sheet.write_string(r, c, str(value))
    book.close()
    return path


def _as_date(text: str):  # noqa: ANN202
    from datetime import datetime

    month = _month(text)
    return datetime(int(month[:4]), int(month[5:]), 1)


@pytest.mark.parametrize("layout", ["long", "wide"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_budgets_equal_an_independent_reading(ae_db: str, tmp_path: Path, layout: str,
                                              suffix: str) -> None:
    rows = LONG if layout == "long" else WIDE
    path = write(rows, tmp_path / f"budget-{layout}{suffix}",
                 dates=(layout == "wide" and suffix == ".xlsx"))
    result = run("budgets", "import", str(path), "--by", "Pat Manager", "--db", str(ae_db))
    assert result.exit_code == 0, result.output
    expected = independent(rows)
    assert listed(ae_db) == expected
    assert len(expected) == (4 if layout == "long" else 7)


def test_every_change_is_kept_and_an_export_reads_back(ae_db: str, tmp_path: Path) -> None:
    first = write(LONG, tmp_path / "one.csv")
    assert run("budgets", "import", str(first), "--by", "Pat", "--db", str(ae_db)).exit_code == 0
    changed = [row[:] for row in LONG]
    changed[1][2] = "$155,000.00"
    second = write(changed, tmp_path / "two.csv")
    result = run("budgets", "import", str(second), "--by", "Lee", "--db", str(ae_db))
    assert "Changed 1 budgets (3 unchanged)" in result.output
    history = dbstate.rows(
        ae_db, "SELECT old_micros, new_micros, changed_by, source FROM budget_changes c JOIN "
        "aes a ON a.ae_id = c.ae_id WHERE a.name = 'Mei-Lin Chen' AND broadcast_month = "
        "'2026-01' ORDER BY change_id")
    assert history == [(None, 150_000_000_000, "Pat", "one.csv"),
                       (150_000_000_000, 155_000_000_000, "Lee", "two.csv")]
    exported = tmp_path / "export.csv"
    result = run("budgets", "export", "--year", "2026", "--format", "csv", "--output",
                 str(exported), "--db", str(ae_db))
    assert result.exit_code == 0
    before = listed(ae_db)
    result = run("budgets", "import", str(exported), "--by", "Pat", "--db", str(ae_db))
    assert "Changed 0 budgets" in result.output
    assert listed(ae_db) == before


BAD_FILES = {
    "missing column": ([["AE", "Month"], ["Mei-Lin Chen", "2026-01"]],
                       ["no Gross column"]),
    "no AE column": ([["Seller", "Jan-26"], ["Mei-Lin Chen", "1"]], ["no AE column"]),
    "bad month": ([["AE", "Month", "Gross"], ["Mei-Lin Chen", "Smarch-26", "1"],
                   ["Diego Alvarez", "2026-13", "1"]],
                  ["row 2: the month 'Smarch-26'", "row 3: the month '2026-13'"]),
    "bad header month": ([["AE", "Jan-26", "Someday"], ["Mei-Lin Chen", "1", "2"]],
                         ["column header 'Someday'"]),
    "negative and text": ([["AE", "Month", "Gross"], ["Mei-Lin Chen", "2026-01", "-5"],
                           ["Diego Alvarez", "2026-01", "lots"],
                           ["Charmaine Lane", "2026-01", "(1,000.00)"]],
                          ["row 2: the amount -5 is negative", "row 3: 'lots' is not an amount",
                           "row 4: the amount (1,000.00) is negative"]),
    "duplicate": ([["AE", "Month", "Gross"], ["Mei-Lin Chen", "2026-01", "1"],
                   ["mei-lin  chen", "Jan-26", "2"]], ["row 3: mei-lin chen × Jan-26 is already "
                                                       "on row 2"]),
    "duplicate through an alias": ([["AE", "Jan-26"], ["Charmaine Lane", "1"],
                                    ["Charmaine Lane - TRANSFER", "2"]],
                                   ["row 3: Charmaine Lane - TRANSFER is the same AE as "
                                    "Charmaine Lane on row 2"]),
    "unknown AE": ([["AE", "Month", "Gross"], ["Nobody Atall", "2026-01", "1"],
                    ["Mei-Lin Chen", "2026-01", "1"], ["Nobody Atall", "2026-02", "1"]],
                   ["row 2, 4: the AE 'Nobody Atall' is unknown"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_bad_budget_files_list_every_problem_and_store_nothing(
        ae_db: str, tmp_path: Path, case: str, suffix: str) -> None:
    good = write(LONG, tmp_path / "good.csv")
    assert run("budgets", "import", str(good), "--by", "Pat", "--db", str(ae_db)).exit_code == 0
    before = data_checksum(ae_db), _plan_tables(ae_db)
    rows, problems = BAD_FILES[case]
    path = write(rows, tmp_path / f"bad{suffix}")
    result = CliRunner().invoke(cli, ["budgets", "import", str(path), "--by", "Pat", "--db",
                                      str(ae_db)])
    assert result.exit_code != 0
    assert "nothing was stored" in result.output
    for problem in problems:
        assert problem in result.output, result.output
    assert (data_checksum(ae_db), _plan_tables(ae_db)) == before


def _plan_tables(db: Path | str) -> list[tuple]:
    return [tuple(dbstate.rows(db, f"SELECT * FROM {t} ORDER BY 1, 2"))
            for t in ("budgets", "budget_changes", "aes")]


def test_unknown_aes_are_added_only_when_asked(ae_db: str, tmp_path: Path) -> None:
    path = write([["AE", "Month", "Gross"], ["New Person", "2026-02", "5000"]],
                 tmp_path / "new.csv")
    dry = run("budgets", "import", str(path), "--create-aes", "--dry-run", "--db", str(ae_db))
    assert "would add AE New Person" in dry.output and listed(ae_db) == {}
    result = run("budgets", "import", str(path), "--create-aes", "--by", "Pat", "--db",
                 str(ae_db))
    assert result.exit_code == 0, result.output
    assert listed(ae_db) == {("New Person", "2026-02"): Decimal("5000.00")}


def test_oversized_and_wrong_files_are_refused(ae_db: str, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["budgets", "import", str(fake), "--db", str(ae_db)])
    assert result.exit_code != 0 and "not an .xlsx workbook" in result.output
    big = tmp_path / "big.csv"
    big.write_text("AE,Month,Gross\n" + "Mei-Lin Chen,2026-01,1\n" * 6000)
    result = CliRunner().invoke(cli, ["budgets", "import", str(big), "--db", str(ae_db)])
    assert result.exit_code != 0 and "the limit is 5,000" in result.output


def test_revision_0009_adds_the_plan_tables_and_changes_no_data(tmp_path: Path,
                                                                workbooks) -> None:  # noqa: ANN001
    """A database with data at revision 0008 (no plan tables) upgrades to the head: the four
    tables appear, empty, and every data table is exactly as before; running it again is a
    no-op (revision 0001 may already have created them)."""
    from bookedbiz.db.migrate import current_version, head_version, init_database
    from bookedbiz.ingest.service import import_workbook

    db = tmp_path / "old.db"
    init_database(db)
    import_workbook(db, workbooks["daily"], auto_setup=True)
    conn = sqlite3.connect(db)
    with conn:
        for table in ("forecast_changes", "forecasts", "budget_changes", "budgets"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE alembic_version SET version_num = '0008'")
    conn.close()
    before = data_checksum(db)

    alembic_upgrade(db)
    assert current_version(db) == head_version()
    assert data_checksum(db) == before
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"budgets", "budget_changes", "forecasts", "forecast_changes"} <= tables
    conn.execute("UPDATE alembic_version SET version_num = '0008'")
    conn.commit()
    conn.close()
    alembic_upgrade(db)  # idempotent over existing tables
    assert data_checksum(db) == before
