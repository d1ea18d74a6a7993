"""Checks on an untrusted workbook before any parser opens it (SPEC §3 "Untrusted files").

A workbook is a zip of XML (or, for .xls, an OLE file) and its parsers trust what it says about
itself: a sheet that *claims* to reach XFD1048576 makes a reader pad or allocate 17 billion cells
and a 1 MB zip can unpack to gigabytes. So before parsing we look at the container only, cheaply:
the zip directory (member count, uncompressed sizes, compression ratio), each worksheet's declared
``<dimension>`` and, with a bounded streaming read of its XML (no XML parse), the cell and row
references it actually holds. The format comes from the bytes, never from the file name.

These checks run inside the parse child (:mod:`bookedbiz.ingest.child`), whose memory limit and
time budget catch whatever they miss.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bookedbiz.errors import WorkbookError
from bookedbiz.ingest.layout import WIDTH


@dataclass(frozen=True)
class GuardLimits:
    """What a commercial log (29 columns, up to a year of spots) can plausibly need."""

    max_file_bytes: int = 512 << 20
    max_members: int = 2_000
    # A 500,000-row recap is ~600 MB of sheet XML; a year of a busy station fits in 2 GB.
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 3 << 30
    # Loaded whole by every reader, so kept well below the sheets' limit.
    max_shared_strings_bytes: int = 256 << 20
    # Sheet XML compresses 5-30x; deflate bombs reach ~1000x. Small members are not judged.
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 << 20
    max_columns: int = 256  # "IV": far beyond the log's 29, the old Excel limit
    max_rows: int = 1_048_576
    # Cells = rows x width a streaming reader yields (rows pad to the widest column).
    max_cells: int = 64_000_000
    # Row numbers far below the rows the sheet really holds: padding work for nothing.
    max_sparse_rows: int = 100_000
    # Bytes of each worksheet's XML scanned for references: a bounded read (a hostile file's
    # far cells sit in its first kilobytes; the child re-checks every row it reads anyway).
    scan_bytes: int = 1 << 20


DEFAULT_LIMITS = GuardLimits()

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s[^>]*?ref\s*=\s*[\"']([^\"']*)[\"']")
_ROW_REF = re.compile(rb'row r="(\d+)"')
# Cell references with two or three column letters: a 29-column sheet has three per row (AA-AC).
_WIDE_REF = re.compile(rb"""r=["']([A-Z]{2,3})\d""")
_A1 = re.compile(r"^\$?([A-Za-z]{1,4})\$?(\d{1,9})$")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\s[^>]*?>")
_ATTR = re.compile(rb"""([\w:]+)\s*=\s*["']([^"']*)["']""")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*?>")
_SMALL_XML = 4 << 20


@dataclass(frozen=True)
class Inspection:
    """What the checks learnt: the real format (``xlsx``, ``xlsb``, ``ods`` or ``xls``)."""

    kind: str


def column_number(letters: str) -> int:
    """1-based column number of ``"A"`` … ``"XFD"``."""
    number = 0
    for char in letters.upper():
        number = number * 26 + (ord(char) - 64)
    return number


def _ref_extent(ref: str) -> tuple[int, int] | None:
    """(columns, rows) reached by a ``<dimension>`` reference such as ``A1:XFD1048576``."""
    columns = rows = 0
    for part in ref.split(":"):
        match = _A1.match(part.strip())
        if match is None:
            return None
        columns = max(columns, column_number(match.group(1)))
        rows = max(rows, int(match.group(2)))
    return columns, rows


def inspect_workbook(path: Path, limits: GuardLimits = DEFAULT_LIMITS) -> Inspection:
    """Refuse, with one sentence, a file no commercial log could be; else say what format it
    is. Reads the zip directory and a bounded stream of each worksheet, never a whole parse."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise WorkbookError(
            f"{path.name} is {size / (1 << 20):,.0f} MB; a commercial log is far smaller "
            f"(limit {limits.max_file_bytes >> 20} MB)."
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        return Inspection("xls")  # sized by the file limit; the child's limits do the rest
    if not head.startswith(_ZIP_MAGIC):
        raise WorkbookError(f"{path.name} is not an Excel .xlsx workbook.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = _check_directory(path, archive, limits)
            names = {info.filename for info in members}
            if "xl/workbook.xml" in names:
                _check_xlsx_sheets(path, archive, members, limits)
                return Inspection("xlsx")
            if "xl/workbook.bin" in names:
                _check_xlsb_sheets(path, archive, members, limits)
                return Inspection("xlsb")
            if "content.xml" in names:
                return Inspection("ods")
    except WorkbookError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
            ValueError) as exc:
        raise WorkbookError(
            f"{path.name} cannot be read as an Excel workbook (damaged zip: {exc})."
        ) from None
    raise WorkbookError(f"{path.name} cannot be read as an Excel workbook (a zip file with no "
                        "workbook inside).")


def _check_directory(path: Path, archive: zipfile.ZipFile,
                     limits: GuardLimits) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise WorkbookError(
            f"{path.name} holds {len(members):,} files inside; an Excel workbook has a few dozen, "
            "so it is refused as damaged or hostile."
        )
    total = 0
    for info in members:
        total += info.file_size
        limit = (limits.max_shared_strings_bytes if info.filename.endswith("sharedStrings.xml")
                 else limits.max_member_bytes)
        if info.file_size > limit:
            raise WorkbookError(
                f"{path.name} would unpack {info.filename} to {info.file_size / (1 << 20):,.0f} "
                f"MB (limit {limit >> 20} MB); it is refused as damaged or hostile."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise WorkbookError(
                f"{path.name} is a zip bomb: {info.filename} would unpack {ratio:,.0f} times "
                f"larger than it is stored (limit {limits.max_ratio:,.0f}x)."
            )
    if total > limits.max_total_bytes:
        raise WorkbookError(
            f"{path.name} would unpack to {total / (1 << 20):,.0f} MB "
            f"(limit {limits.max_total_bytes >> 20} MB); it is refused as damaged or hostile."
        )
    return members


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode().split(":")[-1] if k != b"r:id" else "r:id": v.decode("utf-8", "replace")
            for k, v in _ATTR.findall(tag)}


def _small(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > _SMALL_XML:
        return b""
    return archive.read(name)


def _sheet_names(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Worksheet member → sheet name, from workbook.xml and its relationships (regex only)."""
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    targets = {}
    for tag in _RELATIONSHIP.findall(_small(archive, "xl/_rels/workbook.xml.rels")):
        attrs = _attrs(tag)
        target = attrs.get("Target", "").lstrip("/")
        if target and not target.startswith("xl/"):
            target = "xl/" + target
        targets[attrs.get("Id")] = target
    out = {}
    for tag in _SHEET.findall(_small(archive, "xl/workbook.xml")):
        attrs = _attrs(tag)
        member = targets.get(attrs.get("r:id") or attrs.get("id"))
        if member:
            out[member] = attrs.get("name", member)
    return out


