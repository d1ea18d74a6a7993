"""The import service end to end on real databases (a SQLite file, then PostgreSQL: the
``database`` fixture) and real workbooks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.core.dbstate import checksum, rows, scalar
from tests.core.handmade import spot_row, write_workbook
from tests.core.independent import sums_by

from bookedbiz.db.access import Database
from bookedbiz.db.summary import refresh_summary
from bookedbiz.errors import BookedBizError, ConfigError, ImportFailed
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.revenue import GROUPINGS, revenue_by, revenue_total

TODAY = date(2025, 11, 5)
CENT = Decimal("0.01")


def _read(db: Path | str, func, *args):  # noqa: ANN001, ANN202 - a report function
    database = Database(db)
    try:
        with database.reading() as conn:
            return func(conn, *args)
    finally:
        database.dispose()


def _totals(db: Path | str, by: str, filters: ReportFilters | None = None) -> list[dict]:
    return _read(db, revenue_by, by, filters or ReportFilters())


def _write(db: Path | str, sql: str, **params: object) -> None:
    database = Database(db)
    try:
        with database.writing() as conn:
            conn.execute(text(sql), params)
    finally:
        database.dispose()


def test_historical_totals_equal_an_independent_sum(database: str, workbooks) -> None:
    result = import_workbook(database, workbooks["recap"], mode="historical", closed_by="Fin",
                             today=TODAY)
    assert result.success and result.rows_rejected == 0
    expected = sums_by(workbooks["recap"])
    by_month = {r["month"]: r for r in _totals(database, "month")}
    assert set(by_month) == set(expected)
    for month, sums in expected.items():  # each figure is its exact sum rounded half-even
        assert by_month[month]["gross"] == sums["gross"].quantize(CENT)
        assert by_month[month]["net"] == sums["net"].quantize(CENT)
        assert by_month[month]["spots"] == sums["spots"]
    grand_gross = sum(s["gross"] for s in expected.values()).quantize(CENT)
    grand_spots = sum(s["spots"] for s in expected.values())
    assert _read(database, revenue_total, ReportFilters())["gross"] == grand_gross
    for by in GROUPINGS:
        rows = _totals(database, by)
        assert abs(sum(r["gross"] for r in rows) - grand_gross) <= CENT / 2 * len(rows), by
        assert sum(r["spots"] for r in rows) == grand_spots, by
    markets = {r["market"]: r for r in _totals(database, "market")}
    for code, sums in sums_by(workbooks["recap"], key_column=28).items():
        assert markets[code]["gross"] == sums["gross"].quantize(CENT)
    assert result.months_closed == sorted(expected)


def test_weekly_skips_previous_month_and_reimport_replaces(database: str, workbooks) -> None:
    first = import_workbook(database, workbooks["daily"], today=TODAY)
    assert first.success
    assert "2025-10" not in first.months_replaced
    assert [c.action for c in first.changes if c.month == "2025-10"] == ["skipped-previous-month"]
    again = import_workbook(database, workbooks["daily"], today=TODAY)
    assert again.rows_deleted == first.rows_inserted == again.rows_inserted
    expected = sums_by(workbooks["daily"])
    by_month = {r["month"]: r for r in _totals(database, "month")}
    assert set(by_month) == {"2025-11", "2025-12", "2026-01"}
    for month, row in by_month.items():
        assert abs(row["gross"] - expected[month]["gross"]) < CENT
        assert row["spots"] == expected[month]["spots"]
    with_previous = import_workbook(database, workbooks["daily"], today=TODAY,
                                    include_previous_month=True)
    assert "2025-10" in with_previous.months_replaced


def test_weekly_never_touches_closed_months(database: str, workbooks) -> None:
    import_workbook(database, workbooks["daily"], today=TODAY)
    before = {r["month"]: r for r in _totals(database, "month")}
    _write(database, "INSERT INTO month_closures (broadcast_month, closed_at, closed_by) "
           "VALUES ('2025-12', 'x', 'Fin')")
    result = import_workbook(database, workbooks["daily_b"], today=TODAY)
    after = {r["month"]: r for r in _totals(database, "month")}
    assert after["2025-12"] == before["2025-12"]
    assert after["2025-11"] != before["2025-11"]
    assert "2025-12" not in result.months_replaced


def test_historical_replaces_closed_months(database: str, workbooks) -> None:
    import_workbook(database, workbooks["daily"], today=TODAY, include_previous_month=True)
    result = import_workbook(database, workbooks["daily_b"], mode="historical", closed_by="Fin",
                             today=TODAY)
    assert result.months_closed == ["2025-10", "2025-11", "2025-12", "2026-01"]
    expected = sums_by(workbooks["daily_b"])
    for row in _totals(database, "month"):
        assert row["spots"] == expected[row["month"]]["spots"]


def test_dry_run_writes_nothing(database: str, workbooks) -> None:
    before = checksum(database)
    result = import_workbook(database, workbooks["daily"], today=TODAY, dry_run=True)
    assert result.dry_run and result.rows_inserted > 0 and result.batch_id is None
    assert checksum(database) == before
    assert scalar(database, "SELECT COUNT(*) FROM import_batches") == 0


def test_summary_equals_sql_definition(database: str, workbooks) -> None:
    import_workbook(database, workbooks["daily"], today=TODAY)
    query = "SELECT * FROM spot_summary"
    fast = sorted(rows(database, query), key=repr)
    months = [m for (m,) in rows(database, "SELECT DISTINCT broadcast_month FROM spot_summary")]
    db = Database(database)
    with db.writing() as conn:
        refresh_summary(conn, months)
    db.dispose()
    assert sorted(rows(database, query), key=repr) == fast


def test_quirky_rows(tmp_path: Path, database: str) -> None:
    lines = [
        spot_row(),
        spot_row(gross_rate="$1,234.00", station_net="$1,048.90", spot_value="$1,234.00"),
        spot_row(broadcast_month="Mar-25", air_date="3/5/2025"),
        spot_row(revenue_type="Trade", gross_rate=500.0),
        spot_row(gross_rate=-40.0, station_net=-34.0, comments="credit"),
        spot_row(broadcast_month=None, air_date=date(2025, 3, 30)),
        spot_row(sales_person="Charmaine Lane - TRANSFER"),
        spot_row(sales_person="  charmaine   LANE "),
        spot_row(sales_person=None),
        spot_row(bill_code="WorldLink:Vita Direct", sales_person="House",
                 revenue_type="Direct Response Sales"),
        spot_row(language_code="L"), spot_row(language_code="X"), spot_row(language_code=None),
        spot_row(spot_type="Bonus", gross_rate=None, station_net=None, spot_value=None),
        spot_row(market="NEWMKT", time_in="7:00:00 PM"),
        [None] * 29,
        [None] * 15 + [99999.0] + [None] * 13,
    ]
    path = write_workbook(tmp_path / "quirks.xlsx", {"Commercials": lines})
    result = import_workbook(database, path, mode="historical", closed_by="Fin", today=TODAY)
    assert result.rows_rejected == 0 and result.success
    total = _totals(database, "month")
    assert sum(r["gross"] for r in total) == Decimal("100") * 11 + Decimal("1234") - 40
    aes = {r["ae"]: r["spots"] for r in _totals(database, "ae")}
    assert aes == {"Charmaine Lane": 12, "Unassigned": 1, "WorldLink": 1}
    months = {r["month"] for r in total}
    assert months == {"2025-03"}  # 3/30/2025 is in broadcast March
    languages = {r["bucket"]: r["spots"] for r in _totals(database, "language")}
    assert languages["~undetermined"] == 1 and languages["~invalid"] == 1
    assert languages["~not_targeted"] == 1  # the WorldLink line
    assert scalar(database, "SELECT COUNT(*) FROM spots WHERE is_trade") == 1
    assert rows(database, "SELECT time_in FROM spots WHERE market_code = 'NEWMKT'") == [
        ("19:00:00",)]
    assert any("NEWMKT" in w for w in result.warnings)
    assert any("totals" in w for w in result.warnings)


def test_rejects_are_reported_and_strict_fails(tmp_path: Path, database: str) -> None:
    lines = [spot_row(), spot_row(bill_code=None), spot_row(air_date="someday"),
             spot_row(gross_rate="lots"), spot_row()]
    path = write_workbook(tmp_path / "rejects.xlsx", {"Commercials": lines})
    before = checksum(database)
    with pytest.raises(ImportFailed, match="--strict: 3 row"):
        import_workbook(database, path, mode="historical", closed_by="x", strict=True, today=TODAY)
    assert checksum(database) == before
    result = import_workbook(database, path, mode="historical", closed_by="x", today=TODAY)
    assert result.rows_inserted == 2 and result.rows_rejected == 3
    reasons = {(r.row_number, r.reason) for r in result.rejects}
    assert reasons == {(3, "missing bill code"), (4, "unreadable date"), (5, "unparseable money")}
    stored = rows(database, "SELECT row_number, column_name, value, reason FROM import_rejects "
                  "WHERE batch_id = :b ORDER BY row_number", b=result.batch_id)
    assert stored[2] == (5, "Unit rate Gross (P)", "lots", "unparseable money")
    failed = rows(database, "SELECT status, error FROM import_batches ORDER BY batch_id")
    assert failed[0][0] == "failed" and "--strict" in failed[0][1]


def test_customer_resolution_alias_then_name_then_new(database: str, tmp_path: Path) -> None:
    _write(database, "INSERT INTO customers (customer_id, name, name_key, created_at) "
           "VALUES (50, 'Acme Foods', 'acme foods', 'x')")
    _write(database, "INSERT INTO customers (customer_id, name, name_key, created_at) "
           "VALUES (60, 'Big Bank', 'big bank', 'x')")
    _write(database, "INSERT INTO customer_aliases (alias_key, alias_text, customer_id, "
           "created_by, created_at) VALUES ('odd code:bigbank prod', 'Odd Code:BigBank PROD', "
           "60, 't', 'x')")
    lines = [spot_row(bill_code="ACME AGENCY:acme foods"),
             spot_row(bill_code="Odd Code:BigBank PROD"),
             spot_row(bill_code="New Agency:New Client PRODUCTION")]
    path = write_workbook(tmp_path / "c.xlsx", {"Commercials": lines})
    import_workbook(database, path, mode="historical", closed_by="x", today=TODAY)
    got = {b: (c, a) for b, c, a in rows(
        database, "SELECT s.bill_code, s.customer_id, a.name FROM spots s "
        "LEFT JOIN agencies a ON a.agency_id = s.agency_id")}
    assert got["ACME AGENCY:acme foods"] == (50, "ACME AGENCY")
    assert got["Odd Code:BigBank PROD"] == (60, "Odd Code")
    new_id, agency = got["New Agency:New Client PRODUCTION"]
    assert agency == "New Agency"
    assert rows(database, "SELECT name, auto_created FROM customers WHERE customer_id = :c",
                c=new_id) == [("New Client", True)]


def test_historical_needs_closed_by(database: str, workbooks) -> None:
    with pytest.raises(ConfigError, match="closed-by"):
        import_workbook(database, workbooks["recap"], mode="historical")


def test_everything_closed_is_an_error(database: str, workbooks) -> None:
    import_workbook(database, workbooks["recap"], mode="historical", closed_by="x", today=TODAY)
    with pytest.raises(BookedBizError, match="every month in it is skipped"):
        import_workbook(database, workbooks["recap"], today=TODAY)


def test_report_filters(database: str, workbooks) -> None:
    import_workbook(database, workbooks["recap"], mode="historical", closed_by="x", today=TODAY)
    everything = _read(database, revenue_total, ReportFilters(year=2024))
    by_ae = _totals(database, "ae", ReportFilters(year=2024))
    one = _read(database, revenue_total, ReportFilters(year=2024, ae=str(by_ae[0]["ae"]).upper()))
    sea = _read(database, revenue_total, ReportFilters(year=2024, market="SEA"))
    none = _read(database, revenue_total, ReportFilters(year=2030))
    assert one["gross"] == by_ae[0]["gross"]
    assert 0 < sea["gross"] < everything["gross"]
    assert none == {"gross": Decimal("0.00"), "net": Decimal("0.00"), "spots": 0}


def test_title_rows_above_the_header_and_headerless_files(tmp_path: Path, database: str) -> None:
    import openpyxl

    from bookedbiz.ingest.layout import HEADERS_2024

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Commercials"
    sheet.append(["Commercial Log — exported 11/05/2025"])
    sheet.append([])
    sheet.append(list(HEADERS_2024))
    sheet.append(spot_row())
    sheet.append(spot_row(gross_rate=" $ -  "))
    path = tmp_path / "titled.xlsx"
    book.save(path)
    result = import_workbook(database, path, mode="historical", closed_by="x", today=TODAY)
    assert result.rows_read == 2 and result.rows_rejected == 0
    assert {r.row_number for r in result.rejects} == set()
    headerless = write_workbook(tmp_path / "nohead.xlsx",
                                {"Data": [spot_row(), spot_row(air_date="someday")]},
                                header=False)
    result = import_workbook(database, headerless, mode="historical", closed_by="x", today=TODAY)
    assert result.rows_inserted == 1
    assert [(r.row_number, r.reason) for r in result.rejects] == [(2, "unreadable date")]


def test_mixed_case_spelling_wins_for_display(tmp_path: Path, database: str) -> None:
    rows = [spot_row(bill_code="ACME AGENCY:ACME FOODS", sales_person="charmaine lane"),
            spot_row(bill_code="Acme Agency:Acme Foods", sales_person="Charmaine Lane")]
    path = write_workbook(tmp_path / "case.xlsx", {"Commercials": rows})
    import_workbook(database, path, mode="historical", closed_by="x", today=TODAY)
    assert [r["customer"] for r in _totals(database, "customer")] == ["Acme Foods"]
    assert [r["agency"] for r in _totals(database, "agency")] == ["Acme Agency"]
    assert [(r["ae"], r["spots"]) for r in _totals(database, "ae")] == [("Charmaine Lane", 2)]


def test_repeated_header_rows_are_ignored(tmp_path: Path, database: str) -> None:
    from bookedbiz.ingest.layout import HEADERS_2024

    rows = [spot_row(), list(HEADERS_2024), spot_row()]
    path = write_workbook(tmp_path / "concat.xlsx", {"Commercials": rows})
    result = import_workbook(database, path, mode="historical", closed_by="x", today=TODAY,
                             strict=True)
    assert result.rows_inserted == 2 and result.rows_read == 2 and not result.rejects
    assert "1 repeated header rows ignored" in result.warnings


def test_auto_setup_adds_unknown_markets(tmp_path: Path, database: str) -> None:
    path = write_workbook(tmp_path / "m.xlsx", {"Commercials": [
        spot_row(market="NEWMKT"), spot_row(market="NEWMKT"), spot_row(market="OTHER")]})
    result = import_workbook(database, path, mode="historical", closed_by="x", today=TODAY,
                             auto_setup=True)
    assert result.created["markets"] == ["NEWMKT", "OTHER"]
    assert rows(database, "SELECT code, name, auto_created FROM markets WHERE code IN "
                "('NEWMKT', 'OTHER') ORDER BY code") == [("NEWMKT", "NEWMKT", True),
                                                         ("OTHER", "OTHER", True)]


def test_foreign_key_checks_are_off_only_for_the_import(database: str, workbooks,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: the import's own connection writes without per-row foreign-key checks, every
    other write connection (before, during another thread's import, after) keeps them."""
    from bookedbiz.ingest import transaction

    seen: list[int] = []
    real_run = transaction._run

    def spying_run(conn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if conn.dialect.name == "sqlite":
            seen.append(conn.exec_driver_sql("PRAGMA foreign_keys").scalar())
        return real_run(conn, *args, **kwargs)

    monkeypatch.setattr(transaction, "_run", spying_run)
    db = Database(database)
    try:
        result = import_workbook(db, workbooks["daily"], today=TODAY)
        assert result.success
        if db.is_sqlite:
            with db.writing() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert seen == [0]
        with pytest.raises(BookedBizError, match="(?i)foreign key"), db.writing() as conn:
            conn.execute(text("INSERT INTO month_closures (station_id, broadcast_month, "  # a
                              "closed_at, closed_by) VALUES (99, '2025-12', 'x', 'y')"))  # ghost
    finally:
        db.dispose()
