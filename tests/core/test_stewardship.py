"""Stewardship: merges (customers and agencies) and their undo, agency renames, AE aliases, stale
customers, sectors and revenue classes, likely duplicates, and bad input that changes nothing."""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.core import dbstate
from tests.core.conftest import data_checksum, every_table
from tests.core.handmade import spot_row, write_workbook

from bookedbiz.db.access import Database
from bookedbiz.db.summary import refresh_summary
from bookedbiz.entities import sectors as sector_admin
from bookedbiz.entities.duplicates import likely_duplicates, match_key
from bookedbiz.entities.stewardship import (
    add_ae_alias,
    merge_agencies,
    merge_customers,
    parse_months,
    rename_agency,
    set_customers_active,
    undo_merge,
)
from bookedbiz.errors import BookedBizError, ConfigError, NotFoundError
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports import stewardship as steward_report
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.revenue import revenue_by, revenue_total


def _report(db: Path | str, by: str, filters: ReportFilters | None = None) -> dict:
    key = by.replace("-", "_")
    return _read(db, lambda conn: {
        "rows": {r[key]: r for r in revenue_by(conn, by, filters or ReportFilters())},
        "total": revenue_total(conn, filters or ReportFilters())})


def _read(db: Path | str, function, *args, **kwargs):  # noqa: ANN001, ANN202
    database = Database(db)
    try:
        with database.reading() as conn:
            return function(conn, *args, **kwargs)
    finally:
        database.dispose()


class _Rollback(Exception):  # noqa: N818 - control flow: leave the write transaction undone
    pass


def _summary_is_fresh(db: Path | str) -> None:
    """Rebuilding the whole summary from the spots (then rolled back) changes no row."""
    database = Database(db)
    query = text("SELECT * FROM spot_summary")
    try:
        with database.writing() as conn:
            before = sorted((tuple(r) for r in conn.execute(query)), key=repr)
            months = list(conn.execute(text("SELECT DISTINCT broadcast_month FROM spots"))
                          .scalars())
            refresh_summary(conn, months)
            rebuilt = sorted((tuple(r) for r in conn.execute(query)), key=repr)
            raise _Rollback
    except _Rollback:
        pass
    finally:
        database.dispose()
    assert rebuilt == before


def _ids(db: Path | str, table: str, id_column: str) -> dict[str, int]:
    return {name: int(i) for name, i in dbstate.rows(db, f"SELECT name, {id_column} FROM {table}")}


