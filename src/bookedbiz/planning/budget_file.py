"""Reading a manager's budget spreadsheet (CSV, XLSX or a block pasted from Excel).

Two layouts are accepted: *long* (columns AE, Month, Gross) and *wide* (an AE column and one
column per month). Every problem is collected with its row so the manager fixes the file once;
nothing is returned for storing unless the whole file is clean. XLSX files come from outside, so
they are checked (size, zip members, rows) before python-calamine reads them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.errors import BookedBizError
from bookedbiz.money import AmountError, parse_micros

MAX_FILE_BYTES = 5_000_000
MAX_UNZIPPED_BYTES = 50_000_000
MAX_ROWS = 5_000
MAX_COLUMNS = 60
MAX_PROBLEMS_SHOWN = 50

AE_HEADERS = {"ae", "account executive", "sales person", "salesperson", "sales_person", "name"}
MONTH_HEADERS = {"month", "broadcast month", "broadcast_month"}
AMOUNT_HEADERS = {"gross", "budget", "amount", "gross budget", "budget gross"}
IGNORED_HEADERS = {"", "total", "year", "annual", "full year", "fy"}


@dataclass(frozen=True)
class BudgetLine:
    """One AE × month amount read from the file; ``row`` is the 1-based sheet row."""

    row: int
    ae: str
    month: str
    micros: int


class BudgetFileError(BookedBizError):
    """The file cannot be loaded; ``problems`` lists every one with its row."""

    def __init__(self, source: str, problems: list[str]):
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"; and {more} more" if more > 0 else ""
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"The budget file {source} was not loaded ({len(problems)} {noun}; "
                         f"nothing was stored): {'; '.join(shown)}{tail}.")
        self.problems = problems


def _header(value: object) -> str:
    return " ".join(str(value if value is not None else "").split()).casefold()


def read_rows(path: Path) -> list[list[object]]:
    """The first sheet (XLSX) or the CSV file as rows of cells, after the size checks."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BookedBizError(f"The budget file {path.name} is {size:,} bytes; the limit is "
                             f"{MAX_FILE_BYTES:,}.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return text_rows(path.read_bytes().decode("utf-8-sig", errors="replace"))
    raise BookedBizError(f"The budget file {path.name} must be .csv or .xlsx.")


def _xlsx_rows(path: Path) -> list[list[object]]:
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise BookedBizError(f"The budget file {path.name} is not an .xlsx workbook.") from None
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BookedBizError(f"The budget file {path.name} unpacks to {unzipped:,} bytes; the "
                             f"limit is {MAX_UNZIPPED_BYTES:,}.")
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own types for broken files
        raise BookedBizError(f"The budget file {path.name} cannot be read ({exc}).") from None
    if sheet.height > MAX_ROWS + 1 or sheet.width > MAX_COLUMNS:
        raise BookedBizError(f"The budget file {path.name} has {sheet.height:,} rows and "
                             f"{sheet.width} columns; the limit is {MAX_ROWS:,} × {MAX_COLUMNS}.")
    return [list(row) for row in sheet.to_python(skip_empty_area=False)]


def text_rows(text: str) -> list[list[object]]:
    """CSV text, or a tab-separated block pasted from a spreadsheet."""
    lines = text.splitlines()
    if len(lines) > MAX_ROWS + 1:
        raise BookedBizError(f"The budget data has {len(lines):,} lines; the limit is "
                             f"{MAX_ROWS:,}.")
    first = next((line for line in lines if line.strip()), "")
    delimiter = "\t" if "\t" in first else ("," if "," in first or ";" not in first else ";")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if rows and max(len(r) for r in rows) > MAX_COLUMNS:
        raise BookedBizError(f"The budget data has more than {MAX_COLUMNS} columns.")
    return rows


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _amount(value: object, where: str, problems: list[str]) -> int | None:
    try:
        micros = parse_micros(value)
    except AmountError:
        problems.append(f"{where}: '{str(value)[:40]}' is not an amount")
        return None
    if micros is not None and micros < 0:
        problems.append(f"{where}: the amount {str(value)[:40]} is negative")
        return None
    return micros


