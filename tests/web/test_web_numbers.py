"""The numbers on every page equal the CLI's ``bookedbiz report revenue --json`` numbers for the
same filters (read from the pages' CSV exports, which are exactly what is on screen, and from
the HTML). Totals are the exact sum of the same spots rounded once (SPEC §1.2 *Rounding*), so
they are checked against an independent sum over the spots table, not against added rows."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from click.testing import CliRunner
from tests.web.conftest import YEAR

from bookedbiz.cli.main import cli

FILTER_SETS = [
    {"year": YEAR},
    {"year": YEAR, "measure": "net"},
    {"year": YEAR - 1, "market": "SEA"},
    {"year": YEAR, "revenue_type": "Internal Ad Sales"},
    {"year": YEAR, "ae": "charmaine lane"},
]


def cli_report(db, by: str, filters: dict) -> list[dict]:
    args = ["report", "revenue", "--db", str(db), "--by", by, "--format", "json"]
    for key, value in filters.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def page_csv(client, path: str, filters: dict, table: str | None = None) -> list[dict]:
    query = dict(filters, format="csv")
    if table:
        query["table"] = table
    response = client.get(path, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def exact_total(db, filters: dict, key: str | None = None) -> Decimal:  # noqa: ANN001
    """The exact sum of the matching non-Trade spots, rounded half-even once."""
    key = key or filters.get("measure", "gross")
    column = "station_net_micros" if key == "net" else "gross_rate_micros"
    year = filters["year"]
    sql = (f"SELECT COALESCE(SUM(s.{column}), 0) FROM spots s JOIN aes a ON a.ae_id = s.ae_id "
           "WHERE s.is_trade = 0 AND s.broadcast_month BETWEEN ? AND ?")
    params: list[object] = [f"{year}-01", f"{year}-12"]
    if "market" in filters:
        sql += " AND s.market_code = ?"
        params.append(filters["market"])
    if "revenue_type" in filters:
        sql += " AND lower(s.revenue_type) = lower(?)"
        params.append(filters["revenue_type"])
    if "ae" in filters:
        sql += " AND a.name_key = ?"
        params.append(" ".join(filters["ae"].split()).casefold())
    conn = sqlite3.connect(db)
    try:
        (micros,) = conn.execute(sql, params).fetchone()
    finally:
        conn.close()
    return (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def dec(value: str) -> Decimal:
    return Decimal(value or "0")


def label_of(month: str) -> str:
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{names[int(month[5:7]) - 1]}-{month[2:4]}"


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: "-".join(map(str, f.values())))
def test_overview_equals_cli_by_month(base_db, clients, filters) -> None:
    cli_rows = {r["month"]: r for r in cli_report(base_db, "month", filters)}
    assert cli_rows, "the test data has revenue for these filters"
    rows = page_csv(clients["viewer"], "/reports/", filters, "months")
    by_label = {r["Month"]: r for r in rows}
    for month, expected in cli_rows.items():
        shown = by_label[label_of(month)]
        assert dec(shown["Gross"]) == Decimal(str(expected["gross"]))
        assert dec(shown["Net"]) == Decimal(str(expected["net"]))
        assert int(shown["Spots"] or 0) == expected["spots"]
    year_total = by_label["Year total"]
    assert dec(year_total["Gross"]) == exact_total(base_db, filters, "gross")
    assert dec(year_total["Net"]) == exact_total(base_db, filters, "net")
    # last year's column is last year's exact total
    key = filters.get("measure", "gross")
    label = f"{key.title()} last year"
    assert dec(year_total[label]) == exact_total(base_db, dict(filters, year=filters["year"] - 1))


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: "-".join(map(str, f.values())))
def test_customers_page_equals_cli_by_customer(base_db, clients, filters) -> None:
    measure = filters.get("measure", "gross")
    expected = {r["customer"]: Decimal(str(r[measure])) for r in cli_report(base_db, "customer",
                                                                         filters)}
    rows = page_csv(clients["manager"], "/reports/customers/", filters)
    body, totals = rows[:-1], rows[-1]
    assert totals["Customer"] == "Monthly totals"
    per_customer: dict[str, Decimal] = defaultdict(Decimal)
    for row in body:
        per_customer[row["Customer"]] += dec(row["Total"])
    assert set(per_customer) == set(expected)
    for name, amount in expected.items():
        # a customer booked by two AEs is two rows, each rounded to the cent
        assert abs(per_customer[name] - amount) <= Decimal("0.01") * 3, name
    assert abs(dec(totals["Total"]) - sum(expected.values(), Decimal(0))) <= Decimal(
        "0.01") * len(expected)
    assert dec(totals["Total"]) == exact_total(base_db, filters)


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: "-".join(map(str, f.values())))
def test_aes_page_equals_cli_by_ae(base_db, clients, filters) -> None:
    measure = filters.get("measure", "gross")
    expected = {r["ae"]: Decimal(str(r[measure])) for r in cli_report(base_db, "ae", filters)}
    # a manager sees every AE (an "ae" user sees only their own book)
    rows = page_csv(clients["manager"], "/reports/aes/", filters)
    body, totals = rows[:-1], rows[-1]
    shown = {r["AE"]: dec(r["Total"]) for r in body}
    # AEs with business only last year are listed too (with 0 this year)
    assert {k: v for k, v in shown.items() if v or k in expected} == expected
    prior = {r["ae"]: Decimal(str(r[measure]))
             for r in cli_report(base_db, "ae", dict(filters, year=filters["year"] - 1))}
    for row in body:
        assert dec(row[str(filters["year"] - 1)]) == prior.get(row["AE"], Decimal("0"))
    assert dec(totals["Total"]) == exact_total(base_db, filters, measure)


BREAKDOWNS = {"market": "market", "language": "language", "revenue-type": "revenue_type",
              "agency": "agency", "spot-type": "spot_type"}


@pytest.mark.parametrize("dimension", list(BREAKDOWNS))
@pytest.mark.parametrize("filters", FILTER_SETS[:3], ids=lambda f: "-".join(map(str, f.values())))
def test_breakdowns_equal_cli(base_db, clients, dimension, filters) -> None:
    key = BREAKDOWNS[dimension]
    expected = cli_report(base_db, dimension, filters)
    rows = page_csv(clients["viewer"], f"/reports/breakdowns/{dimension}", filters)
    body, totals = rows[:-1], rows[-1]
    first = next(iter(body[0])) if body else None
    assert len(body) == len(expected)
    shown = {(r[first], dec(r["Gross"]), dec(r["Net"]), int(r["Spots"])) for r in body}
    wanted = {(str(r[key]), Decimal(str(r["gross"])), Decimal(str(r["net"])), r["spots"])
              for r in expected}
    assert shown == wanted
    assert dec(totals["Gross"]) == exact_total(base_db, filters, "gross")
    assert dec(totals["Net"]) == exact_total(base_db, filters, "net")


def test_html_shows_the_same_numbers_as_the_export(clients) -> None:
    html = clients["viewer"].get("/reports/", query_string={"year": YEAR}).get_data(as_text=True)
    rows = page_csv(clients["viewer"], "/reports/", {"year": YEAR}, "months")
    year_total = rows[-1]
    exact = dec(year_total["Gross"])
    # on screen: the export's exact cents rounded half-even to the dollar; the cell carries the
    # exact figure in data-value; with ?cents=1 the screen shows the exact cents
    whole = exact.quantize(Decimal(1), ROUND_HALF_EVEN)
    cell = rf'data-value="{re.escape(year_total["Gross"])}">\s*\${whole:,.0f}\s*<'
    assert re.search(cell, html), (year_total["Gross"], whole)
    client = clients["viewer"]  # shared: the cents cookie is switched back off below
    try:
        with_cents = client.get("/reports/", query_string={"year": YEAR, "cents": "1"})
        cents_cell = rf'data-value="{re.escape(year_total["Gross"])}">\s*\${exact:,.2f}\s*<'
        assert re.search(cents_cell, with_cents.get_data(as_text=True)), exact
    finally:
        without = client.get("/reports/", query_string={"year": YEAR, "cents": "0"})
    assert re.search(cell, without.get_data(as_text=True))

def test_customer_detail_matches_cli_for_that_customer(base_db, clients) -> None:
    expected = cli_report(base_db, "customer", {"year": YEAR})[0]
    rows = page_csv(clients["viewer"], "/reports/customers/", {"year": YEAR,
                                                                "sort": "total_desc"})
    html = clients["viewer"].get("/reports/customers/", query_string={
        "year": YEAR, "sort": "total_desc"}).get_data(as_text=True)
    link = re.search(r'href="(/reports/customers/\d+)[^"]*">' + re.escape(rows[0]["Customer"]),
                     html.replace("&amp;", "&"))
    assert link, "the biggest customer links to its detail page"
    detail = page_csv(clients["viewer"], link.group(1), {"year": YEAR}, "history")
    year_row = next(r for r in detail if r["Year"] == str(YEAR))
    assert rows[0]["Customer"] == expected["customer"]
    assert dec(year_row["Total"]) == Decimal(str(expected["gross"]))
