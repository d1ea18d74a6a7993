"""Money on the plain (template-built) cells and cards carries its ``$`` with the sign before
it, like the report tables: ``-$1,235``, never ``$-1,235`` or a bare ``1,235``."""

from __future__ import annotations

import re
import sqlite3
from decimal import ROUND_HALF_EVEN, Decimal

from flask.testing import FlaskClient
from tests.web.conftest import YEAR

PAGES = ["/months/", "/admin/agencies", "/admin/sectors", "/admin/stale", "/admin/stewardship",
         "/planning/budgets", "/reports/", "/reports/customers/", "/reports/customers/1",
         "/reports/changes", "/reports/pacing", "/planning/", "/scoreboard"]


def test_no_page_shows_a_sign_or_dash_after_the_dollar(admin_client: FlaskClient) -> None:
    for path in PAGES:
        response = admin_client.get(path, query_string={"year": YEAR})
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "$-" not in html and "$–" not in html, path


def test_months_page_shows_whole_dollars_with_the_sign(admin_client: FlaskClient,
                                                       db_copy) -> None:  # noqa: ANN001
    conn = sqlite3.connect(db_copy)
    try:
        month, micros = conn.execute(
            "SELECT broadcast_month, SUM(gross_micros) FROM spot_summary "
            "WHERE broadcast_month LIKE ? GROUP BY broadcast_month ORDER BY 1 LIMIT 1",
            (f"{YEAR}-%",)).fetchone()
    finally:
        conn.close()
    cents = (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    whole = cents.quantize(Decimal(1), ROUND_HALF_EVEN)
    html = admin_client.get("/months/", query_string={"year": YEAR}).get_data(as_text=True)
    assert re.search(rf'<td class="num">\${whole:,.0f}</td>', html), (month, whole)
    try:
        html = admin_client.get("/months/", query_string={"year": YEAR, "cents": "1"})
        assert f'<td class="num">${cents:,.2f}</td>' in html.get_data(as_text=True)
    finally:
        admin_client.get("/months/", query_string={"cents": "0"})
