"""Large databases for benchmarks: generated rows fed straight into the import service.

Writing a million-row workbook only to read it back measures XlsxWriter, not BookedBiz; this
feeds the generator's cells (the same Python types calamine yields) through the same
normalize → resolve → insert path, one year per historical import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.migrate import init_database
from bookedbiz.ingest.reader import SheetRows, Workbook
from bookedbiz.ingest.service import import_opened
from bookedbiz.synth.generator import LogSpec, generate_sheets


def spec_workbook(spec: LogSpec) -> Workbook:
    sheets = [
        SheetRows(name, enumerate(rows, start=2)) for name, rows in generate_sheets(spec)
    ]
    return Workbook(Path(f"synthetic-{spec.start}-{spec.kind}.xlsx"), "0" * 64, sheets)


def build_large_database(db_path: Path, years: int, rows_per_month: int, seed: int = 11,
                         end_month: str = "2026-09",
                         echo: Callable[[str], None] = lambda _m: None) -> int:
    """Closed history of ``years`` years ending at ``end_month``; returns spots inserted."""
    init_database(db_path)
    start = bc.shift_month(end_month, -12 * years + 1)
    total = 0
    for year in range(years):
        spec = LogSpec(bc.shift_month(start, 12 * year), 12, rows_per_month, seed + year, "recap")
        result = import_opened(
            db_path, spec_workbook(spec), mode="historical", closed_by="bench", strict=False,
            dry_run=False, include_previous_month=False, auto_setup=True,
            today=date(2026, 11, 1), progress=None, started_by=None,
        )
        total += result.rows_inserted
        echo(f"year {year + 1}/{years}: {result.rows_inserted:,} spots in {result.seconds:.1f} s")
    return total