@pytest.fixture()
def two_acmes(database: str, tmp_path: Path) -> str:
    """Acme Foods through an agency and direct, its duplicate 'Acme Food', other business."""
    rows = [
        spot_row(bill_code="iGraphix:ACME FOODS"),
        spot_row(bill_code="Acme Foods", gross_rate=40.0, station_net=40.0),
        spot_row(bill_code="iGraphix:Acme Food", air_date=date(2025, 3, 31),
                 broadcast_month=date(2025, 4, 1)),
        spot_row(bill_code="iGraphix Media:Acme Food", gross_rate=50.0,
                 billing_type="Calendar"),
        spot_row(bill_code="Zeta Agency:Bolt Motors", gross_rate=310.0, language_code="L"),
        spot_row(bill_code="Zeta Agency:Bolt Motors", gross_rate=5.0, revenue_type="Trade"),
    ]
    path = write_workbook(tmp_path / "a.xlsx", {"Commercials": rows})
    import_workbook(database, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    return database


def test_customer_merge_then_undo_restores_every_row(two_acmes: str) -> None:
    db = two_acmes
    before_tables = every_table(db)
    before = _report(db, "customer")
    assert {"Acme Foods", "Acme Food"} <= set(before["rows"])
    ids = _ids(db, "customers", "customer_id")
    preview = _read(db, steward_report.merge_preview, "customer", ids["Acme Foods"],
                    ids["Acme Food"])
    assert preview["problem"] is None
    assert preview["spots"] == 2 and str(preview["gross"]) == "150.00"
    assert set(preview["related"]) == {"iGraphix", "iGraphix Media"}
    detail = merge_customers(db, ids["Acme Foods"], ids["Acme Food"], "admin")
    assert detail["spots_moved"] == 2
    after = _report(db, "customer")
    assert "Acme Food" not in after["rows"]
    assert after["total"] == before["total"]
    assert after["rows"]["Acme Foods"]["gross"] == (before["rows"]["Acme Foods"]["gross"]
                                                    + before["rows"]["Acme Food"]["gross"])
    _summary_is_fresh(db)
    assert dbstate.scalar(db, "SELECT COUNT(*) FROM booking_history WHERE customer_id = :c",
                  c=ids["Acme Food"]) == 0
    history = _read(db, steward_report.merge_history)
    assert history[0]["audit_id"] == detail["audit_id"] and not history[0]["undone"]
    with pytest.raises(BookedBizError, match="already merged"):
        merge_customers(db, ids["Acme Foods"], ids["Acme Food"], "a")

    undo_merge(db, int(detail["audit_id"]), "admin")
    assert every_table(db) == before_tables
    assert _read(db, steward_report.merge_history)[0]["undone"]
    with pytest.raises(BookedBizError, match="already undone"):
        undo_merge(db, int(detail["audit_id"]), "admin")


def test_later_imports_land_on_the_survivor(two_acmes: str, tmp_path: Path) -> None:
    ids = _ids(two_acmes, "customers", "customer_id")
    merge_customers(two_acmes, ids["Acme Foods"], ids["Acme Food"], "admin")
    rows = [spot_row(bill_code="Other Agency:ACME FOOD", gross_rate=7.0)]
    path = write_workbook(tmp_path / "b.xlsx", {"Commercials": rows})
    import_workbook(two_acmes, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    assert "Acme Food" not in _report(two_acmes, "customer")["rows"]
    _summary_is_fresh(two_acmes)


def test_merge_refusals_change_nothing(two_acmes: str) -> None:
    db = two_acmes
    ids = _ids(db, "customers", "customer_id")
    merge_customers(db, ids["Acme Foods"], ids["Acme Food"], "admin")
    checksum = data_checksum(db)
    tables = every_table(db)
    with pytest.raises(BookedBizError, match="into itself"):
        merge_customers(db, ids["Bolt Motors"], ids["Bolt Motors"], "a")
    with pytest.raises(BookedBizError, match="was itself merged"):
        merge_customers(db, ids["Acme Food"], ids["Bolt Motors"], "a")
    with pytest.raises(NotFoundError):
        merge_customers(db, 9999, ids["Bolt Motors"], "a")
    with pytest.raises(NotFoundError):
        undo_merge(db, 9999, "a")
    with pytest.raises(NotFoundError, match="no sector"):
        sector_admin.assign_sector(db, [ids["Bolt Motors"]], "Underwater Basket Weaving", "a")
    with pytest.raises(ConfigError, match="regular, irregular or political"):
        sector_admin.set_revenue_class(db, [ids["Bolt Motors"]], "sometimes", "a")
    with pytest.raises(NotFoundError):
        sector_admin.set_revenue_class(db, [ids["Bolt Motors"], 9999], "political", "a")
    with pytest.raises(ConfigError, match="whole number of months"):
        parse_months("six")
    with pytest.raises(ConfigError, match="whole number of months"):
        parse_months("-3")
    with pytest.raises(ConfigError, match="revenue class"):
        ReportFilters(revenue_class="sometimes")
    with pytest.raises(ConfigError, match="month basis"):
        ReportFilters.from_mapping({"basis": "lunar"})
    assert data_checksum(db) == checksum
    assert every_table(db) == tables


def test_agency_merge_undo_and_rename(two_acmes: str) -> None:
    db = two_acmes
    before_tables = every_table(db)
    before = _report(db, "agency")
    agencies = _ids(db, "agencies", "agency_id")
    detail = merge_agencies(db, agencies["iGraphix"], agencies["iGraphix Media"], "admin")
    after = _report(db, "agency")
    assert "iGraphix Media" not in after["rows"]
    assert after["rows"]["iGraphix"]["gross"] == (before["rows"]["iGraphix"]["gross"]
                                                  + before["rows"]["iGraphix Media"]["gross"])
    assert after["total"] == before["total"]
    _summary_is_fresh(db)
    listed = {a["name"] for a in _read(db, steward_report.agencies)}
    assert "iGraphix Media" not in listed and "iGraphix" in listed
    undo_merge(db, int(detail["audit_id"]), "admin")
    assert every_table(db) == before_tables
    rename_agency(db, agencies["Zeta Agency"], "Zeta Media Group", "admin")
    assert "Zeta Media Group" in _report(db, "agency")["rows"]
    checksum = data_checksum(db)
    with pytest.raises(BookedBizError, match="merge the two"):
        rename_agency(db, agencies["iGraphix"], "zeta media group", "admin")
    assert data_checksum(db) == checksum


def test_ae_alias_repoints_spots(database: str, tmp_path: Path) -> None:
    db_path = database
    rows = [spot_row(sales_person="Riley Van Patten"), spot_row(sales_person="R. Van Patten")]
    path = write_workbook(tmp_path / "b.xlsx", {"Commercials": rows})
    import_workbook(db_path, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    assert set(_report(db_path, "ae")["rows"]) == {"Riley Van Patten", "R. Van Patten"}
    detail = add_ae_alias(db_path, "r. van  patten", "riley van patten", "admin")
    assert detail["spots_moved"] == 1
    assert set(_report(db_path, "ae")["rows"]) == {"Riley Van Patten"}
    _summary_is_fresh(db_path)
    import_workbook(db_path, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    assert _report(db_path, "ae")["rows"]["Riley Van Patten"]["spots"] == 2
    with pytest.raises(NotFoundError):
        add_ae_alias(db_path, "x", "Nobody", "admin")


def test_likely_duplicates_match_normalized_names() -> None:
    assert match_key("The ACME Foods, Inc.") == "acme foods"
    names = {1: "Acme Foods", 2: "ACME FOODS INC.", 3: "Foods Acme", 4: "Bolt Motors",
             5: "Acme Food"}
    found = likely_duplicates(names, [1, 4])
    assert {other for other, _ in found[1]} == {2, 3, 5}
    assert found[1][0][1] == 100.0
    assert found[4] == []


def test_auto_created_customers_by_revenue_with_duplicates(two_acmes: str) -> None:
    listed = _read(two_acmes, steward_report.auto_created_customers)
    assert [c["name"] for c in listed] == ["Bolt Motors", "Acme Food", "Acme Foods"]
    assert [d["name"] for d in listed[1]["duplicates"]] == ["Acme Foods"]
    assert listed[0]["duplicates"] == []


def test_stale_customers_and_bulk_deactivation(two_acmes: str) -> None:
    db = two_acmes
    stale = _read(db, steward_report.stale_customers, 6, date(2026, 1, 15))
    assert {c["name"] for c in stale["customers"]} == {"Acme Foods", "Acme Food", "Bolt Motors"}
    assert _read(db, steward_report.stale_customers, 12, date(2026, 1, 15))["customers"] == []
    ids = [c["customer_id"] for c in stale["customers"]]
    checksum = data_checksum(db)
    dry = set_customers_active(db, ids, False, "no business since 2025", "admin", dry_run=True)
    assert len(dry["customers"]) == 3 and data_checksum(db) == checksum
    with pytest.raises(ConfigError, match="reason"):
        set_customers_active(db, ids, False, "  ", "admin")
    assert data_checksum(db) == checksum
    done = set_customers_active(db, ids, False, "no business since 2025", "admin")
    assert len(done["customers"]) == 3
    assert _read(db, steward_report.stale_customers, 6, date(2026, 1, 15))["customers"] == []
    assert dbstate.scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'deactivate_customers'"
                  ) == 1


def test_sectors_and_classes_filter_every_report(two_acmes: str) -> None:
    db = two_acmes
    ids = _ids(db, "customers", "customer_id")
    names = {s["name"] for s in _read(db, steward_report.sectors)}
    assert {"Automotive", "Restaurants/QSR", "Political", "Other"} <= names
    sector_admin.assign_sector(db, [ids["Acme Foods"], ids["Acme Food"]], "restaurants/qsr",
                               "admin")
    sector_admin.assign_sector(db, [ids["Bolt Motors"]], "Automotive", "admin")
    sector_admin.set_revenue_class(db, [ids["Bolt Motors"]], "Political", "admin")
    total = _report(db, "customer")["total"]
    food = _report(db, "customer", ReportFilters(sector="Restaurants/QSR"))
    cars = _report(db, "customer", ReportFilters(sector="automotive"))
    assert set(food["rows"]) == {"Acme Foods", "Acme Food"}
    assert food["total"]["gross"] + cars["total"]["gross"] == total["gross"]
    political = _report(db, "customer", ReportFilters(revenue_class="political"))
    assert set(political["rows"]) == {"Bolt Motors"}
    assert _report(db, "customer", ReportFilters(sector="(none)"))["rows"] == {}
    listed = {s["name"]: s for s in _read(db, steward_report.sectors)}
    assert listed["Automotive"]["customers"] == 1
    assert str(listed["Automotive"]["gross"]) == "310.00"
    sector_admin.add_sector(db, "Cannabis", "admin")
    with pytest.raises(BookedBizError, match="already a sector"):
        sector_admin.add_sector(db, "cannabis", "admin")


def test_month_basis_moves_spots_between_months(two_acmes: str) -> None:
    """The 2025-03-31 spot is broadcast April (Month column) but calendar March; the Calendar
    billed spot counts in its calendar month under the billing basis."""
    by_basis = {b: _report(two_acmes, "month", ReportFilters(basis=b))
                for b in ("broadcast", "calendar", "billing")}
    broadcast, calendar = by_basis["broadcast"]["rows"], by_basis["calendar"]["rows"]
    assert str(broadcast["2025-04"]["gross"]) == "100.00"
    assert "2025-04" not in calendar
    assert {b: r["total"] for b, r in by_basis.items()} == {
        b: by_basis["broadcast"]["total"] for b in by_basis}
    year = {b: _report(two_acmes, "month", ReportFilters(year=2025, basis=b))["total"]
            for b in by_basis}
    assert year["broadcast"] == year["calendar"] == year["billing"]
    assert _report(two_acmes, "month", ReportFilters(year=2024, basis="calendar"))["rows"] == {}


def test_language_review_list(two_acmes: str) -> None:
    review = _read(two_acmes, steward_report.language_review, ReportFilters())
    assert review["total"] == 1
    assert review["rows"][0]["bill_code"] == "Zeta Agency:Bolt Motors"
    assert review["rows"][0]["language_code"] == "L"


def _back_to_0006(db: Path) -> None:
    """Undo revision 0007's schema on a database with data: the customers table without sector
    and class, the summary without its calendar columns, no sectors table."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'customers'").fetchone()[0]
    kept = [line for line in ddl.splitlines()
            if "sector_id" not in line and "revenue_class" not in line]
    old_ddl = re.sub(r",\s*\)\s*$", "\n)", "\n".join(kept)).replace(
        "CREATE TABLE customers", "CREATE TABLE customers_old")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(customers)")
               if r[1] not in ("sector_id", "revenue_class")]
    conn.execute(old_ddl)
    conn.execute(f"INSERT INTO customers_old SELECT {', '.join(columns)} FROM customers")
    conn.execute("DROP TABLE customers")
    conn.execute("ALTER TABLE customers_old RENAME TO customers")
    conn.execute("DROP INDEX ix_spot_summary_calendar")
    conn.execute("ALTER TABLE spot_summary DROP COLUMN calendar_month")
    conn.execute("ALTER TABLE spot_summary DROP COLUMN bills_calendar")
    conn.execute("DROP TABLE sectors")
    conn.execute("UPDATE alembic_version SET version_num = '0006'")
    conn.execute("COMMIT")
    conn.close()


def test_migration_0007_keeps_every_total(db_path: Path, workbooks) -> None:  # noqa: ANN001
    from bookedbiz.db.migrate import current_version, head_version, init_database

    import_workbook(db_path, workbooks["recap"], mode="historical", closed_by="x",
                    today=date(2025, 5, 1))
    groupings = ("month", "ae", "market", "revenue-type", "customer", "agency")
    before = {by: _report(db_path, by) for by in groupings}
    _back_to_0006(db_path)
    assert "calendar_month" not in {r[1] for r in sqlite3.connect(db_path).execute(
        "PRAGMA table_info(spot_summary)")}
    result = init_database(db_path)
    assert result.snapshot is not None and result.snapshot.exists()
    assert current_version(db_path) == head_version()
    after = {by: _report(db_path, by) for by in groupings}
    assert after == before
    _summary_is_fresh(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM spot_summary WHERE calendar_month = ''"
                        ).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM sectors").fetchone()[0] >= 16
    assert conn.execute("SELECT DISTINCT revenue_class FROM customers").fetchall() == [
        ("regular",)]
    conn.close()
    calendar = _report(db_path, "month", ReportFilters(basis="calendar"))
    assert calendar["total"] == before["month"]["total"]
    init_database(db_path)  # idempotent: a second run changes nothing
    assert {by: _report(db_path, by) for by in groupings} == before


def test_customers_cli_merge_undo_and_bad_input(two_acmes: str, runner) -> None:  # noqa: ANN001
    from bookedbiz.cli.main import cli

    db = str(two_acmes)
    ids = _ids(two_acmes, "customers", "customer_id")
    before = every_table(two_acmes)
    shown = runner.invoke(cli, ["customers", "duplicates", "--db", db])
    assert shown.exit_code == 0 and "Acme Foods" in shown.output
    merged = runner.invoke(cli, ["customers", "merge", str(ids["Acme Foods"]),
                                 str(ids["Acme Food"]), "--by", "tester", "--db", db])
    assert merged.exit_code == 0, merged.output
    audit_id = merged.output.rsplit("audit entry ", 1)[1].split(")")[0]
    undone = runner.invoke(cli, ["customers", "undo", audit_id, "--db", db])
    assert undone.exit_code == 0, undone.output
    assert every_table(two_acmes) == before
    checksum = data_checksum(two_acmes)
    for args, sentence in (
            (["merge", str(ids["Bolt Motors"]), str(ids["Bolt Motors"])], "into itself"),
            (["sector", "Nowhere", str(ids["Bolt Motors"])], "no sector named"),
            (["class", "sometimes", str(ids["Bolt Motors"])], "regular, irregular"),
            (["stale", "--months", "soon"], "whole number of months")):
        result = runner.invoke(cli, ["customers", *args, "--db", db])
        assert result.exit_code != 0 and sentence in result.output, (args, result.output)
    dry = runner.invoke(cli, ["customers", "deactivate", str(ids["Bolt Motors"]), "--reason",
                              "test", "--db", db])
    assert dry.exit_code == 0 and "Dry run" in dry.output
    assert data_checksum(two_acmes) == checksum
    calendar = runner.invoke(cli, ["report", "revenue", "--by", "month", "--basis", "calendar",
                                   "--format", "json", "--db", db])
    assert calendar.exit_code == 0, calendar.output
    assert "2025-04" not in calendar.output


def test_undo_after_a_reimport_says_what_stays(two_acmes: str, tmp_path: Path) -> None:
    """Spots re-imported after a merge are new rows: undo reports them, and the next import of
    their month (the alias gone) puts them back on the duplicate."""
    ids = _ids(two_acmes, "customers", "customer_id")
    detail = merge_customers(two_acmes, ids["Acme Foods"], ids["Acme Food"], "admin")
    rows = [spot_row(bill_code="iGraphix:Acme Food", air_date=date(2025, 3, 31),
                     broadcast_month=date(2025, 4, 1))]
    april = write_workbook(tmp_path / "april.xlsx", {"Commercials": rows})
    import_workbook(two_acmes, april, mode="historical", closed_by="x", today=date(2025, 5, 1))
    assert "Acme Food" not in _report(two_acmes, "customer")["rows"]
    result = undo_merge(two_acmes, int(detail["audit_id"]), "admin")
    assert result["rows_gone"] >= 1 and result["rows_restored"] >= 1
    import_workbook(two_acmes, april, mode="historical", closed_by="x", today=date(2025, 5, 1))
    after = _report(two_acmes, "customer")["rows"]
    assert str(after["Acme Food"]["gross"]) == "150.00"
    _summary_is_fresh(two_acmes)


def test_every_table_with_a_customer_or_agency_is_merged() -> None:
    """A table added later with customer_id or agency_id must be re-pointed by a merge (or be
    one the merge handles itself: the records, their aliases, the rebuilt summary)."""
    from bookedbiz.db.schema import metadata
    from bookedbiz.entities.stewardship import AGENCY, CUSTOMER

    handled = {"customer_id": set(CUSTOMER.repointed) | {"customers", "customer_aliases",
                                                          "spot_summary"},
               "agency_id": set(AGENCY.repointed) | {"agencies", "agency_aliases",
                                                      "spot_summary"}}
    for table in metadata.tables.values():
        for column, tables in handled.items():
            if column in table.columns:
                assert table.name in tables, (table.name, column)


def test_later_imports_follow_agency_merges_and_renames(two_acmes: str, tmp_path: Path) -> None:
    agencies = _ids(two_acmes, "agencies", "agency_id")
    merge_agencies(two_acmes, agencies["iGraphix"], agencies["iGraphix Media"], "admin")
    rename_agency(two_acmes, agencies["Zeta Agency"], "Zeta Media Group", "admin")
    rows = [spot_row(bill_code="IGRAPHIX MEDIA:Acme Foods", gross_rate=11.0),
            spot_row(bill_code="zeta agency:Bolt Motors", gross_rate=13.0)]
    path = write_workbook(tmp_path / "later.xlsx", {"Commercials": rows})
    import_workbook(two_acmes, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    after = _report(two_acmes, "agency")["rows"]
    assert set(after) == {"iGraphix", "Zeta Media Group"}
    assert _ids(two_acmes, "agencies", "agency_id").keys() == agencies.keys() - {
        "Zeta Agency"} | {"Zeta Media Group"}
