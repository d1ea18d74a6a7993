"""Where a workbook's rows come from: a row-by-row stream when possible, else a loaded sheet.

Both give every row from spreadsheet row 1 and every cell from column A, so row numbers in
reject reports and the 29 positional columns mean the same whichever reader is used.

* ``python-calamine-plus`` streams .xlsx/.xlsm row by row from the zipped XML, so memory stays
  bounded by one row (a 500,000-row recap reads in ~14 MB instead of ~1.15 GB) and it is faster;
* ``python-calamine`` loads a whole sheet first; it reads every other format (.xls, .xlsb, .ods)
  and is the fallback whenever the stream cannot open a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import python_calamine

try:  # optional: the streaming reader
    import python_calamine_plus
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    python_calamine_plus = None

STREAMABLE = (".xlsx", ".xlsm")
KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


class LoadedSource:
    """python-calamine: each sheet is loaded once and kept for the whole import."""

    streaming = False

    def __init__(self, path: Path):
        if path.suffix.lower() in KNOWN_SUFFIXES:
            self.book = python_calamine.CalamineWorkbook.from_path(str(path))
        else:  # e.g. an upload saved under a temp name: the format comes from the bytes
            with path.open("rb") as handle:
                self.book = python_calamine.CalamineWorkbook.from_filelike(handle)
        self._sheets: dict[str, python_calamine.CalamineSheet] = {}

    @property
    def metadata(self) -> list:
        return list(self.book.sheets_metadata)

    def rows(self, name: str) -> Iterator[list[object]]:
        sheet = self._sheets.get(name)
        if sheet is None:
            sheet = self._sheets[name] = self.book.get_sheet_by_name(name)
        # iter_rows() starts at row 1 but at the first used column: put columns back.
        pad = [""] * ((sheet.start or (0, 0))[1])
        if not pad:
            return iter(sheet.iter_rows())
        return (pad + row for row in sheet.iter_rows())


class StreamingSource:
    """python-calamine-plus: one sheet streamed at a time, nothing materialised."""

    streaming = True

    def __init__(self, path: Path):
        self.book = python_calamine_plus.CalamineWorkbook.from_path(str(path))

    @property
    def metadata(self) -> list:
        return list(self.book.sheets_metadata)

    def rows(self, name: str) -> Iterator[list[object]]:
        return iter(self.book.stream_sheet_by_name(name))


def open_source(path: Path) -> LoadedSource | StreamingSource:
    """The streaming reader for .xlsx/.xlsm when it is installed and opens the file; else the
    loading reader (whose exceptions the caller turns into a clear sentence)."""
    if python_calamine_plus is not None and path.suffix.lower() in STREAMABLE:
        try:
            return StreamingSource(path)
        except Exception:  # noqa: BLE001 - fall back to the reference reader
            pass
    return LoadedSource(path)
