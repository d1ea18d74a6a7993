"""Daily logs and recaps from a booking model: rows for any as-of date, as an importable
workbook-like object (no file) or as a real ``Commercial Log YYMMDD.xlsx``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.ingest.reader import SheetRows, Workbook
from bookedbiz.synth.bookings import SHEETS, BookingModel, Spot
from bookedbiz.synth.writer import write_sheets

FUTURE_MONTHS = 12


def log_name(as_of: date) -> str:
    return f"Commercial Log {as_of:%y%m%d}.xlsx"


def log_months(model: BookingModel, as_of: date) -> list[str]:
    """The broadcast months a log of ``as_of`` holds: the current one and up to 12 ahead, plus
    the one just ended while its calendar month lasts (the traffic system still lists it)."""
    current = bc.broadcast_month_of(as_of)
    months = [bc.shift_month(current, i) for i in range(FUTURE_MONTHS + 1)]
    previous = bc.shift_month(current, -1)
    if bc.calendar_month_of(as_of) == previous:
        months.insert(0, previous)
    return [m for m in months if model.first_month <= m <= model.last_month]


def log_spots(model: BookingModel, as_of: date) -> dict[str, list[Spot]]:
    """The spots on the books as of ``as_of``, by sheet."""
    sheets: dict[str, list[Spot]] = {name: [] for name in SHEETS}
    for month in log_months(model, as_of):
        for spot in model.by_month.get(month, ()):
            if spot.on_books(as_of):
                sheets[spot.sheet].append(spot)
    return sheets


def log_rows(model: BookingModel, as_of: date) -> Iterator[tuple[str, list[list[object]]]]:
    """(sheet name, rows) of the daily log of ``as_of``; the main sheet ends with a totals row
    as traffic exports do."""
    for name, spots in log_spots(model, as_of).items():
        rows = [spot.cells for spot in spots]
        if name == SHEETS[0] and rows:
            totals: list[object] = [""] * 29
            totals[14] = "Total"
            totals[15] = round(sum(c[15] for c in rows if isinstance(c[15], float)), 2)
            rows.append(totals)
        yield name, rows


def recap_rows(model: BookingModel, months: list[str]) -> list[list[object]]:
    """Rows of a Cash Revenue Recap for ``months``: every spot that stayed on the books."""
    return [spot.cells for month in months for spot in model.by_month.get(month, ())
            if spot.removed is None]


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def log_workbook(model: BookingModel, as_of: date) -> Workbook:
    """The daily log of ``as_of`` shaped like an opened workbook (for ``import_opened``)."""
    sheets = [SheetRows(name, enumerate(rows, start=2)) for name, rows in log_rows(model, as_of)
              if rows]
    return Workbook(Path(log_name(as_of)), _digest("log", model.seed, as_of), sheets)


def recap_workbook(model: BookingModel, months: list[str]) -> Workbook:
    name = f"Cash Revenue Recap {months[0]}..{months[-1]}.xlsx"
    rows = recap_rows(model, months)
    return Workbook(Path(name), _digest("recap", model.seed, *months),
                    [SheetRows("Data", enumerate(rows, start=2))])


def write_daily_log(model: BookingModel, as_of: date, folder: Path) -> Path:
    """Write ``Commercial Log YYMMDD.xlsx`` for ``as_of`` into ``folder``; returns its path."""
    out = folder / log_name(as_of)
    write_sheets(((name, iter(rows)) for name, rows in log_rows(model, as_of) if rows), out)
    return out
