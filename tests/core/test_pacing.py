"""Pacing against an independent reading of a sequence of daily logs, to the cent."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.core.history_logs import (
    AES,
    IndependentBook,
    log_days,
    make_orders,
    shift,
    write_daily_log,
)

from bookedbiz.cli.main import cli
from bookedbiz.db.connection import create_db_engine
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.pacing import booking_curve, pacing_report

CHECK_DAYS = (date(2025, 1, 15), date(2025, 3, 10), date(2025, 5, 1))


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], IndependentBook]:
    folder = tmp_path_factory.mktemp("logs")
    orders = make_orders("2023-12", "2026-06")
    days = log_days(date(2023, 11, 6), date(2025, 5, 19), 14)
    paths = [write_daily_log(orders, day, folder) for day in days]
    return paths, IndependentBook(paths)


@pytest.fixture(scope="module")
def paced_db(tmp_path_factory: pytest.TempPathFactory, sequence) -> Path:
    from bookedbiz.db.migrate import init_database

    db = tmp_path_factory.mktemp("paced") / "pacing.db"
    init_database(db)
    for path in sequence[0]:
        import_workbook(db, path, auto_setup=True)  # as-of from 'Commercial Log YYMMDD'
    return db


def _report(db: Path, **kwargs):
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            return pacing_report(conn, **kwargs)
    finally:
        engine.dispose()


@pytest.mark.parametrize("as_of", CHECK_DAYS)
def test_pacing_equals_the_logs_to_the_cent(paced_db: Path, sequence, as_of: date) -> None:
    book = sequence[1]
    report = _report(paced_db, as_of=as_of)
    assert len(report["rows"]) == 13
    stly_day = as_of - timedelta(days=364)
    nonzero = 0
    for row in report["rows"]:
        month, prior = row["month"], shift(row["month"], -12)
        for measure in ("gross", "net"):
            assert row[f"booked_{measure}"] == book.total(month, as_of, measure), (month, measure)
            assert row[f"stly_{measure}"] == book.total(prior, stly_day, measure), (month,
                                                                                     measure)
            assert row[f"last_year_{measure}"] == book.total(prior, None, measure), month
        nonzero += bool(row["booked_gross"]) and bool(row["stly_gross"])
        if row["stly_gross"]:
            assert row["pace"] is not None
        else:
            assert row["pace"] is None
    assert nonzero >= 3  # the check compares real figures, not zeros


def test_pacing_by_ae_and_ae_scope(paced_db: Path, sequence) -> None:
    book, as_of = sequence[1], CHECK_DAYS[1]
    report = _report(paced_db, as_of=as_of, by="ae")
    for row in report["rows"]:
        assert row["booked_gross"] == book.total(row["month"], as_of, "gross", row["ae"])
    assert {r["ae"] for r in report["group_totals"]} == {r["ae"] for r in report["rows"]}
    for row in report["group_totals"]:  # one exact sum over the 13 months, rounded once
        exact = sum((book.month_as_of(m, as_of).get(row["ae"], {}).get("gross", Decimal(0))
                     for m in report["months"]), Decimal(0))
        assert row["booked_gross"] == exact.quantize(Decimal("0.01"))
    conn = sqlite3.connect(paced_db)
    ae_id = conn.execute("SELECT ae_id FROM aes WHERE name = ?", (AES[1],)).fetchone()[0]
    conn.close()
    scoped = _report(paced_db, as_of=as_of, by="ae", filters=ReportFilters(scope_ae_id=ae_id))
    assert {r["ae"] for r in scoped["rows"]} == {AES[1]}
    for row in scoped["month_totals"]:
        assert row["booked_gross"] == book.total(row["month"], as_of, "gross", AES[1])
        assert row["stly_gross"] == book.total(shift(row["month"], -12),
                                               as_of - timedelta(days=364), "gross", AES[1])


def test_booking_curve_matches_the_logs(paced_db: Path, sequence) -> None:
    book, as_of = sequence[1], CHECK_DAYS[2]
    engine = create_db_engine(paced_db, readonly=True)
    try:
        with engine.connect() as conn:
            curve = booking_curve(conn, as_of=as_of, month="2025-06")
    finally:
        engine.dispose()
    from bookedbiz.broadcast_calendar import broadcast_month_start

    start, last_start = broadcast_month_start("2025-06"), broadcast_month_start("2024-06")
    for weeks, this, last in zip(curve["weeks_before"], curve["this_year"], curve["last_year"],
                                 strict=True):
        day = start - timedelta(weeks=weeks)
        assert this == (None if day > as_of else book.total("2025-06", day))
        assert last == book.total("2024-06", last_start - timedelta(weeks=weeks))
    assert any(curve["this_year"]) and any(curve["last_year"])


def test_report_pacing_cli(paced_db: Path, sequence, runner: CliRunner) -> None:
    book, as_of = sequence[1], CHECK_DAYS[0]
    result = runner.invoke(cli, ["report", "pacing", "--as-of", as_of.isoformat(), "--from",
                                 "2025-02", "--to", "2025-04", "--format", "json", "--db",
                                 str(paced_db)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["month"] for r in rows] == ["2025-02", "2025-03", "2025-04"]
    for row in rows:
        assert set(row) >= {"month", "booked_gross", "booked_net", "stly_gross", "stly_net",
                            "last_year_gross", "last_year_net", "pace"}
        assert str(row["booked_gross"]) == str(float(book.total(row["month"], as_of)))
    result = runner.invoke(cli, ["report", "pacing", "--as-of", "2025-01-15", "--by", "ae",
                                 "--format", "csv", "--db", str(paced_db)])
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("month,ae,")


@pytest.mark.parametrize(("args", "words"), [
    (["--from", "2025-05", "--to", "2025-02"], "is after --to"),
    (["--as-of", "2025-02-30"], "is not a date"),
    (["--as-of", "2099-01-01"], "is in the future"),
    (["--from", "May 2025x"], "is not a month"),
])
def test_report_pacing_bad_input(paced_db: Path, runner: CliRunner, args, words) -> None:
    result = runner.invoke(cli, ["report", "pacing", *args, "--db", str(paced_db)])
    assert result.exit_code != 0
    assert words in result.output and result.output.strip().count("\n") == 0, result.output


def test_overview_compares_open_months_with_stly_and_closed_with_final(
        paced_db: Path, sequence, tmp_path: Path) -> None:
    import shutil

    from bookedbiz.months import close_month
    from bookedbiz.reports.pages import ae_summary
    from bookedbiz.reports.revenue import overview

    book = sequence[1]
    db = tmp_path / "closed.db"
    shutil.copy(paced_db, db)
    close_month(db, "2025-01", "Fin")
    books_day = date(2025, 5, 19)  # the newest log
    stly_day = books_day - timedelta(days=364)
    engine = create_db_engine(db, readonly=True)
    try:
        with engine.connect() as conn:
            report = overview(conn, ReportFilters(year=2025))
            aes = ae_summary(conn, ReportFilters(year=2025))
    finally:
        engine.dispose()
    assert report["stly_as_of"] == stly_day
    by_month = {m["month"]: m for m in report["months"]}
    closed, open_ = by_month["2025-01"], by_month["2025-06"]
    assert closed["compare_to"] == "last_year" and open_["compare_to"] == "stly"
    assert closed["basis_gross"] == book.total("2024-01", None)
    assert open_["basis_gross"] == book.total("2024-06", stly_day)
    assert open_["basis_gross"] != book.total("2024-06", None)  # not last year's final
    assert open_["change"] == open_["gross"] - open_["basis_gross"]
    q1 = report["quarters"][0]
    assert q1["compare_to"] == "mixed"
    assert q1["basis_gross"] == (book.total("2024-01", None) + _exact(book, "2024-02", stly_day)
                                 + _exact(book, "2024-03", stly_day)).quantize(Decimal("0.01"))
    assert sum(a["change"] for a in aes) == report["total"]["change"] or \
        abs(sum(a["change"] for a in aes) - report["total"]["change"]) <= Decimal("0.05")


def _exact(book, month: str, day: date) -> Decimal:
    return sum((v["gross"] for v in book.month_as_of(month, day).values()), Decimal(0))


def test_what_changed_between_two_days(paced_db: Path, sequence, runner: CliRunner) -> None:
    from collections import defaultdict

    from bookedbiz.reports.changes import changes_report

    book = sequence[1]
    since, until = date(2025, 3, 10), date(2025, 4, 21)
    engine = create_db_engine(paced_db, readonly=True)
    try:
        with engine.connect() as conn:
            report = changes_report(conn, since=since, until=until)
            last = changes_report(conn)  # default: the last two recorded days
    finally:
        engine.dispose()
    assert (last["since"], last["until"]) == (date(2025, 5, 5), date(2025, 5, 19))
    kinds = {r["change"] for r in report["rows"]}
    assert {"added", "cancelled"} <= kinds
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for row in report["rows"]:
        by_month[row["month"]] += row["gross_change"]
        if row["change"] == "added":
            assert row["gross_before"] == 0 and row["gross_after"] > 0
        if row["change"] == "cancelled":
            assert row["gross_after"] == 0 and row["gross_before"] > 0
    months = {m for m in by_month} | {f"2025-{m:02d}" for m in range(3, 13)}
    for month in months:  # each line is exact; a month's lines add up within a cent a line
        expected = book.total(month, until) - book.total(month, since)
        lines = sum(1 for r in report["rows"] if r["month"] == month)
        assert abs(by_month.get(month, Decimal(0)) - expected) <= Decimal("0.01") * max(1, lines)
    result = runner.invoke(cli, ["report", "changes", "--since", "2025-03-10", "--until",
                                 "2025-04-21", "--format", "alert", "--db", str(paced_db)])
    assert result.exit_code == 0 and result.output.count("\n") == 1
    assert result.output.startswith("What changed 2025-03-10 → 2025-04-21:") and "top:" in \
        result.output
    bad = runner.invoke(cli, ["report", "changes", "--since", "2025-04-21", "--until",
                              "2025-03-10", "--db", str(paced_db)])
    assert bad.exit_code != 0 and "is after --until" in bad.output
