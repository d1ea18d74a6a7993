"""The totals row of a share table: 100% of a positive total, blank when the total is zero or
negative (a share of a net loss reads as nonsense), like the rows above it."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

from flask.testing import FlaskClient
from tests.web.conftest import YEAR, login, make_app

from bookedbiz.db.summary import refresh_summary


def _export(client: FlaskClient, path: str, query: dict, table: str) -> list[dict]:
    response = client.get(path, query_string=dict(query, format="csv", table=table))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _make_negative(db: Path, where: str, params: tuple) -> None:
    """Turn the matching spots of YEAR into credits (negative gross and net)."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            months = [m for (m,) in conn.execute(
                f"SELECT DISTINCT broadcast_month FROM spots WHERE {where}"  # noqa: S608
                " AND broadcast_month LIKE ?", (*params, f"{YEAR}-%"))]
            conn.execute(
                "UPDATE spots SET gross_rate_micros = -ABS(gross_rate_micros) - 1000000,"
                " station_net_micros = -ABS(station_net_micros) - 1000000"
                f" WHERE {where} AND broadcast_month LIKE ?",  # noqa: S608 - fixed text
                (*params, f"{YEAR}-%"))
            refresh_summary(conn, months)
    finally:
        conn.close()


def _viewer(db: Path) -> FlaskClient:
    client = make_app(db).test_client()
    assert login(client, "viewer").status_code == 302
    return client


def _share(rows: list[dict]) -> dict[str, str]:
    key = next(k for k in rows[0] if k.startswith("Share"))
    first = next(iter(rows[0]))
    return {r[first]: r[key] for r in rows}


def _customer_in_year(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT customer_id FROM spot_summary WHERE broadcast_month LIKE ? "
            "GROUP BY customer_id ORDER BY SUM(gross_micros) DESC LIMIT 1", (f"{YEAR}-%",)
        ).fetchone()[0]
    finally:
        conn.close()


def test_breakdown_total_share_is_blank_when_the_total_is_negative(db_copy: Path) -> None:
    query = {"year": YEAR, "market": "SEA"}
    before = _export(_viewer(db_copy), "/reports/breakdowns/language", query, "by-language")
    assert _share(before)["Total"] == "100.0"
    _make_negative(db_copy, "market_code = ?", ("SEA",))
    rows = _export(_viewer(db_copy), "/reports/breakdowns/language", query, "by-language")
    assert rows[-1]["Gross"].startswith("-")
    assert set(_share(rows).values()) == {""}  # the rows and the totals row alike


def test_customer_total_share_is_blank_when_the_total_is_negative(db_copy: Path) -> None:
    customer = _customer_in_year(db_copy)
    path = f"/reports/customers/{customer}"
    before = _export(_viewer(db_copy), path, {"year": YEAR}, "by-market")
    assert _share(before)["Total"] == "100.0"
    _make_negative(db_copy, "customer_id = ?", (customer,))
    rows = _export(_viewer(db_copy), path, {"year": YEAR}, "by-market")
    assert rows[-1]["Gross"].startswith("-")
    assert set(_share(rows).values()) == {""}
