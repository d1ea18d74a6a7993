"""Forecasts and pipeline: closed months, another AE's book and malformed amounts are refused;
pipeline is forecast − booked only for open months with a higher forecast (SPEC §1.5)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from tests.core import dbstate

from bookedbiz.cli.main import cli
from bookedbiz.db.access import reading_from, writing_to
from bookedbiz.errors import BookedBizError
from bookedbiz.planning import forecasts
from bookedbiz.planning.aes import closed_months as plan_closed_months
from bookedbiz.planning.targets import pipeline, targets
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.planning import planning_report

TODAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bookedbiz.synth.demo import build_demo_database

    path = tmp_path_factory.mktemp("plan") / "demo.db"
    build_demo_database(path, years=1, seed=3, rows_per_month=40, today=TODAY)
    return path


@pytest.fixture()
def db(demo_db: Path, tmp_path: Path, database: str) -> Path | str:
    """The demo's data on a SQLite file (a copy) or in a PostgreSQL database (a URL)."""
    if "://" in database:
        from tests.core.copy_data import copy_database

        copy_database(demo_db, database)
        target: Path | str = database
    else:
        target = tmp_path / "demo.db"
        shutil.copyfile(demo_db, target)
    with writing_to(target) as conn:  # start from no plans (the demo may set some)
        for table in ("forecasts", "forecast_changes", "budgets", "budget_changes"):
            conn.execute(text(f"DELETE FROM {table}"))
    return target


def booked(db: Path | str, ae: str, month: str) -> int:
    """Independent: the AE's non-Trade spots of the month, straight from ``spots``."""
    return int(dbstate.scalar(
        db, "SELECT COALESCE(SUM(s.gross_rate_micros), 0) FROM spots s JOIN aes a "
        "ON a.ae_id = s.ae_id WHERE a.name = :ae AND s.broadcast_month = :m "
        "AND NOT s.is_trade", ae=ae, m=month))


def busiest_aes(db: Path | str) -> list[str]:
    return [r[0] for r in dbstate.rows(
        db, "SELECT a.name FROM spots s JOIN aes a ON a.ae_id = s.ae_id WHERE "
        "s.broadcast_month = '2026-07' AND NOT s.is_trade GROUP BY a.name "
        "ORDER BY SUM(s.gross_rate_micros) DESC, a.name")]


def closed_month(db: Path | str) -> str:
    return str(dbstate.scalar(db, "SELECT MAX(broadcast_month) FROM month_closures"))


def _read(db: Path | str, function, *args, **kwargs):  # noqa: ANN001, ANN202
    with reading_from(db) as conn:
        return function(conn, *args, **kwargs)


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args))


def test_pipeline_rule() -> None:
    assert pipeline(None, 100, closed=False) == 0
    assert pipeline(150, 100, closed=False) == 50
    assert pipeline(100, 100, closed=False) == 0
    assert pipeline(80, 100, closed=False) == 0
    assert pipeline(150, 100, closed=True) == 0


def test_pipeline_only_for_open_months_with_a_higher_forecast(db: Path | str) -> None:
    first, second = busiest_aes(db)[:2]
    done = closed_month(db)
    high = booked(db, first, "2026-07") + 12_345_670_000
    low = max(booked(db, second, "2026-07") - 1_000_000, 0)
    for ae, month, micros in ((first, "2026-07", high), (second, "2026-07", low)):
        forecasts.set_forecast(db, ae=ae, month=month, micros=micros, by="Pat")
    # a forecast entered while the month was open, then the month closed
    amount = booked(db, first, done) + 10**12
    with writing_to(db) as conn:
        conn.execute(text("INSERT INTO forecasts (ae_id, broadcast_month, gross_micros, "
                          "updated_at, updated_by) SELECT ae_id, :m, :g, 'then', 'Pat' FROM aes "
                          "WHERE name = :ae"), {"m": done, "g": amount, "ae": first})
    scope = _ae_id(db, second)
    with reading_from(db) as conn:
        report = planning_report(conn, ReportFilters(year=2026), as_of=TODAY)
        plan = targets(conn, ["2026-07", done], ReportFilters(), "ae")
        company = targets(conn, ["2026-07"], ReportFilters(), None)
        own = targets(conn, ["2026-07"], ReportFilters(scope_ae_id=scope), None)
    rows = {(r["ae"], r["month"]): r for r in report["rows"]}
    expected = Decimal(high - booked(db, first, "2026-07")) / 1_000_000
    assert rows[(first, "2026-07")]["pipeline"] == expected.quantize(Decimal("0.01"))
    assert rows[(second, "2026-07")]["pipeline"] == 0  # forecast below booked
    assert rows[(first, done)]["pipeline"] == 0 and rows[(first, done)]["status"] == "closed"
    third = busiest_aes(db)[2]
    assert rows[(third, "2026-07")]["forecast"] is None
    assert rows[(third, "2026-07")]["pipeline"] == 0
    july = next(c for c in report["company"] if c["month"] == "2026-07")
    assert july["pipeline"] == expected.quantize(Decimal("0.01"))  # the sum of AE pipelines
    assert plan[("2026-07", first)].pipeline == high - booked(db, first, "2026-07")
    assert plan[(done, first)].pipeline == 0
    assert company[("2026-07", "")].forecast == high + low
    assert company[("2026-07", "")].pipeline == high - booked(db, first, "2026-07")
    assert own == {("2026-07", ""): own[("2026-07", "")]} and own[("2026-07", "")].pipeline == 0


