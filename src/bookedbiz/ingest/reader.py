"""Opening a commercial-log workbook and streaming its spot rows, positionally.

Checks the file before anything touches the database: exists, is an xlsx (not a password-protected
or random file), opens, has a spot sheet with the 29 columns and at least one row.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine

from bookedbiz.errors import NotFoundError, WorkbookError
from bookedbiz.ingest.cells import is_blank, to_date
from bookedbiz.ingest.layout import HEADERS_2024, SINGLE_SHEET_FALLBACKS, SPOT_SHEETS, WIDTH

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


@dataclass
class SheetRows:
    """One sheet's rows: ``rows`` yields (excel_row_number, cells padded to 29)."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[object]]]
    height: int


@dataclass
class Workbook:
    path: Path
    sha256: str
    sheets: list[SheetRows] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(sheet.height for sheet in self.sheets)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise NotFoundError(f"The file {path} does not exist.")
    if path.is_dir():
        raise WorkbookError(f"{path} is a folder, not an Excel workbook.")
    with path.open("rb") as handle:
        head = handle.read(8)
        if head.startswith(_OLE_MAGIC):
            body = head + handle.read(4 << 20)
            if _ENCRYPTED_MARK in body:
                raise WorkbookError(
                    f"{path.name} is password-protected; save it without a password and retry."
                )
            return  # a legacy .xls: calamine reads those too
    if not head:
        raise WorkbookError(f"{path.name} is empty (0 bytes), not an Excel workbook.")
    if not head.startswith(_ZIP_MAGIC):
        raise WorkbookError(f"{path.name} is not an Excel .xlsx workbook.")


def _choose_sheets(book: python_calamine.CalamineWorkbook) -> list[str]:
    visible = [
        m.name for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")
    ] or list(book.sheet_names)
    by_lower = {name.strip().lower(): name for name in visible}
    chosen = [by_lower[s.lower()] for s in SPOT_SHEETS if s.lower() in by_lower]
    if chosen:
        return chosen
    for fallback in SINGLE_SHEET_FALLBACKS:
        if fallback.lower() in by_lower:
            return [by_lower[fallback.lower()]]
    return visible[:1]


def _is_date_cell(value: object) -> bool:
    if is_blank(value) or isinstance(value, bool):
        return False
    try:
        return to_date(value) is not None
    except ValueError:
        return False


_PREAMBLE_ROWS = 20
_HEADER_WORDS = {h.casefold() for h in HEADERS_2024} | {
    "gross", "net", "ae", "day", "show", "show name", "spots", "estimate", "priority",
    "agency", "affidavit", "notarize", "air date", "date", "sales person", "salesperson",
}


def _is_header(cells: list[object]) -> bool:
    """At least three cells read like the log's column titles."""
    words = (str(c).strip().casefold() for c in cells if isinstance(c, str))
    return sum(1 for w in words if w in _HEADER_WORDS) >= 3


def _sheet_rows(sheet: python_calamine.CalamineSheet) -> tuple[list[str], Iterator, int]:
    """Skip blank rows, a title block above the header, and the header itself.

    The header is the first row with many filled cells and no date where the air date goes;
    rows above it with only a few cells (a report title, an export note) are a preamble. The
    first row with a date in the air-date column starts the data, header or not."""
    start_row, start_col = sheet.start or (0, 0)
    pad = [""] * start_col
    iterator = iter(sheet.iter_rows())
    header: list[str] = []
    consumed = 0
    for cells in iterator:
        consumed += 1
        full = pad + list(cells) if pad else list(cells)
        filled = sum(1 for c in full if not is_blank(c))
        if filled == 0:
            continue
        number = start_row + consumed
        air = full[1] if len(full) > 1 else None
        if _is_date_cell(air) or consumed > _PREAMBLE_ROWS:
            rows = _chain_first(number, full, iterator, pad)
            return header, rows, max(sheet.height - consumed + 1, 0)
        if filled >= 8:
            if _is_header(full):
                header = [str(c).strip() for c in full]
                return header, _numbered(iterator, number + 1, pad), max(
                    sheet.height - consumed, 0)
            # a full row that is not a header is data (rejected with a reason, never dropped)
            return header, _chain_first(number, full, iterator, pad), max(
                sheet.height - consumed + 1, 0)
    return header, iter(()), 0


def _numbered(iterator: Iterator, first: int, pad: list[object]) -> Iterator:
    if not pad:
        return enumerate(iterator, first)
    return enumerate((pad + cells for cells in iterator), first)


def _chain_first(number: int, first: list[object], iterator: Iterator, pad: list[object]):
    return itertools.chain(((number, first),), _numbered(iterator, number + 1, pad))


def open_workbook(path: Path) -> Workbook:
    """Validate and open ``path``; raise WorkbookError with one sentence when it is unusable."""
    _check_file(path)
    try:
        if path.suffix.lower() in _KNOWN_SUFFIXES:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
        else:  # e.g. an upload saved under a temp name: detect the format from the bytes
            with path.open("rb") as handle:
                book = python_calamine.CalamineWorkbook.from_filelike(handle)
    except Exception as exc:  # calamine raises several error types for damaged files
        raise WorkbookError(
            f"{path.name} cannot be read as an Excel workbook (damaged or not .xlsx): {exc}"
        ) from None
    names = _choose_sheets(book)
    if not names:
        raise WorkbookError(f"{path.name} has no worksheets.")
    result = Workbook(path=path, sha256=file_sha256(path))
    widths = []
    for name in names:
        try:
            sheet = book.get_sheet_by_name(name)
        except Exception as exc:
            raise WorkbookError(f"Sheet '{name}' of {path.name} cannot be read: {exc}") from None
        width = (sheet.start[1] if sheet.start else 0) + sheet.width
        widths.append((name, width))
        if sheet.height == 0:
            continue
        header, rows, height = _sheet_rows(sheet)
        result.sheets.append(SheetRows(name, header, rows, height))
    if not result.sheets:
        raise WorkbookError(f"{path.name} is empty: sheet '{names[0]}' has no rows.")
    narrow = [(n, w) for n, w in widths if w < WIDTH and any(s.name == n for s in result.sheets)]
    if narrow:
        name, width = narrow[0]
        raise WorkbookError(
            f"Sheet '{name}' of {path.name} has {width} columns; a commercial log has {WIDTH} "
            "(Bill Code … Market). Is this the right file?"
        )
    return result
