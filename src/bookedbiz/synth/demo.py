"""Building the demo database: closed history from annual recaps plus an open daily log,
imported through the same service as production data."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.migrate import init_database
from bookedbiz.ingest.service import import_workbook
from bookedbiz.synth.generator import LogSpec
from bookedbiz.synth.writer import write_log

DEMO_CLOSER = "Demo Finance"


def build_demo_database(
    db_path: Path,
    years: int = 3,
    seed: int = 7,
    rows_per_month: int = 5000,
    today: date | None = None,
    echo: Callable[[str], None] = lambda _msg: None,
) -> dict[str, int]:
    """Create ``db_path`` with ``years`` of closed months and the open months of a daily log."""
    today = today or date.today()
    current = bc.broadcast_month_of(today)
    first = bc.shift_month(current, -12 * years)
    last_closed = bc.shift_month(current, -2)
    init_database(db_path)
    work = Path(tempfile.mkdtemp(prefix="bookedbiz-demo-", dir=db_path.parent))
    counts = {"recap_rows": 0, "daily_rows": 0}
    try:
        month = first
        part = 0
        while month <= last_closed:
            span = min(12, _months_between(month, last_closed) + 1)
            recap = work / f"recap-{month}.xlsx"
            end = bc.shift_month(month, span - 1)
            echo(f"generating recap {bc.label(month)} … {bc.label(end)}")
            write_log(LogSpec(month, span, rows_per_month, seed + part, "recap"), recap)
            result = import_workbook(db_path, recap, mode="historical", closed_by=DEMO_CLOSER,
                                     today=today)
            counts["recap_rows"] += result.rows_inserted
            month = bc.shift_month(month, span)
            part += 1
        daily = work / "Commercial Log demo.xlsx"
        start = bc.shift_month(current, -1)
        echo(f"generating daily log {bc.label(start)} … {bc.label(bc.shift_month(start, 4))}")
        write_log(LogSpec(start, 5, max(rows_per_month // 2, 200), seed + 100, "daily"), daily)
        result = import_workbook(db_path, daily, mode="weekly", include_previous_month=True,
                                 auto_setup=True, today=today)
        counts["daily_rows"] = result.rows_inserted
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return counts


def _months_between(start: str, end: str) -> int:
    (y1, m1), (y2, m2) = bc.split_month(start), bc.split_month(end)
    return (y2 - y1) * 12 + (m2 - m1)
