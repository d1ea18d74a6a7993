"""The demo builder: two-plus years of daily logs replayed with their as-of dates, months closed
by Finance, the oldest history from recaps, and the open months of the latest log."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from bookedbiz import broadcast_calendar as bc
from bookedbiz.synth.demo import DEMO_CLOSER, build_demo_database
from bookedbiz.synth.plan import demo_plan

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    counts = build_demo_database(db, years=3, rows_per_month=60, today=TODAY)
    assert counts["recap_rows"] > 0 and counts["daily_rows"] > 0
    return db


def test_the_plan_replays_weekly_then_daily_and_closes_months_in_order() -> None:
    plan = demo_plan(TODAY, years=3)
    logs = [d for d, kind, _m in plan.steps if kind == "log"]
    assert logs == sorted(logs) and logs[-1] == TODAY
    assert TODAY - logs[0] > timedelta(days=730)
    gaps = {(b - a).days for a, b in zip(logs, logs[1:], strict=False)}
    assert gaps == {1, 7}
    assert all(d.weekday() == TODAY.weekday() for d in logs if TODAY - d > timedelta(days=21))
    closed = [m for _d, kind, months in plan.steps if kind == "close" for m in months]
    assert closed == sorted(closed) and len(closed) == len(set(closed))
    assert closed[0] == bc.shift_month(bc.broadcast_month_of(TODAY), -36)


def test_demo_has_two_years_of_dated_imports_and_finance_closed_months(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    batches = conn.execute(
        "SELECT mode, as_of, status FROM import_batches ORDER BY batch_id").fetchall()
    assert {status for _m, _a, status in batches} == {"completed"}
    dates = [date.fromisoformat(a) for _m, a, _s in batches]
    assert dates == sorted(dates) and dates[-1] == TODAY
    weekly = [d for (m, _a, _s), d in zip(batches, dates, strict=True) if m == "weekly"]
    assert TODAY - weekly[0] >= timedelta(days=730) and len(weekly) > 100
    closed = [m for (m,) in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE closed_by = ? ORDER BY 1",
        (DEMO_CLOSER,))]
    current = bc.broadcast_month_of(TODAY)
    assert closed[0] == bc.shift_month(current, -36)
    assert closed[-1] == bc.shift_month(current, -2)  # older than the previous calendar month
    months = {m for (m,) in conn.execute("SELECT DISTINCT broadcast_month FROM spots")}
    assert {bc.shift_month(current, -1), current, bc.shift_month(current, 3)} <= months
    history = conn.execute("SELECT COUNT(*), MIN(valid_from) FROM booking_history").fetchone()
    assert history[0] > 0 and date.fromisoformat(history[1]) <= TODAY - timedelta(days=730)
    conn.close()


def test_demo_months_total_what_the_final_logs_say(demo_db: Path) -> None:
    """Closed months hold the recap (final) figures: no month is empty, trade excluded."""
    conn = sqlite3.connect(demo_db)
    per_month = dict(conn.execute(
        "SELECT broadcast_month, SUM(gross_rate_micros) FROM spots WHERE NOT is_trade "
        "GROUP BY 1"))
    conn.close()
    current = bc.broadcast_month_of(TODAY)
    for offset in range(-36, 1):
        assert per_month.get(bc.shift_month(current, offset), 0) > 0, offset
