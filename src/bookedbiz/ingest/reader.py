"""Opening a commercial-log workbook and streaming its spot rows, positionally.

Checks the file before anything touches the database: exists, is an xlsx (not a password-protected
or random file), opens, has a spot sheet with the 29 columns and at least one row.

The file is untrusted: :func:`open_workbook` (the parent) only looks at its first bytes, then a
child process (:mod:`bookedbiz.ingest.child`) checks it (:mod:`bookedbiz.ingest.guard`) and runs
:func:`parse_sheets` under a memory limit and a time budget, sending the rows back.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bookedbiz.errors import NotFoundError, WorkbookError
from bookedbiz.ingest.cells import is_blank, to_date
from bookedbiz.ingest.child import ChildParse, ParseLimits
from bookedbiz.ingest.layout import HEADERS_2024, SINGLE_SHEET_FALLBACKS, SPOT_SHEETS, WIDTH
from bookedbiz.ingest.sources import open_source

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


@dataclass
class SheetRows:
    """One sheet's data rows: ``rows`` yields (spreadsheet row number, cells from column A)."""

    name: str
    rows: Iterable[tuple[int, list[object]]]


@dataclass
class Workbook:
    path: Path
    sha256: str
    sheets: list[SheetRows] = field(default_factory=list)
    parse: ChildParse | None = None  # the child reading the file, if any

    def close(self) -> None:
        """Stop and reap the parse child (a no-op once every row was read)."""
        if self.parse is not None:
            self.parse.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def _choose_sheets(metadata: list) -> list[str]:
    visible = [m.name for m in metadata if str(m.typ).endswith("WorkSheet")] or [
        m.name for m in metadata]
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


def is_header_row(cells: list[object]) -> bool:
    """At least three cells read like the log's column titles."""
    words = (str(c).strip().casefold() for c in cells if isinstance(c, str))
    return sum(1 for w in words if w in _HEADER_WORDS) >= 3


class _SpotRows:
    """(spreadsheet row number, cells) of one sheet's data rows, read lazily.

    Blank rows, a title block above the header (rows with a few cells and no date where the
    air date goes) and the header itself are skipped. A full row that is not a header is data
    (rejected with a reason if it is bad, never dropped); so is the first row with a date in the
    air-date column. After that, rows come straight from the reader (no Python layer per row).
    """

    def __init__(self, source, name: str):
        self.source, self.name = source, name

    def __iter__(self) -> Iterator[tuple[int, list[object]]]:
        rows = enumerate(self.source.rows(self.name), start=1)
        for number, cells in rows:
            filled = sum(1 for c in cells if not is_blank(c))
            if filled == 0:
                continue
            air = cells[1] if len(cells) > 1 else None
            if _is_date_cell(air) or number > _PREAMBLE_ROWS or (
                    filled >= 8 and not is_header_row(cells)):
                return itertools.chain(((number, cells),), rows)
            if filled >= 8:  # the header
                return rows
        return iter(())


def _first_row_width(source, name: str) -> int | None:
    """Width of the sheet's first non-blank row (rows come padded to the sheet's width), or
    None for an empty sheet."""
    for cells in source.rows(name):
        if any(not is_blank(c) for c in cells):
            return len(cells)
    return None


def _probe(source) -> tuple[list[str], list[tuple[str, int | None]]]:
    names = _choose_sheets(source.metadata)
    return names, [(name, _first_row_width(source, name)) for name in names]


def parse_sheets(path: Path, kind: str) -> list[tuple[str, _SpotRows]]:
    """The spot sheets of a checked file and their data rows (run in the parse child).

    .xlsx/.xlsm are only ever streamed; the loading reader (which allocates a whole sheet, as
    large as the sheet claims to be) is used only for the formats nothing streams."""
    source = open_source(path, kind)
    names, widths = _probe(source)
    if not names:
        raise WorkbookError(f"{path.name} has no worksheets.")
    used = [(name, width) for name, width in widths if width is not None]
    if not used:
        raise WorkbookError(f"{path.name} is empty: sheet '{names[0]}' has no rows.")
    for name, width in used:
        if width < WIDTH:
            raise WorkbookError(
                f"Sheet '{name}' of {path.name} has {width} columns; a commercial log has "
                f"{WIDTH} (Bill Code … Market). Is this the right file?"
            )
    return [(name, _SpotRows(source, name)) for name, _width in used]


def open_workbook(path: Path, limits: ParseLimits | None = None) -> Workbook:
    """Validate and open ``path``; raise WorkbookError with one sentence when it is unusable.

    The rows are read lazily from the parse child: close the workbook (or read it to the end)."""
    path = Path(path)
    _check_file(path)
    parse = ChildParse(path, limits)
    try:
        result = Workbook(path=path, sha256=file_sha256(path), parse=parse)
    except BaseException:
        parse.close()
        raise
    for index, name in enumerate(parse.sheet_names):
        result.sheets.append(SheetRows(name, parse.rows(index)))
    return result