def parse_budget_rows(rows: list[list[object]], source: str) -> list[BudgetLine]:
    """Budget lines from rows of cells (first non-blank row = headers), or BudgetFileError."""
    start = next((i for i, row in enumerate(rows) if any(not _blank(c) for c in row)), None)
    if start is None:
        raise BudgetFileError(source, ["the file is empty"])
    headers = [_header(c) for c in rows[start]]
    body = [(start + 2 + i, row) for i, row in enumerate(rows[start + 1:])
            if any(not _blank(c) for c in row)]
    ae_col = next((i for i, h in enumerate(headers) if h in AE_HEADERS), None)
    if ae_col is None:
        raise BudgetFileError(source, [f"row {start + 1}: no AE column (a column headed AE)"])
    month_col = next((i for i, h in enumerate(headers) if h in MONTH_HEADERS), None)
    problems: list[str] = []
    if month_col is not None:
        amount_col = next((i for i, h in enumerate(headers) if h in AMOUNT_HEADERS), None)
        if amount_col is None:
            raise BudgetFileError(source, [f"row {start + 1}: the long layout (AE, Month, "
                                           "Gross) has no Gross column"])
        lines = _long(body, ae_col, month_col, amount_col, problems)
    else:
        lines = _wide(rows[start], start + 1, body, ae_col, problems)
    _duplicates(lines, problems)
    if problems:
        raise BudgetFileError(source, problems)
    if not lines:
        raise BudgetFileError(source, ["the file has no budget amounts"])
    return lines


def _cell(row: list[object], index: int) -> object:
    return row[index] if index < len(row) else None


def _long(body: list[tuple[int, list[object]]], ae_col: int, month_col: int, amount_col: int,
          problems: list[str]) -> list[BudgetLine]:
    lines = []
    for number, row in body:
        ae = " ".join(str(_cell(row, ae_col) or "").split())
        raw_month = _cell(row, month_col)
        month = bc.parse_month(raw_month)
        if not ae:
            problems.append(f"row {number}: no AE")
        if month is None:
            problems.append(f"row {number}: the month '{str(raw_month or '')[:30]}' is not a "
                            "month such as 2026-01 or Jan-26")
        raw_amount = _cell(row, amount_col)
        if _blank(raw_amount):
            problems.append(f"row {number}: no Gross amount")
            continue
        micros = _amount(raw_amount, f"row {number}", problems)
        if ae and month is not None and micros is not None:
            lines.append(BudgetLine(number, ae, month, micros))
    return lines


def _wide(header_row: list[object], header_number: int, body: list[tuple[int, list[object]]],
          ae_col: int, problems: list[str]) -> list[BudgetLine]:
    months: dict[int, str] = {}
    for index, value in enumerate(header_row):
        if index == ae_col or _header(value) in IGNORED_HEADERS:
            continue
        month = bc.parse_month(value)
        if month is None:
            problems.append(f"row {header_number}: the column header '{str(value)[:30]}' is not "
                            "a month such as 2026-01 or Jan-26")
        elif month in months.values():
            problems.append(f"row {header_number}: the month {bc.label(month)} has two columns")
        else:
            months[index] = month
    if not months and not problems:
        problems.append(f"row {header_number}: no Month column and no month columns")
    lines = []
    for number, row in body:
        ae = " ".join(str(_cell(row, ae_col) or "").split())
        if not ae:
            problems.append(f"row {number}: no AE")
            continue
        for index, month in months.items():
            raw = _cell(row, index)
            if _blank(raw):
                continue
            micros = _amount(raw, f"row {number}, {bc.label(month)}", problems)
            if micros is not None:
                lines.append(BudgetLine(number, ae, month, micros))
    return lines


def _duplicates(lines: list[BudgetLine], problems: list[str]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (" ".join(line.ae.split()).casefold(), line.month)
        if key in seen:
            problems.append(f"row {line.row}: {line.ae} × {bc.label(line.month)} is already on "
                            f"row {seen[key]}")
        else:
            seen[key] = line.row