def _ae_id(db: Path | str, name: str) -> int:
    return int(dbstate.scalar(db, "SELECT ae_id FROM aes WHERE name = :n", n=name))


def test_forecast_set_list_and_history(db: Path | str) -> None:
    ae = busiest_aes(db)[0]
    base = ["--ae", ae, "--month", "Aug-26", "--db", str(db)]
    assert run("forecast", "set", *base, "--gross", "$125,000", "--by", "Pat").exit_code == 0
    result = run("forecast", "set", *base, "--gross", "130000.50", "--by", "Lee",
                 "--note", "new order")
    assert result.exit_code == 0 and "125,000.00 → 130,000.50" in result.output
    listed = json.loads(run("forecast", "list", "--year", "2026", "--format", "json", "--db",
                            str(db)).output)
    assert listed == [{"ae": ae, "month": "2026-08", "gross": 130000.5,
                       "updated_at": listed[0]["updated_at"], "updated_by": "Lee",
                       "note": "new order"}]
    history = json.loads(run("forecast", "history", "--ae", ae, "--format", "json", "--db",
                             str(db)).output)
    assert [(h["changed_by"], h["old"], h["new"], h["note"]) for h in history] == [
        ("Lee", 125000.0, 130000.5, "new order"), ("Pat", None, 125000.0, None)]


def test_refused_forecasts_change_nothing(db: Path | str) -> None:
    ae, other = busiest_aes(db)[:2]
    done = closed_month(db)
    before = (dbstate.rows(db, "SELECT * FROM forecasts ORDER BY 1, 2"),
              dbstate.rows(db, "SELECT * FROM forecast_changes ORDER BY 1"))
    cases = {
        "closed": (["--ae", ae, "--month", done, "--gross", "1000"], "is closed"),
        "malformed": (["--ae", ae, "--month", "2026-08", "--gross", "12k"],
                      "'12k' is not an amount of money"),
        "negative": (["--ae", ae, "--month", "2026-08", "--gross", "-5"], "out of range"),
        "month": (["--ae", ae, "--month", "2026-13", "--gross", "5"], "is not a month"),
        "unknown": (["--ae", "Nobody", "--month", "2026-08", "--gross", "5"],
                    "no AE named 'Nobody'"),
    }
    for name, (args, message) in cases.items():
        result = run("forecast", "set", *args, "--by", "Pat", "--db", str(db))
        assert result.exit_code != 0, name
        assert message in result.output, (name, result.output)
        assert result.output.count("\n") == 1, result.output  # one sentence
    with pytest.raises(BookedBizError, match="only your own book"):
        forecasts.set_forecast(db, ae=other, month="2026-08", micros=1, by="ae-user",
                               own_ae_id=_ae_id(db, ae))
    after = (dbstate.rows(db, "SELECT * FROM forecasts ORDER BY 1, 2"),
             dbstate.rows(db, "SELECT * FROM forecast_changes ORDER BY 1"))
    assert after == before


def test_pacing_rows_carry_budget_forecast_and_pipeline(db: Path | str, tmp_path: Path) -> None:
    from bookedbiz.reports.pacing import pacing_report

    first, second = busiest_aes(db)[:2]
    budget = tmp_path / "b.csv"
    budget.write_text(f"AE,Month,Gross\n{first},2026-07,50000\n{second},2026-07,$1,000.10\n"
                      .replace("$1,000.10", '"$1,000.10"'))
    assert run("budgets", "import", str(budget), "--db", str(db)).exit_code == 0
    forecasts.set_forecast(db, ae=first, month="2026-07", micros=10**12, by="Pat")
    with reading_from(db) as conn:
        by_ae = pacing_report(conn, as_of=TODAY, first="2026-06", last="2026-08", by="ae")
        company = pacing_report(conn, as_of=TODAY, first="2026-06", last="2026-08")
        market = pacing_report(conn, as_of=TODAY, first="2026-06", last="2026-08",
                               by="market")
        plan = planning_report(conn, ReportFilters(year=2026), as_of=TODAY)
    planned = {(r["ae"], r["month"]): r for r in plan["rows"]}
    for row in by_ae["rows"]:
        mine = planned[(row["ae"], row["month"])]
        assert (row["budget_gross"], row["forecast_gross"], row["pipeline_gross"]) == (
            mine["budget"], mine["forecast"], mine["pipeline"])
        if row["budget_gross"] is not None:
            assert row["variance_gross"] == row["booked_gross"] - row["budget_gross"]
    july = next(r for r in company["rows"] if r["month"] == "2026-07")
    assert july["budget_gross"] == Decimal("51000.10") and july["forecast_gross"] == 1_000_000
    assert july["pipeline_gross"] == next(
        c for c in plan["company"] if c["month"] == "2026-07")["pipeline"]
    assert company["total"]["budget_gross"] == Decimal("51000.10")
    june = next(r for r in company["rows"] if r["month"] == "2026-06")
    assert june["budget_gross"] is None and june["forecast_gross"] is None
    assert all(r["budget_gross"] is None and r["pipeline_gross"] is None
               for r in market["rows"])  # no plan below the AE
    assert next(r for r in market["month_totals"]
                if r["month"] == "2026-07")["budget_gross"] == Decimal("51000.10")


