"""Hostile workbooks for the untrusted-file tests (SPEC §3): tiny files that claim or unpack to
enormous sheets. Built from a real openpyxl workbook whose sheet XML is then rewritten."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from tests.core.handmade import spot_row, write_workbook

SHEET = "xl/worksheets/sheet1.xml"


def _rewrite(source: Path, out: Path, sheet_xml) -> Path:  # noqa: ANN001 - a callable
    """Copy ``source`` to ``out`` with the first sheet's XML replaced by ``sheet_xml(old)``
    (bytes, or an iterable of byte blocks streamed into the member)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != SHEET:
                dst.writestr(info.filename, data)
                continue
            new = sheet_xml(data)
            if isinstance(new, bytes):
                dst.writestr(info.filename, new)
            else:
                member_info = zipfile.ZipInfo(info.filename)
                member_info.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(member_info, "w", force_zip64=True) as member:
                    for block in new:
                        member.write(block)
    return out


def _base(folder: Path) -> Path:
    return write_workbook(folder / "base-hostile.xlsx", {"Commercials": [spot_row()]})


def sparse_dimension(out: Path) -> Path:
    """A ~1.5 KB log with one spot whose sheet claims ``A1:XFD1048576`` (17 billion cells)."""
    def claim(xml: bytes) -> bytes:
        new, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>',
                             xml)
        assert count == 1
        return new

    return _rewrite(_base(out.parent), out, claim)


def far_cell(out: Path) -> Path:
    """An honest dimension, but one cell at XFD1048576 (the last cell Excel has)."""
    far = (b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
           b"</sheetData>")
    return _rewrite(_base(out.parent), out, lambda xml: xml.replace(b"</sheetData>", far))


def hidden_far_cell(out: Path, column: str = "XFD", row: int = 1_048_576,
                    spots: int = 2500) -> Path:
    """A real-looking log whose far cell comes after ~2.5 MB of honest rows (copies of one
    spot row), beyond the guard's bounded read: the parse child must catch it as it reads."""
    def grow(xml: bytes) -> bytes:
        spot = re.search(rb'<row r="2".*?</row>', xml).group(0)
        copies = [re.sub(rb'r="([A-Z]*)2"', lambda m, n=n: b'r="%s%d"' % (m.group(1), n), spot)
                  for n in range(2, spots + 2)]
        far = (f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>x</t></is></c></row>'
               ).encode()
        head, tail = xml.split(spot)
        return head + b"".join(copies) + far + tail

    return _rewrite(_base(out.parent), out, grow)


def zip_bomb(out: Path, unpacked_mib: int = 1024) -> Path:
    """About 1 MB on disk, ``unpacked_mib`` of sheet XML (whitespace between the rows)."""
    def blocks(xml: bytes):  # noqa: ANN202
        head, tail = xml.split(b"<sheetData>", 1)
        yield head + b"<sheetData>"
        block = b" " * (1 << 20)
        for _ in range(unpacked_mib):
            yield block
        yield tail

    return _rewrite(_base(out.parent), out, blocks)
