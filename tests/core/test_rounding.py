"""SPEC §1.2 *Rounding*: a figure is the exact sum of its spots rounded half-even to the cent,
identical on every page, export, API call and the CLI; totals are rounded from exact values too.

The demo database's amounts are nudged by fractions of a cent (half a cent on many spots) so
that rounding each row first and then adding would visibly disagree with the exact totals.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from tests.web.conftest import login, make_app, page_csv

from bookedbiz import broadcast_calendar as bc
from bookedbiz import users
from bookedbiz.cli.main import cli
from bookedbiz.db.summary import refresh_summary
from bookedbiz.money import dollars, micros_to_dollars, pct_change, share
from bookedbiz.synth.demo import build_demo_database

YEAR = 2026


def exact(micros: int) -> Decimal:
    """Independent half-even rounding of micro-dollars (not the code under test)."""
    return (Decimal(micros) / Decimal(1_000_000)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


@pytest.fixture(scope="module")
def fractional_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rounding") / "bookedbiz.db"
    build_demo_database(path, years=2, seed=7, rows_per_month=120, today=date(2026, 6, 15))
    conn = sqlite3.connect(path)
    with conn:
        # half a cent on every other spot, a third of a cent on the rest: sub-cent remainders
        conn.execute("UPDATE spots SET gross_rate_micros = gross_rate_micros + "
                     "CASE WHEN spot_id % 2 = 0 THEN 5000 ELSE 3333 END, "
                     "station_net_micros = station_net_micros + "
                     "CASE WHEN spot_id % 3 = 0 THEN 5000 ELSE 1667 END")
        months = [m for (m,) in conn.execute("SELECT DISTINCT broadcast_month FROM spots")]
        refresh_summary(conn, months)
    conn.close()
    users.create_user(path, "viewer", "pass-viewer-0123456789", "viewer")
    users.create_user(path, "manager", "pass-manager-0123456789", "manager")
    return path


@pytest.fixture(scope="module")
def client(fractional_db: Path):  # noqa: ANN201
    app = make_app(fractional_db)
    test_client = app.test_client()
    assert login(test_client, "manager", "pass-manager-0123456789").status_code == 302
    return test_client


@pytest.fixture(scope="module")
def token(fractional_db: Path) -> str:
    return users.create_token(fractional_db, "viewer", "rounding test")[1]


def spot_sums(db: Path, where: str = "1 = 1", params: tuple = ()) -> tuple[int, int]:
    """Exact (gross, net) micros of non-Trade spots, straight from the spots table."""
    conn = sqlite3.connect(db)
    try:
        gross, net = conn.execute(
            "SELECT COALESCE(SUM(gross_rate_micros), 0), COALESCE(SUM(station_net_micros), 0) "
            f"FROM spots WHERE is_trade = 0 AND {where}", params).fetchone()
    finally:
        conn.close()
    return int(gross), int(net)


def cli_json(db: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["report", "revenue", "--db", str(db), "--format", "json",
                                      *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def api(client, token: str, path: str, **query: object) -> dict:  # noqa: ANN001
    response = client.get(path, query_string=query,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def test_the_nudge_makes_rounding_matter(fractional_db: Path) -> None:
    """Guard: with these amounts, adding rounded months misses the exact year by cents."""
    months = bc.months_of_year(YEAR)
    rounded = sum((exact(spot_sums(fractional_db, "broadcast_month = ?", (m,))[0])
                   for m in months), Decimal(0))
    whole = exact(spot_sums(fractional_db, "broadcast_month BETWEEN ? AND ?",
                            (months[0], months[-1]))[0])
    assert rounded != whole


def test_a_month_shows_one_figure_everywhere(fractional_db, client, token) -> None:
    months = bc.months_of_year(YEAR)
    checked = 0
    overview = {r["Month"]: r for r in page_csv(client, "/reports/", {"year": YEAR}, "months")}
    aes_total = page_csv(client, "/reports/aes/", {"year": YEAR})[-1]
    customers_total = page_csv(client, "/reports/customers/", {"year": YEAR})[-1]
    api_months = {r["month"]: r for r in api(client, token, "/api/v1/revenue", by="month",
                                             year=YEAR)["data"]}
    api_overview = {r["month"]: r for r in api(client, token, "/api/v1/overview",
                                               year=YEAR)["data"]}
    cli_months = {r["month"]: r for r in cli_json(fractional_db, "--by", "month",
                                                  "--year", str(YEAR))}
    assert aes_total["AE"] == "All AEs" and customers_total["Customer"] == "Monthly totals"
    for month in months:
        gross, net = spot_sums(fractional_db, "broadcast_month = ?", (month,))
        if not gross:
            continue
        checked += 1
        want_gross, want_net = exact(gross), exact(net)
        label = bc.label(month)
        assert Decimal(overview[label]["Gross"]) == want_gross, month
        assert Decimal(overview[label]["Net"]) == want_net, month
        assert Decimal(aes_total[label]) == want_gross, month
        assert Decimal(customers_total[label]) == want_gross, month
        assert Decimal(str(api_months[month]["gross"])) == want_gross, month
        assert Decimal(str(api_months[month]["net"])) == want_net, month
        assert Decimal(str(api_overview[month]["gross"])) == want_gross, month
        assert Decimal(str(cli_months[month]["gross"])) == want_gross, month
        assert Decimal(str(cli_months[month]["net"])) == want_net, month
    assert checked >= 6


def test_a_year_and_its_quarters_are_exact_everywhere(fractional_db, client, token) -> None:
    months = bc.months_of_year(YEAR)
    gross, net = spot_sums(fractional_db, "broadcast_month BETWEEN ? AND ?",
                           (months[0], months[-1]))
    want_gross, want_net = exact(gross), exact(net)
    overview = page_csv(client, "/reports/", {"year": YEAR}, "months")[-1]
    assert overview["Month"] == "Year total"
    assert (Decimal(overview["Gross"]), Decimal(overview["Net"])) == (want_gross, want_net)
    quarters = page_csv(client, "/reports/", {"year": YEAR}, "quarters")
    for q, row in enumerate(quarters[:4]):
        chunk = months[q * 3: q * 3 + 3]
        q_gross, _ = spot_sums(fractional_db, "broadcast_month BETWEEN ? AND ?",
                               (chunk[0], chunk[-1]))
        assert Decimal(row["Gross"]) == exact(q_gross), row["Quarter"]
    assert Decimal(quarters[-1]["Gross"]) == want_gross
    assert Decimal(page_csv(client, "/reports/aes/", {"year": YEAR})[-1]["Total"]) == want_gross
    customers = page_csv(client, "/reports/customers/", {"year": YEAR, "measure": "net"})
    assert Decimal(customers[-1]["Total"]) == want_net
    for dimension in ("market", "language", "revenue-type", "agency", "spot-type"):
        total = page_csv(client, f"/reports/breakdowns/{dimension}", {"year": YEAR})[-1]
        assert (Decimal(total["Gross"]), Decimal(total["Net"])) == (want_gross, want_net), \
            dimension
    body = api(client, token, "/api/v1/revenue", by="market", year=YEAR)
    assert Decimal(str(body["total"]["gross"])) == want_gross
    assert Decimal(str(body["total"]["net"])) == want_net
    # last year's column of the overview is last year's exact total
    prior_months = bc.months_of_year(YEAR - 1)
    prior_gross, _ = spot_sums(fractional_db, "broadcast_month BETWEEN ? AND ?",
                               (prior_months[0], prior_months[-1]))
    assert Decimal(overview["Gross last year"]) == exact(prior_gross)
    # the change is against what the year is comparable with (open months: the same time last
    # year; closed months: last year's final; SPEC §1.4), computed from exact values
    if overview["Compared with"]:
        compared = Decimal(overview["Compared with"])
        assert abs(Decimal(overview["Change"]) - (want_gross - compared)) <= Decimal("0.01")
    else:  # the booking history does not reach back a year: no change is claimed
        assert overview["Change"] == ""


def test_a_customer_row_total_is_its_exact_sum(fractional_db, client) -> None:
    months = bc.months_of_year(YEAR)
    conn = sqlite3.connect(fractional_db)
    try:
        sums: dict[tuple[str, str], int] = defaultdict(int)
        for name, ae, amount in conn.execute(
            "SELECT c.name, a.name, COALESCE(SUM(s.gross_rate_micros), 0) FROM spots s "
            "JOIN customers c ON c.customer_id = s.customer_id JOIN aes a ON a.ae_id = s.ae_id "
            "WHERE s.is_trade = 0 AND s.broadcast_month BETWEEN ? AND ? GROUP BY 1, 2",
            (months[0], months[-1]),
        ):
            sums[(name, ae)] = int(amount)
    finally:
        conn.close()
    rows = page_csv(client, "/reports/customers/", {"year": YEAR})[:-1]
    differs = 0
    for row in rows:
        total = Decimal(row["Total"])
        assert total == exact(sums[(row["Customer"], row["AE"])]), row["Customer"]
        rounded_months = sum((Decimal(row[bc.label(m)] or "0") for m in months), Decimal(0))
        differs += rounded_months != total
    assert len(rows) == len(sums)
    assert differs, "some row's rounded months add up to a different figure than its total"


def test_customer_detail_year_total_is_exact(fractional_db, client) -> None:
    months = bc.months_of_year(YEAR)
    conn = sqlite3.connect(fractional_db)
    try:
        customer_id, amount = conn.execute(
            "SELECT customer_id, COALESCE(SUM(gross_rate_micros), 0) FROM spots WHERE is_trade = 0 "
            "AND broadcast_month BETWEEN ? AND ? GROUP BY customer_id ORDER BY 2 DESC LIMIT 1",
            (months[0], months[-1])).fetchone()
    finally:
        conn.close()
    history = page_csv(client, f"/reports/customers/{customer_id}", {"year": YEAR}, "history")
    assert Decimal(next(r for r in history if r["Year"] == str(YEAR))["Total"]) == exact(amount)
    by_market = page_csv(client, f"/reports/customers/{customer_id}", {"year": YEAR},
                         "by-market")
    assert by_market[-1]["Market"] == "Total"
    assert Decimal(by_market[-1]["Gross"]) == exact(amount)


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_dollars_round_half_even_to_the_cent(micros: int) -> None:
    assert micros_to_dollars(micros) == exact(micros) == dollars(micros)


def test_half_cents_go_to_the_even_cent() -> None:
    assert dollars(5_000) == Decimal("0.00")
    assert dollars(15_000) == Decimal("0.02")
    assert dollars(25_000) == Decimal("0.02")
    assert dollars(-15_000) == Decimal("-0.02")
    assert dollars(None) == Decimal("0.00")


def test_percentages() -> None:
    assert pct_change(110, 100) == Decimal("10.0")
    assert pct_change(5, 0) is None
    assert share(1, 3) == Decimal("33.3")
    assert share(1, 0) is None