def test_management_report_against_independent_figures(db: Path | str, tmp_path: Path) -> None:
    from bookedbiz.reports.management import management_report

    ae = busiest_aes(db)[0]
    budget = tmp_path / "b.csv"
    budget.write_text(f"AE,Jul-26,Aug-26,Sep-26\n{ae},100000,100000,1\n")
    assert run("budgets", "import", str(budget), "--db", str(db)).exit_code == 0
    forecasts.set_forecast(db, ae=ae, month="2026-07", micros=200_000_000_000, by="Pat")
    report = _read(db, management_report, ReportFilters(year=2026, ae=ae), as_of=TODAY)
    assert report["company"]["name"] == "All AEs shown"
    q3 = next(p for p in report["aes"][0]["periods"] if p["period"] == "Q3")
    july, quarter = booked(db, ae, "2026-07"), sum(
        booked(db, ae, m) for m in ("2026-07", "2026-08", "2026-09"))
    cents = Decimal("0.01")
    assert q3["booked"] == (Decimal(quarter) / 10**6).quantize(cents)
    assert q3["budget"] == Decimal("200001.00")
    assert q3["pct_to_budget"] == (Decimal(quarter) / Decimal(200_001_000_000) * 100).quantize(
        Decimal("0.1"))
    assert q3["remaining_to_budget"] == max(Decimal(200_001_000_000 - quarter) / 10**6,
                                            Decimal(0)).quantize(cents)
    assert q3["forecast"] == Decimal("200000.00")
    # the forecast is measured against July alone, the only month it was entered for
    assert q3["pct_to_forecast"] == (Decimal(july) / Decimal(200_000_000_000) * 100).quantize(
        Decimal("0.1"))
    assert q3["remaining_to_forecast"] == (Decimal(200_000_000_000 - july) / 10**6).quantize(cents)
    assert q3["pipeline"] == q3["remaining_to_forecast"]  # July is open


def test_a_month_is_closed_for_plans_when_every_station_closed_it(db: Path | str) -> None:
    """Plans are per AE across the stations: a month stays closed for them while every station
    with spots in it closed it; a second station with spots there that has not closed it opens
    the month to forecasts again, until it closes it too."""
    ae = busiest_aes(db)[0]
    done = closed_month(db)
    with pytest.raises(BookedBizError, match="is closed"):
        forecasts.set_forecast(db, ae=ae, month=done, micros=1, by="Pat")
    with writing_to(db) as conn:
        station = conn.execute(text(
            "INSERT INTO stations (code, name, is_active, created_at) VALUES "
            "('KBBB', 'Second station', :yes, 'now') RETURNING station_id"),
            {"yes": True}).scalar_one()
    with pytest.raises(BookedBizError, match="is closed"):  # no spots there: still closed
        forecasts.set_forecast(db, ae=ae, month=done, micros=1, by="Pat")
    with writing_to(db) as conn:
        conn.execute(text("UPDATE spots SET station_id = :s WHERE spot_id = (SELECT "
                          "MIN(spot_id) FROM spots WHERE broadcast_month = :m)"),
                     {"s": station, "m": done})
    assert forecasts.set_forecast(db, ae=ae, month=done, micros=5_000_000, by="Pat").new_micros
    with writing_to(db) as conn:
        conn.execute(text("INSERT INTO month_closures (station_id, broadcast_month, closed_at, "
                          "closed_by) VALUES (:s, :m, 'now', 'test')"), {"s": station, "m": done})
    with pytest.raises(BookedBizError, match="is closed"):
        forecasts.set_forecast(db, ae=ae, month=done, micros=6_000_000, by="Pat")
    with reading_from(db) as conn:
        assert done in plan_closed_months(conn, done, done)
