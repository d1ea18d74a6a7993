"""The fast paths behind the pages give the same answers as the plain queries they replace.

Filter options use a loose index scan when ``spot_summary`` has indexes leading on ae_id,
market_code and revenue_type, and one pass otherwise; the months page reads one year; the year
list jumps along the month index; table rows are rendered in Python. Each is checked against a
straightforward query on the same demo database.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from flask import Flask
from markupsafe import Markup

from bookedbiz import months as month_service
from bookedbiz.db.connection import connect, create_db_engine
from bookedbiz.reports import revenue
from bookedbiz.reports.filters import ReportFilters
from bookedbiz.reports.month_events import months_with_totals
from bookedbiz.reports.pages import ae_summary, year_span
from bookedbiz.reports.tables import Column
from bookedbiz.web.table_html import rows_html


def plain_options(conn: sqlite3.Connection, year: int | None) -> dict[str, list[str]]:
    where, params = ReportFilters(year=year).where()

    def values(sql: str) -> list[str]:
        return [r[0] for r in conn.execute(sql.format(where=where), params)]

    return {
        "aes": values("SELECT DISTINCT a.name FROM spot_summary ss JOIN aes a "
                      "ON a.ae_id = ss.ae_id WHERE {where} ORDER BY 1"),
        "markets": values("SELECT DISTINCT market_code FROM spot_summary ss WHERE {where} "
                          "AND market_code != '' ORDER BY 1"),
        "revenue_types": values("SELECT DISTINCT revenue_type FROM spot_summary ss "
                                "WHERE {where} AND revenue_type != '' ORDER BY 1"),
    }


def test_filter_options_match_plain_distinct(base_db: Path) -> None:
    path = base_db
    raw = connect(path, readonly=True)
    engine = create_db_engine(path, readonly=True)
    try:
        with engine.connect() as conn:
            years = revenue.available_years(conn)
            assert len(years) >= 2
            for year in [*years, None, 1999]:
                expected = plain_options(raw, year)
                assert revenue.filter_options(conn, year) == expected, year
            assert revenue.filter_options(conn, years[-1])["aes"]
            assert revenue.filter_options(conn, 1999) == {
                "aes": [], "markets": [], "revenue_types": []}
    finally:
        raw.close()
        engine.dispose()


def test_years_and_months_match_full_scans(base_db: Path) -> None:
    raw = connect(base_db, readonly=True)
    engine = create_db_engine(base_db, readonly=True)
    try:
        distinct = [int(r[0]) for r in raw.execute(
            "SELECT DISTINCT substr(broadcast_month, 1, 4) FROM spot_summary ORDER BY 1")]
        with engine.connect() as conn:
            every = month_service.list_months(conn)
            assert revenue.available_years(conn) == distinct
            assert year_span(conn) == list(range(distinct[0], distinct[-1] + 1))
            assert months_with_totals(conn) == every
            for year in distinct:
                assert months_with_totals(conn, year) == [
                    m for m in every if m["month"].startswith(f"{year}-")]
            assert months_with_totals(conn, 1999) == []
    finally:
        raw.close()
        engine.dispose()


def test_ae_summary_counts_distinct_customers(base_db: Path) -> None:
    raw = connect(base_db, readonly=True)
    engine = create_db_engine(base_db, readonly=True)
    try:
        year = int(raw.execute("SELECT MAX(substr(broadcast_month, 1, 4)) "
                               "FROM spot_summary").fetchone()[0])
        expected = dict(raw.execute(
            "SELECT ae_id, COUNT(DISTINCT customer_id) FROM spot_summary "
            "WHERE broadcast_month BETWEEN ? AND ? GROUP BY ae_id",
            (f"{year}-01", f"{year}-12")).fetchall())
        with engine.connect() as conn:
            rows = ae_summary(conn, ReportFilters(year=year))
        assert expected
        assert {r["ae_id"]: r["customers"] for r in rows if r["customers"]} == expected
    finally:
        raw.close()
        engine.dispose()


def test_rows_html_escapes_and_marks_negatives() -> None:
    columns = [Column("customer", "Customer"), Column("new", "New"),
               Column("total", "Total", "money"), Column("spots", "Spots", "int")]
    rows = [
        {"customer": "<script>alert(1)</script>", "new": "NEW", "total": Decimal("-12.50"),
         "spots": 3, "_class": 'x" onmouseover="y',
         "_links": {"customer": '/c/1?a=1&b="2"'}},
        {"customer": "Plain", "new": "", "total": Decimal("0"), "spots": None},
    ]
    html = rows_html(rows, columns)
    assert isinstance(html, Markup)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="x&#34; onmouseover=&#34;y"' in html
    assert 'href="/c/1?a=1&amp;b=&#34;2&#34;"' in html
    # whole dollars on screen (half-even: -12.50 -> -12), the exact cents in data-value
    assert '<td class="num neg" data-value="-12.50">-$12</td>' in html
    assert '<span class="badge badge-new">NEW</span>' in html
    assert '<td class="num" data-value="0">–</td>' in html
    assert '<td class="num" data-value="">–</td>' in html
    assert html.count("<tr ") == 2
    with Flask(__name__).test_request_context("/?cents=1"):
        with_cents = rows_html(rows, columns)
    assert '<td class="num neg" data-value="-12.50">-$12.50</td>' in with_cents