def _worksheets(members: list[zipfile.ZipInfo], prefix: str, suffix: str) -> list[zipfile.ZipInfo]:
    return [m for m in members if m.filename.startswith(prefix) and m.filename.endswith(suffix)]


def _check_xlsx_sheets(path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
                       limits: GuardLimits) -> None:
    titles = _sheet_names(archive, {m.filename for m in members})
    for info in _worksheets(members, "xl/worksheets/", ".xml"):
        title = titles.get(info.filename, info.filename)
        _scan_sheet_xml(path, title, archive, info, limits)


def _refuse_extent(path: Path, title: str, columns: int, rows: int, what: str,
                   limits: GuardLimits) -> None:
    if columns > limits.max_columns:
        raise WorkbookError(
            f"Sheet '{title}' of {path.name} {what} {columns:,} columns; a commercial log has "
            f"{WIDTH}, so it is refused as damaged or hostile (limit {limits.max_columns})."
        )
    if rows > limits.max_rows:
        raise WorkbookError(
            f"Sheet '{title}' of {path.name} {what} {rows:,} rows, more than Excel allows; it "
            "is refused as damaged or hostile."
        )
    if rows * max(columns, WIDTH) > limits.max_cells:
        raise WorkbookError(
            f"Sheet '{title}' of {path.name} {what} {rows:,} rows x {columns:,} columns, far "
            "more cells than a commercial log; it is refused as damaged or hostile."
        )


def _scan_sheet_xml(path: Path, title: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                    limits: GuardLimits) -> None:
    """The declared dimension, then row and cell references in a bounded streaming read."""
    max_row = rows_seen = 0
    wide: set[bytes] = set()
    with archive.open(info) as stream:
        carry = b""
        read = 0
        while read < limits.scan_bytes:
            block = stream.read(1 << 20)
            if not block:
                break
            if read == 0:
                match = _DIMENSION.search(block, 0, 65536)
                extent = _ref_extent(match.group(1).decode("ascii", "replace")) if match else None
                if extent is not None:
                    _refuse_extent(path, title, *extent, "claims", limits)
            read += len(block)
            text = carry + block
            row_refs = _ROW_REF.findall(text)
            if row_refs:
                rows_seen += len(row_refs)
                max_row = max(max_row, *map(int, row_refs))
            wide.update(_WIDE_REF.findall(text))
            carry = text[-48:]  # a reference cut by the block boundary is seen whole next time
    columns = max((column_number(c.decode()) for c in wide), default=0)
    _refuse_extent(path, title, columns, max_row, "has cells out to", limits)
    if max_row > limits.max_sparse_rows and max_row > 4 * rows_seen:
        raise WorkbookError(
            f"Sheet '{title}' of {path.name} numbers its rows up to {max_row:,} but holds only "
            f"{rows_seen:,}; it is refused as damaged or hostile (delete the stray cells far "
            "below the data and save it again)."
        )


def _xlsb_records(data: bytes):
    """(type, payload) of the BIFF12 records at the start of an .xlsb sheet part."""
    pos = 0
    while pos < len(data):
        kind = data[pos]
        pos += 1
        if kind & 0x80:
            kind = (kind & 0x7F) | (data[pos] << 7)
            pos += 1
        size = shift = 0
        for _ in range(4):
            if pos >= len(data):
                return
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        yield kind, data[pos:pos + size]
        pos += size


_BRT_WS_DIM = 0x94


def _check_xlsb_sheets(path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
                       limits: GuardLimits) -> None:
    """.xlsb has no streaming reader, so its declared dimension (BrtWsDim) is what the loading
    reader will allocate: check it before the child loads the sheet."""
    for info in _worksheets(members, "xl/worksheets/", ".bin"):
        with archive.open(info) as stream:
            head = stream.read(4096)
        for kind, payload in _xlsb_records(head):
            if kind == _BRT_WS_DIM and len(payload) >= 16:
                first_row, last_row, first_col, last_col = struct.unpack("<4I", payload[:16])
                _refuse_extent(path, info.filename, last_col + 1, last_row + 1, "claims",
                               limits)
                break
