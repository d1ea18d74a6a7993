"""Writing generated rows to a real .xlsx with Excel date, time and month cells (XlsxWriter)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import xlsxwriter

from bookedbiz.ingest.layout import HEADERS_2024
from bookedbiz.synth.generator import LogSpec, generate_sheets


def write_log(spec: LogSpec, out: Path) -> dict[str, int]:
    """Write the workbook for ``spec`` to ``out``; returns rows written per sheet."""
    return write_sheets(generate_sheets(spec), out)


def write_sheets(sheets: Iterable[tuple[str, Iterator[list[object]]]],
                 out: Path) -> dict[str, int]:
    """Write (sheet name, rows) to ``out`` under the 2024 headers; returns rows per sheet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    date_fmt = book.add_format({"num_format": "m/d/yyyy"})
    month_fmt = book.add_format({"num_format": "mmm-yy"})
    time_fmt = book.add_format({"num_format": "h:mm:ss"})
    money_fmt = book.add_format({"num_format": "#,##0.00"})
    counts: dict[str, int] = {}
    for sheet_name, rows in sheets:
        sheet = book.add_worksheet(sheet_name)
        sheet.write_row(0, 0, HEADERS_2024)
        number = 0
        for number, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, date) and not isinstance(value, datetime):
                    sheet.write_datetime(number, col, datetime(value.year, value.month,
                                                               value.day),
                                         month_fmt if col == 18 else date_fmt)
                elif isinstance(value, time | timedelta):
                    if isinstance(value, timedelta):
                        value = value.total_seconds() / 86400
                        sheet.write_number(number, col, value, time_fmt)
                    else:
                        sheet.write_datetime(number, col, value, time_fmt)
                elif isinstance(value, float):
                    sheet.write_number(number, col, value, money_fmt)
                elif isinstance(value, int):
                    sheet.write_number(number, col, value)
                else:
                    sheet.write_string(number, col, str(value))
        counts[sheet_name] = number
    book.close()
    tmp.replace(out)
    return counts
