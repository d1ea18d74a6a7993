"""Every report on SQLite and on PostgreSQL (issue 14): the same data in both gives the same
figures, each equal to an independent sum of the spots; stations filter, group and close.

The data is a demo database (imports replayed day by day, closed months, budgets, history)
copied row for row into the ``database`` fixture's target, so the SQLite run and the PostgreSQL
run read identical rows. The reference figures come from the demo file itself: the report
functions on it (the code's SQLite figures, which the rest of the suite checks) and, for the
revenue groupings, plain sums over its ``spots`` table with sqlite3 (no report code).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.core.copy_data import copy_database, split_station

from bookedbiz.db.access import Database
from bookedbiz.errors import ConfigError
from bookedbiz.reports import (
    breakdowns,
    changes,
    customer_detail,
    management,
    my_book,
    pacing,
    pages,
    planning,
    revenue,
    stewardship,
)
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.stations import check_stations, closed_months
from bookedbiz.synth.demo import build_demo_database

TODAY = date(2026, 6, 15)
YEAR = 2026


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("both") / "demo.db"
    build_demo_database(path, years=2, seed=11, rows_per_month=120, today=TODAY)
    return path


@pytest.fixture()
def copied(demo: Path, database: str) -> Iterator[Database]:
    """The demo's rows in this test's database (a SQLite file, then a PostgreSQL database)."""
    copy_database(demo, database)
    db = Database(database)
    yield db
    db.dispose()


def read(db: Database | Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    owned = not isinstance(db, Database)
    database = Database(db) if owned else db
    try:
        with database.reading() as conn:
            return fn(conn, *args, **kwargs)
    finally:
        if owned:
            database.dispose()


def cents(micros: int) -> Decimal:
    return (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


# -- the independent sums: sqlite3 over the demo's spots, Trade excluded ---------------------

_KEYS = {
    "month": "s.broadcast_month",
    "ae": "(SELECT name FROM aes WHERE ae_id = s.ae_id)",
    "customer": "(SELECT name FROM customers WHERE customer_id = s.customer_id)",
    "agency": "COALESCE((SELECT name FROM agencies WHERE agency_id = s.agency_id), '(direct)')",
    "market": "CASE WHEN s.market_code = '' THEN '(none)' ELSE s.market_code END",
    "language": "COALESCE((SELECT report_bucket FROM language_assignments la "
                "WHERE la.spot_id = s.spot_id), '~review')",
    "revenue-type": "CASE WHEN s.revenue_type = '' THEN '(none)' ELSE s.revenue_type END",
    "spot-type": "CASE WHEN s.spot_type = '' THEN '(none)' ELSE s.spot_type END",
    "station": "(SELECT code FROM stations WHERE station_id = s.station_id)",
}


def independent(db_file: Path, by: str, year: int, station: str | None = None
                ) -> dict[str, tuple[Decimal, Decimal, int]]:
    conn = sqlite3.connect(db_file)
    try:
        sql = (f"SELECT {_KEYS[by]}, s.gross_rate_micros, s.station_net_micros FROM spots s "
               "WHERE s.is_trade = 0 AND s.broadcast_month BETWEEN ? AND ?")
        params: list[object] = [f"{year}-01", f"{year}-12"]
        if station:
            sql += " AND s.station_id = (SELECT station_id FROM stations WHERE code = ?)"
            params.append(station)
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for key, gross, net in conn.execute(sql, params):
            entry = sums[key]
            entry[0] += gross or 0
            entry[1] += net or 0
            entry[2] += 1
    finally:
        conn.close()
    return {k: (cents(g), cents(n), c) for k, (g, n, c) in sums.items()}


def shown(rows: list[dict[str, Any]], by: str) -> dict[str, tuple[Decimal, Decimal, int]]:
    key = "bucket" if by == "language" else revenue.KEY_NAMES[by]
    return {str(r[key]): (r["gross"], r["net"], r["spots"]) for r in rows}


# -- the same figures on both databases, equal to the independent sums ----------------------

@pytest.mark.parametrize("by", revenue.GROUPINGS)
def test_revenue_by_every_grouping_equals_an_independent_sum(copied: Database, demo: Path,
                                                             by: str) -> None:
    filters = ReportFilters(year=YEAR)
    rows = read(copied, revenue.revenue_by, by, filters)
    assert shown(rows, by) == independent(demo, by, YEAR)
    assert rows == read(demo, revenue.revenue_by, by, filters)  # same order, same types
    total = read(copied, revenue.revenue_total, filters)
    whole = independent(demo, "station", YEAR)["MAIN"]
    assert (total["gross"], total["net"], total["spots"]) == whole


REPORTS: dict[str, Callable[[Any], Any]] = {
    "overview": lambda c: revenue.overview(c, ReportFilters(year=YEAR)),
    "overview, net, billing months": lambda c: revenue.overview(
        c, ReportFilters(year=YEAR, measure="net", basis="billing")),
    "years and filter lists": lambda c: (revenue.available_years(c),
                                         revenue.filter_options(c, YEAR), pages.year_span(c)),
    "customers page": lambda c: pages.customers_page(c, ReportFilters(year=YEAR)),
    "AE summary, calendar months": lambda c: pages.ae_summary(
        c, ReportFilters(year=YEAR, basis="calendar")),
    "pacing": lambda c: pacing.pacing_report(c, as_of=TODAY),
    "pacing by customer": lambda c: pacing.pacing_report(c, as_of=TODAY, by="customer"),
    "pacing by sector, net": lambda c: pacing.pacing_report(
        c, as_of=TODAY, by="sector", filters=ReportFilters(measure="net")),
    "booking curve": lambda c: pacing.booking_curve(c, as_of=TODAY, month="2026-07"),
    "what changed": lambda c: changes.changes_report(c),
    "my book and scoreboard": lambda c: (my_book.my_book(c, filters=ReportFilters()),
                                         my_book.scoreboard(c, filters=ReportFilters())),
    "planning and management": lambda c: (
        planning.planning_report(c, ReportFilters(year=YEAR), as_of=TODAY),
        management.management_report(c, ReportFilters(year=YEAR), as_of=TODAY)),
    "breakdowns": lambda c: [breakdowns.breakdown(c, d, ReportFilters(year=YEAR))
                             for d in breakdowns.DIMENSIONS],
    "language by market": lambda c: breakdowns.language_by_market(c, ReportFilters(year=YEAR)),
    "customer pages": lambda c: [customer_detail.customer_report(c, i, ReportFilters(year=YEAR))
                                 for i in (1, 2, 7)],
    "stewardship lists": lambda c: (
        stewardship.auto_created_customers(c), stewardship.agencies(c),
        stewardship.stale_customers(c, 3, TODAY, True), stewardship.sectors(c, YEAR),
        stewardship.classification(c), stewardship.merge_preview(c, "customer", 1, 2),
        stewardship.language_review(c, ReportFilters(year=YEAR)),
        stewardship.search_entities(c, "customer", "a")),
}


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_reads_the_same_on_both(copied: Database, demo: Path, name: str) -> None:
    expected = read(demo, REPORTS[name])
    assert read(copied, REPORTS[name]) == expected


# -- stations -------------------------------------------------------------------------------

def test_a_station_filter_and_grouping_with_two_stations(copied: Database) -> None:
    split_station(copied.target)
    every = ReportFilters(year=YEAR)
    whole = read(copied, revenue.revenue_total, every)
    parts = {code: read(copied, revenue.revenue_total, replace(every, stations=(code,)))
             for code in ("MAIN", "KTWO")}
    assert parts["MAIN"]["spots"] and parts["KTWO"]["spots"]
    assert parts["MAIN"]["spots"] + parts["KTWO"]["spots"] == whole["spots"]
    by_station = {r["station"]: r for r in read(copied, revenue.revenue_by, "station", every)}
    for code, part in parts.items():
        assert (by_station[code]["gross"], by_station[code]["net"],
                by_station[code]["spots"]) == (part["gross"], part["net"], part["spots"])
    both = read(copied, revenue.revenue_total, replace(every, stations=("MAIN", "KTWO")))
    assert both == whole
    # every table with station_id is filtered: pacing reads the history, the feed the spots
    booked = read(copied, pacing.pacing_report, as_of=TODAY,
                  filters=ReportFilters(stations=("KTWO",)))["total"]["booked_gross"]
    booked_all = read(copied, pacing.pacing_report, as_of=TODAY)["total"]["booked_gross"]
    assert 0 < booked < booked_all
    by = read(copied, pacing.pacing_report, as_of=TODAY, by="station")["group_totals"]
    assert sum(r["booked_gross"] for r in by) == booked_all
    assert {r["station"]: r["booked_gross"] for r in by}["KTWO"] == booked
    customers = read(copied, pages.customers_page, replace(every, stations=("KTWO",)))["rows"]
    assert customers and all(r["customer_id"] % 2 == 1 for r in customers)


def test_the_station_split_matches_an_independent_sum(copied: Database, tmp_path: Path) -> None:
    split_station(copied.target)
    for code in ("MAIN", "KTWO"):
        filters = ReportFilters(year=YEAR, stations=(code,))
        rows = read(copied, revenue.revenue_by, "customer", filters)
        if copied.is_sqlite:  # the independent sums read the file itself
            assert shown(rows, "customer") == independent(copied.path, "customer", YEAR, code)
        assert sum(r["spots"] for r in rows) == read(copied, revenue.revenue_total,
                                                     filters)["spots"]


def test_a_month_is_closed_when_every_station_with_business_closed_it(copied: Database) -> None:
    closed_before = read(copied, closed_months, f"{YEAR - 1}-01", f"{YEAR}-12")
    assert closed_before, "the demo has closed months"
    month = max(closed_before)
    split_station(copied.target)
    main, two = ReportFilters(stations=("MAIN",)), ReportFilters(stations=("KTWO",))
    # the closures copied from the demo are MAIN's; KTWO (which has business) closed nothing
    assert month in read(copied, closed_months, month, month, main)
    assert month not in read(copied, closed_months, month, month, two)
    assert month not in read(copied, closed_months, month, month)
    with copied.writing() as conn:
        from sqlalchemy import text

        conn.execute(text(
            "INSERT INTO month_closures (station_id, broadcast_month, closed_at, closed_by) "
            "SELECT station_id, :m, '2026-06-01T00:00:00Z', 'Finance' FROM stations "
            "WHERE code = 'KTWO'"), {"m": month})
    assert month in read(copied, closed_months, month, month)
    overview = read(copied, revenue.overview, ReportFilters(year=int(month[:4])))
    assert {m["month"]: m["status"] for m in overview["months"]}[month] == "closed"


def test_an_unknown_station_is_one_sentence_naming_the_known_ones(copied: Database) -> None:
    assert read(copied, check_stations, ("main",)) == ("MAIN",)
    with pytest.raises(ConfigError, match=r"no station 'NOPE'.*MAIN"):
        read(copied, check_stations, ("NOPE",))
    with pytest.raises(ConfigError, match="station code"):
        ReportFilters(stations=("bad code;",))


def test_station_lists_from_the_query_string() -> None:
    assert ReportFilters.from_mapping({"station": ["kxyz", "MAIN,kxyz"]}).stations == (
        "KXYZ", "MAIN")
    assert ReportFilters.from_mapping({"station": ""}).stations == ()
    assert ReportFilters.from_mapping({}).stations == ()


def test_two_stations_imported_for_the_same_months_report_apart_and_together(
        database: str, workbooks: dict[str, Path]) -> None:
    """The real importer (issue 14): station MAIN's log and KTWO's log for the same months;
    each station's months equal an independent sum of its own workbook, all stations their
    sum, and the station grouping both."""
    from tests.core.independent import sums_by

    from bookedbiz.entities.stations import add_station
    from bookedbiz.ingest.service import import_workbook

    db = Database(database)
    try:
        with db.writing() as conn:
            add_station(conn, "KTWO", "Station two")
        for code, book in (("MAIN", "daily"), ("KTWO", "daily_b")):
            result = import_workbook(database, workbooks[book], mode="historical",
                                     closed_by="Fin", today=date(2025, 11, 5), station=code)
            assert result.success and result.rows_rejected == 0
        expected = {"MAIN": sums_by(workbooks["daily"]), "KTWO": sums_by(workbooks["daily_b"])}
        months = sorted(set(expected["MAIN"]) | set(expected["KTWO"]))
        for code, sums in expected.items():
            rows = read(db, revenue.revenue_by, "month", ReportFilters(stations=(code,)))
            assert {r["month"]: (r["gross"], r["net"], r["spots"]) for r in rows} == {
                m: (s["gross"].quantize(Decimal("0.01")), s["net"].quantize(Decimal("0.01")),
                    s["spots"]) for m, s in sums.items()}, code
        together = {r["month"]: r for r in read(db, revenue.revenue_by, "month",
                                                ReportFilters())}
        for month in months:
            parts = [expected[c].get(month, {"gross": Decimal(0), "spots": 0})
                     for c in expected]
            assert together[month]["gross"] == sum(p["gross"] for p in parts).quantize(
                Decimal("0.01"))
            assert together[month]["spots"] == sum(p["spots"] for p in parts)
        by_station = {r["station"]: r["spots"] for r in read(db, revenue.revenue_by, "station",
                                                             ReportFilters())}
        assert by_station == {c: sum(s["spots"] for s in expected[c].values())
                              for c in expected}
    finally:
        db.dispose()


def test_report_commands_on_both_with_stations(copied: Database, demo: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``bookedbiz report revenue/pacing/changes`` read a file or a server (``--db`` or
    DATABASE_URL) and take ``--station``; an unknown one is one sentence, a non-zero exit."""
    import json

    from click.testing import CliRunner

    from bookedbiz.cli.main import cli

    runner = CliRunner()
    split_station(copied.target)
    if copied.is_sqlite:
        where = ["--db", copied.target]
    else:
        monkeypatch.setenv("DATABASE_URL", copied.target)  # the setting, not --db
        where = []
    def run(*args: str) -> list[dict[str, Any]]:
        result = runner.invoke(cli, [*args, "--format", "json", *where])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    rows = run("report", "revenue", "--year", str(YEAR), "--by", "station")
    assert {r["station"] for r in rows} == {"MAIN", "KTWO"}
    parts = {code: run("report", "revenue", "--year", str(YEAR), "--station", code.lower())
             for code in ("MAIN", "KTWO")}
    every = run("report", "revenue", "--year", str(YEAR))
    assert [sum(r["spots"] for r in parts[c]) for c in ("MAIN", "KTWO")] == [
        r["spots"] for r in sorted(rows, key=lambda r: r["station"] != "MAIN")]
    assert sum(r["spots"] for r in every) == sum(r["spots"] for r in rows)
    booked = ("month", "booked_gross", "stly_gross", "last_year_gross", "pace")
    paced = run("report", "pacing", "--as-of", "2026-06-15", "--station", "KTWO,MAIN")
    assert [{k: r[k] for k in booked} for r in paced] == [
        {k: r[k] for k in booked} for r in run("report", "pacing", "--as-of", "2026-06-15")]
    assert all(r["budget_gross"] is None for r in paced)  # plans are per AE, not per station
    assert run("report", "changes", "--station", "KTWO") is not None
    bad = runner.invoke(cli, ["report", "revenue", "--station", "NOPE", *where])
    assert bad.exit_code == ConfigError.exit_code != 0
    assert bad.output.strip().startswith("Error: There is no station 'NOPE'")
    assert bad.output.count("\n") == 1 and "Traceback" not in bad.output
    if not copied.is_sqlite:
        assert "s3cret" not in bad.output
