"""Merging customers and AE aliases: spots move, totals hold, later imports follow, audited."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from tests.core.handmade import spot_row, write_workbook

from bookedbiz.db.connection import create_db_engine
from bookedbiz.db.summary import refresh_summary
from bookedbiz.entities.stewardship import add_ae_alias, auto_created_customers, merge_customers
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.ingest.service import import_workbook
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.revenue import revenue_by, revenue_total


def _report(db: Path, by: str) -> dict:
    engine = create_db_engine(db, readonly=True)
    with engine.connect() as conn:
        rows = {r[by]: r for r in revenue_by(conn, by, ReportFilters())}
        total = revenue_total(conn, ReportFilters())
    engine.dispose()
    return {"rows": rows, "total": total}


def _summary_is_fresh(db: Path) -> None:
    conn = sqlite3.connect(db)
    query = "SELECT * FROM spot_summary ORDER BY 1, 2, 3, 4, 5, 6, 7, 8"
    before = conn.execute(query).fetchall()
    months = [m for (m,) in conn.execute("SELECT DISTINCT broadcast_month FROM spots")]
    refresh_summary(conn, months)
    rebuilt = conn.execute(query).fetchall()
    conn.rollback()
    conn.close()
    assert rebuilt == before


def test_merge_moves_spots_and_later_imports_follow(db_path: Path, tmp_path: Path) -> None:
    rows = [spot_row(bill_code="iGRAPHIX:Acme Foods"), spot_row(bill_code="iGraphix:Acme Food"),
            spot_row(bill_code="iGraphix:Acme Food", gross_rate=50.0)]
    path = write_workbook(tmp_path / "a.xlsx", {"Commercials": rows})
    import_workbook(db_path, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    before = _report(db_path, "customer")
    assert set(before["rows"]) == {"iGRAPHIX:Acme Foods", "iGraphix:Acme Food"}
    conn = sqlite3.connect(db_path)
    ids = dict(conn.execute("SELECT name, customer_id FROM customers"))
    detail = merge_customers(db_path, ids["iGRAPHIX:Acme Foods"], ids["iGraphix:Acme Food"],
                             "admin")
    assert detail["spots_moved"] == 2
    after = _report(db_path, "customer")
    assert list(after["rows"]) == ["iGRAPHIX:Acme Foods"]
    assert after["total"] == before["total"]
    _summary_is_fresh(db_path)
    audit = conn.execute("SELECT actor, action, detail FROM audit_log").fetchone()
    assert audit[:2] == ("admin", "merge_customers")
    assert json.loads(audit[2])["spots_moved"] == 2
    import_workbook(db_path, path, mode="historical", closed_by="x", today=date(2025, 5, 1))
    assert list(_report(db_path, "customer")["rows"]) == ["iGRAPHIX:Acme Foods"]
    with pytest.raises(BookedBizError, match="already merged"):
        merge_customers(db_path, ids["iGRAPHIX:Acme Foods"], ids["iGraphix:Acme Food"], "a")
    with pytest.raises(NotFoundError):
        merge_customers(db_path, 999, ids["iGraphix:Acme Food"], "a")
    engine = create_db_engine(db_path, readonly=True)
    with engine.connect() as read:
        listed = auto_created_customers(read)
    engine.dispose()
    assert [c["name"] for c in listed] == ["iGRAPHIX:Acme Foods"]


def test_ae_alias_repoints_spots(db_path: Path, tmp_path: Path) -> None:
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
