"""The demo builder: closed history from recaps plus open months from a daily log."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.synth.demo import DEMO_CLOSER, build_demo_database


def test_demo_database_has_closed_history_and_open_months(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    today = date(2026, 11, 23)
    counts = build_demo_database(db, years=1, rows_per_month=150, today=today)
    assert counts["recap_rows"] > 0 and counts["daily_rows"] > 0
    conn = sqlite3.connect(db)
    closed = [m for (m,) in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE closed_by = ? ORDER BY 1",
        (DEMO_CLOSER,))]
    current = bc.broadcast_month_of(today)
    assert closed[0] == bc.shift_month(current, -12)
    assert closed[-1] == bc.shift_month(current, -2)
    months = {m for (m,) in conn.execute("SELECT DISTINCT broadcast_month FROM spots")}
    assert {bc.shift_month(current, -1), current, bc.shift_month(current, 3)} <= months
    assert not list(tmp_path.glob("bookedbiz-demo-*"))  # generated workbooks are cleaned up
