"""Building the demo database the way a station builds its own: daily logs imported in date order
through the real importer (so the booking history and pacing are real), months closed by Finance
with recap imports, and the oldest years loaded from recaps.

Replaying every day would take minutes; the history is kept as validity intervals, so weekly logs
(on today's weekday, so last year's same-time dates are replayed too) followed by daily logs for
the last weeks give the same pacing answers at those dates. Logs are fed straight to the
importer as workbook-like objects: writing and re-reading xlsx files would only measure XlsxWriter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from bookedbiz.db.migrate import init_database
from bookedbiz.history.as_of import station_today
from bookedbiz.ingest.reader import Workbook
from bookedbiz.ingest.service import import_opened
from bookedbiz.synth.bookings import BookingModel
from bookedbiz.synth.demo_setup import seed_plans
from bookedbiz.synth.logs import log_workbook, recap_workbook
from bookedbiz.synth.plan import HISTORY_YEARS, demo_plan

DEMO_CLOSER = "Finance"


def build_demo_database(
    db_path: Path,
    years: int = 3,
    seed: int = 7,
    rows_per_month: int = 1500,
    today: date | None = None,
    echo: Callable[[str], None] = lambda _msg: None,
    history_years: int = HISTORY_YEARS,
    plans: bool = True,
) -> dict[str, int]:
    """Create ``db_path``: ``years`` of closed months, two-plus years of them (and the open
    months) built by replaying daily logs with their as-of dates. Returns row and import
    counts."""
    today = today or station_today()
    plan = demo_plan(today, years, history_years)
    echo(f"Simulating {plan.first_month} … {plan.last_month} (seed {seed}, "
         f"~{rows_per_month:,} spots a month)")
    model = BookingModel(seed, plan.first_month, plan.last_month, rows_per_month,
                         story_from=plan.story_from)
    init_database(db_path)
    counts = {"recap_rows": 0, "daily_rows": 0, "recap_imports": 0, "daily_imports": 0}
    logs = sum(1 for _d, kind, _m in plan.steps if kind == "log")
    done = 0
    for as_of, kind, months in plan.steps:
        if kind == "close":
            result = _import(db_path, recap_workbook(model, months), as_of, DEMO_CLOSER)
            counts["recap_rows"] += result.rows_inserted
            counts["recap_imports"] += 1
            continue
        result = _import(db_path, log_workbook(model, as_of), as_of, None)
        counts["daily_rows"] = result.rows_inserted
        counts["daily_imports"] += 1
        done += 1
        if done % 20 == 0 or done == logs:
            echo(f"  replayed {done}/{logs} daily logs (as of {as_of.isoformat()})")
    if plans:
        counts.update(seed_plans(db_path, model, today))
        echo(f"Set {counts['budgets']} budgets and {counts['forecasts']} forecasts.")
    return counts


def _import(db_path: Path, workbook: Workbook, as_of: date, closed_by: str | None):  # noqa: ANN202
    return import_opened(
        db_path, workbook, mode="historical" if closed_by else "weekly", closed_by=closed_by,
        strict=False, dry_run=False, include_previous_month=False, auto_setup=True,
        as_of=as_of, progress=None, started_by=None,
    )
