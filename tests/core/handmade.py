"""Small hand-made workbooks written with openpyxl (a different writer from our generator)."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import openpyxl

from bookedbiz.ingest.layout import HEADERS_2024


def spot_row(**overrides: object) -> list[object]:
    """A valid 29-column row; override fields by name."""
    row: dict[str, object] = {
        "bill_code": "Acme Agency:Acme Foods", "air_date": date(2025, 3, 4),
        "end_date": date(2025, 3, 4), "day_of_week": "Tuesday", "time_in": time(6, 0),
        "time_out": time(23, 59), "length": time(0, 0, 30), "media": "Acme :30",
        "comments": "", "language_code": "M", "format": "News", "units": 1, "line_number": 1,
        "spot_type": "COM", "estimate": "E1", "gross_rate": 100.0, "make_good": "",
        "spot_value": 100.0, "broadcast_month": date(2025, 3, 1), "broker_fees": None,
        "priority": 0, "station_net": 85.0, "sales_person": "Charmaine Lane",
        "revenue_type": "Internal Ad Sales", "billing_type": "Broadcast",
        "agency_flag": "Agency", "affidavit_flag": "Y", "contract": "12345", "market": "SEA",
    }
    row.update(overrides)
    return list(row.values())


def write_workbook(path: Path, sheets: dict[str, list[list[object]]],
                   header: bool = True) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        if header:
            sheet.append(list(HEADERS_2024))
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if cell.column == 19 and isinstance(cell.value, date):
                    cell.number_format = "mmm-yy"
    book.save(path)
    return path
