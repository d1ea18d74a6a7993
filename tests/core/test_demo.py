"""The demo builder: two-plus years of daily logs replayed with their as-of dates, months closed
by Finance, the oldest history from recaps, and the open months of the latest log."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from bookedbiz import broadcast_calendar as bc
from bookedbiz.synth.bookings import BookingModel
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


def test_demo_has_budgets_and_a_few_forecasts(demo_db: Path) -> None:
    conn = sqlite3.connect(demo_db)
    budgets = dict(conn.execute(
        "SELECT b.broadcast_month, SUM(b.gross_micros) FROM budgets b GROUP BY 1"))
    aes = conn.execute("SELECT COUNT(DISTINCT ae_id) FROM budgets").fetchone()[0]
    forecasts = conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0]
    conn.close()
    current = bc.broadcast_month_of(TODAY)
    assert {current, bc.shift_month(current, 12), f"{TODAY.year}-01"} <= set(budgets)
    assert 5 <= aes <= 8 and 3 <= forecasts <= 18


def test_demo_command_prints_a_login_for_every_role(demo_db: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from tests.web.conftest import login, make_app

    import bookedbiz.synth.demo as demo
    from bookedbiz.cli.main import cli

    def prebuilt(path: Path, years: int, echo) -> dict[str, int]:  # noqa: ANN001
        shutil.copyfile(demo_db, path)
        return {"daily_imports": 1}

    monkeypatch.setattr(demo, "build_demo_database", prebuilt)
    db = tmp_path / "demo" / "bookedbiz.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    logins = {}
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("admin", "manager", "finance", "ae", "viewer"):
            logins[parts[0]] = (parts[1], parts[2])
    assert set(logins) == {"admin", "manager", "finance", "ae", "viewer"}
    assert "sees only" in result.output and not list(db.parent.glob("*.building*"))
    conn = sqlite3.connect(db)
    linked = conn.execute("SELECT a.name FROM users u JOIN aes a USING (ae_id) "
                          "WHERE u.role = 'ae'").fetchall()
    conn.close()
    assert len(linked) == 1
    client = make_app(db).test_client()
    username, password = logins["ae"]
    assert login(client, username, password).status_code == 302
    front = client.get("/")
    assert front.status_code == 302 and front.headers["Location"].endswith("/reports/")
    assert client.get("/reports/").status_code == 200
    again = CliRunner().invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert "Using the existing demo database" in again.output
    assert again.output.split("Password  ")[1].split()[0] != logins["admin"][1]


def test_the_history_says_what_the_replayed_logs_said(demo_db: Path) -> None:
    """Booked for month M as of a replayed day = that day's log, to the cent (an independent
    sum over the generated spots, not the importer's)."""
    plan = demo_plan(TODAY, years=3)
    model = BookingModel(7, plan.first_month, plan.last_month, 60, story_from=plan.story_from)
    conn = sqlite3.connect(demo_db)
    days = [d for d, kind, _m in plan.steps if kind == "log"]
    for as_of in (days[3], days[60], days[-10], days[-1]):
        current = bc.broadcast_month_of(as_of)
        for month in (bc.shift_month(current, n) for n in (1, 2, 5)):
            expected = sum(_micros(s.cells[15]) for s in model.by_month.get(month, ())
                           if s.on_books(as_of) and s.cells[23] != "Trade")
            booked = conn.execute(
                "SELECT COALESCE(SUM(gross_micros), 0) FROM booking_history WHERE "
                "broadcast_month = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
                (month, as_of.isoformat(), as_of.isoformat())).fetchone()[0]
            assert booked == expected, (as_of, month)
    conn.close()


def _micros(cell: object) -> int:
    if isinstance(cell, str) and cell.startswith("$"):
        cell = float(cell[1:].replace(",", ""))
    return round(cell * 1_000_000) if isinstance(cell, float) else 0
