"""Where a workbook's rows come from: a row-by-row stream for .xlsx, a loaded sheet otherwise.

Both give every row from spreadsheet row 1 and every cell from column A, so row numbers in
reject reports and the 29 positional columns mean the same whichever reader is used.

* ``python-calamine-plus`` streams .xlsx/.xlsm row by row from the zipped XML, so memory stays
  bounded by one row (a 500,000-row recap reads in ~14 MB instead of ~1.15 GB) and it is faster;
  an .xlsx is only ever streamed (the loading reader allocates as many cells as a sheet claims);
* ``python-calamine`` loads a whole sheet first; it reads the formats nothing streams (.xls,
  .xlsb, .ods), in the parse child, after the guard's checks.

The format is the one the guard found in the bytes, not the file name's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import python_calamine

from bookedbiz.errors import WorkbookError

try:  # optional: the streaming reader
    import python_calamine_plus
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    python_calamine_plus = None

STREAMABLE = (".xlsx", ".xlsm")
KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


class LoadedSource:
    """python-calamine: each sheet is loaded once and kept for the whole import."""

    streaming = False

    def __init__(self, path: Path, kind: str | None = None):
        if kind is None and path.suffix.lower() in KNOWN_SUFFIXES:
            self.book = python_calamine.CalamineWorkbook.from_path(str(path))
        else:  # the format comes from the bytes, whatever the name says
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
        if path.suffix.lower() in STREAMABLE:
            self.book = python_calamine_plus.CalamineWorkbook.from_path(str(path))
        else:  # e.g. an .xlsx uploaded as "report.xls": from_path would go by the name
            with path.open("rb") as handle:
                self.book = python_calamine_plus.CalamineWorkbook.from_filelike(handle)

    @property
    def metadata(self) -> list:
        return list(self.book.sheets_metadata)

    def rows(self, name: str) -> Iterator[list[object]]:
        return iter(self.book.stream_sheet_by_name(name))


def open_source(path: Path, kind: str = "xlsx") -> LoadedSource | StreamingSource:
    """The reader for a file the guard found to be ``kind`` (``xlsx``, ``xlsb``, ``ods``,
    ``xls``): the stream for xlsx, never the loading reader."""
    if kind == "xlsx":
        if python_calamine_plus is None:
            raise WorkbookError("The streaming .xlsx reader (python-calamine-plus) is not "
                                "installed; run scripts/setup.sh to repair the installation.")
        return StreamingSource(path)
    return LoadedSource(path, kind)
