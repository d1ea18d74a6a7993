"""Stewardship through the web: merge by search with a preview, undo from the history, agencies,
sectors and classes (bulk), stale customers with a dry run, the language review list, and bad
input that changes nothing (every table compared, the audit trail aside)."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from flask.testing import FlaskClient
from tests.core import dbstate
from tests.core.conftest import every_table
from tests.web import both
from tests.web.conftest import YEAR, csrf_token

# Every test of this module runs on a SQLite copy and on PostgreSQL (tests/web/both.py).
db_copy = both.db_copy
admin_client = both.admin_client


def _one(db: Path | str, sql: str, *params: object):  # noqa: ANN202
    """The first row of ``sql`` (``?`` placeholders, in order), on either database."""
    parts = sql.split("?")
    named = "".join(f"{part}:p{i}" for i, part in enumerate(parts[:-1])) + parts[-1]
    found = dbstate.rows(db, named, **{f"p{i}": value for i, value in enumerate(params)})
    return found[0] if found else None


def _two_customers(db: Path | str) -> tuple[tuple[int, str], tuple[int, str]]:
    rows = dbstate.rows(
        db, "SELECT c.customer_id, c.name FROM customers c JOIN spots s ON s.customer_id = "
        "c.customer_id WHERE NOT s.is_trade AND s.broadcast_month LIKE :m "
        "GROUP BY c.customer_id, c.name ORDER BY COALESCE(SUM(s.gross_rate_micros), 0) "
        "DESC, c.customer_id "
        "LIMIT 2", m=f"{YEAR}-%")
    return rows[0], rows[1]


def money(micros: int) -> Decimal:
    """Micro-dollars to the cent, half-even, independently of the app's money module."""
    return (Decimal(micros) / Decimal(1_000_000)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def _post(client: FlaskClient, url: str, data: dict) -> str:
    response = client.post(url, data={**data, "csrf_token": csrf_token(client)},
                           follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return html.unescape(response.get_data(as_text=True))


def _csv(client: FlaskClient, path: str, query: dict) -> list[dict]:
    response = client.get(path, query_string=dict(query, format="csv"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_merge_by_search_preview_then_undo(admin_client: FlaskClient, db_copy: Path | str) -> None:
    (keep_id, keep_name), (dup_id, dup_name) = _two_customers(db_copy)
    page = admin_client.get("/admin/stewardship", query_string={
        "kind": "customer", "keep_q": keep_name[:6], "dup_q": dup_name}).get_data(as_text=True)
    assert f'name="keep" value="{keep_id}"' in page and f'name="dup" value="{dup_id}"' in page
    spots, gross = _one(db_copy, "SELECT COUNT(*), SUM(gross_rate_micros) FROM spots "
                                 "WHERE customer_id = ? AND NOT is_trade", dup_id)
    preview = admin_client.get("/admin/stewardship/preview", query_string={
        "kind": "customer", "keep": keep_id, "dup": dup_id}).get_data(as_text=True)
    assert f'data-moves="spots">{spots:,}<' in preview
    moved = money(gross)  # the preview shows exact cents with the sign before the $
    assert f'data-moves="gross">{"-" if moved < 0 else ""}${abs(moved):,}<' in preview
    before = every_table(db_copy)
    total_before = _csv(admin_client, "/reports/customers/", {"year": YEAR})[-1]["Total"]
    page = _post(admin_client, "/admin/stewardship/merge",
                 {"kind": "customer", "survivor_id": keep_id, "merged_id": dup_id})
    assert f"{spots} spots moved" in page
    assert _one(db_copy, "SELECT COUNT(*) FROM spots WHERE customer_id = ?", dup_id) == (0,)
    after_rows = _csv(admin_client, "/reports/customers/", {"year": YEAR})
    assert after_rows[-1]["Total"] == total_before
    assert dup_name not in {r["Customer"] for r in after_rows}
    audit_id = _one(db_copy, "SELECT MAX(audit_id) FROM audit_log "
                             "WHERE action = 'merge_customers'")[0]
    page = _post(admin_client, "/admin/stewardship/undo", {"audit_id": audit_id})
    assert "is undone" in page
    assert every_table(db_copy) == before
    page = _post(admin_client, "/admin/stewardship/undo", {"audit_id": audit_id})
    assert "already undone" in page
    assert every_table(db_copy) == before


def test_bad_input_changes_nothing(admin_client: FlaskClient, db_copy: Path | str) -> None:
    (keep_id, _), (dup_id, _) = _two_customers(db_copy)
    before = every_table(db_copy)
    page = _post(admin_client, "/admin/stewardship/merge",
                 {"survivor_id": keep_id, "merged_id": keep_id})
    assert "cannot be merged into itself" in page
    _post(admin_client, "/admin/stewardship/merge",
          {"survivor_id": keep_id, "merged_id": dup_id})
    merged = every_table(db_copy)
    page = _post(admin_client, "/admin/stewardship/merge",
                 {"survivor_id": dup_id, "merged_id": keep_id})
    assert "was itself merged into" in page and "Nothing was changed" in page
    page = _post(admin_client, "/admin/sectors/assign",
                 {"customer_id": [keep_id], "sector": "Underwater Basket Weaving"})
    assert "There is no sector named" in page
    page = _post(admin_client, "/admin/sectors/assign",
                 {"customer_id": [keep_id], "revenue_class": "sometimes"})
    assert "regular, irregular or political" in page
    page = _post(admin_client, "/admin/sectors/assign",
                 {"customer_id": [keep_id], "sector": "Automotive",
                  "revenue_class": "sometimes"})
    assert "nothing was changed" in page
    response = admin_client.get("/admin/stale", query_string={"months": "six"})
    assert response.status_code == 400
    assert "whole number of months" in response.get_data(as_text=True)
    page = _post(admin_client, "/admin/stale/deactivate",
                 {"customer_id": [keep_id], "reason": " ", "months": "12"})
    assert "Give a reason" in page
    assert every_table(db_copy) == merged
    assert before != merged


def test_sectors_and_classes_assign_in_bulk_and_filter_reports(admin_client: FlaskClient,
                                                                db_copy: Path | str) -> None:
    (first, first_name), (second, second_name) = _two_customers(db_copy)
    page = _post(admin_client, "/admin/sectors/assign",
                 {"customer_id": [first, second], "sector": "Automotive",
                  "revenue_class": "political"})
    assert "2 customers now have sector Automotive and class political" in page
    rows = _csv(admin_client, "/reports/customers/", {"year": YEAR, "sector": "Automotive"})
    assert {r["Customer"] for r in rows[:-1]} == {first_name, second_name}
    gross = _one(db_copy, "SELECT SUM(gross_rate_micros) FROM spots WHERE NOT is_trade AND "
                          "customer_id IN (?, ?) AND broadcast_month LIKE ?",
                 first, second, f"{YEAR}-%")[0]
    by_sector = {r["Sector"]: r for r in _csv(admin_client, "/reports/breakdowns/sector",
                                               {"year": YEAR})}
    assert by_sector["Automotive"]["Gross"] == str(money(gross))
    by_class = {r["Revenue class"]: r for r in _csv(admin_client, "/reports/breakdowns/class",
                                                     {"year": YEAR})}
    assert by_class["political"]["Gross"] == str(money(gross))
    classes = _csv(admin_client, "/reports/customers/", {"year": YEAR,
                                                          "revenue_class": "political"})
    assert classes[-1]["Total"] == rows[-1]["Total"]
    page = _post(admin_client, "/admin/sectors", {"name": "Cannabis"})
    assert "Cannabis" in admin_client.get("/admin/sectors").get_data(as_text=True)


def test_stale_customers_dry_run_then_deactivate(admin_client: FlaskClient,
                                                 db_copy: Path | str) -> None:
    page = admin_client.get("/admin/stale", query_string={"months": "3"}).get_data(as_text=True)
    stale_ids = sorted({int(v) for v in re.findall(
        r'name="customer_id" value="(\d+)"', page)})
    assert stale_ids
    before = every_table(db_copy)
    page = _post(admin_client, "/admin/stale/deactivate",
                 {"customer_id": stale_ids, "reason": "no business", "months": "3",
                  "dry_run": "1"})
    assert f"Dry run: {len(stale_ids)} customer" in page
    assert every_table(db_copy) == before
    page = _post(admin_client, "/admin/stale/deactivate",
                 {"customer_id": stale_ids, "reason": "no business", "months": "3"})
    assert f"{len(stale_ids)} customer" in page and "deactivated" in page
    assert _one(db_copy, "SELECT COUNT(*) FROM customers WHERE NOT is_active")[0] == len(
        stale_ids)


def test_language_review_list_and_export(admin_client: FlaskClient, db_copy: Path | str) -> None:
    expected = _one(db_copy, "SELECT COUNT(*) FROM spots s JOIN language_assignments la ON "
                             "la.spot_id = s.spot_id WHERE la.requires_review AND "
                             "NOT s.is_trade AND s.broadcast_month LIKE ?", f"{YEAR}-%")[0]
    assert expected > 0
    rows = _csv(admin_client, "/admin/language-review", {"year": YEAR})
    assert len(rows) == expected
    assert {"Bill code", "Language code", "Status"} <= set(rows[0])
    assert f"({expected})" in admin_client.get("/admin/language-review", query_string={
        "year": YEAR}).get_data(as_text=True)


def test_agencies_listed_renamed_and_merged(admin_client: FlaskClient, db_copy: Path | str) -> None:
    (big, big_name), (small, small_name) = dbstate.rows(
        db_copy, "SELECT a.agency_id, a.name FROM agencies a JOIN spots s ON "
        "s.agency_id = a.agency_id GROUP BY a.agency_id, a.name ORDER BY COUNT(*) DESC, "
        "a.agency_id LIMIT 2")
    assert big_name in admin_client.get("/admin/agencies").get_data(as_text=True)
    page = _post(admin_client, "/admin/agencies/rename",
                 {"agency_id": big, "name": "Renamed Media Group"})
    assert "is now 'Renamed Media Group'" in page
    page = _post(admin_client, "/admin/agencies/rename", {"agency_id": small,
                                                          "name": "renamed media group"})
    assert "merge the two instead" in page
    total = _csv(admin_client, "/reports/breakdowns/agency", {"year": YEAR})[-1]["Gross"]
    page = _post(admin_client, "/admin/stewardship/merge",
                 {"kind": "agency", "survivor_id": big, "merged_id": small})
    assert "Agency #" in page and "is merged into" in page
    rows = _csv(admin_client, "/reports/breakdowns/agency", {"year": YEAR})
    assert rows[-1]["Gross"] == total
    assert small_name not in {r["Agency"] for r in rows}


def test_stewardship_is_admin_only(clients) -> None:  # noqa: ANN001
    for path in ("/admin/agencies", "/admin/sectors", "/admin/stale", "/admin/language-review"):
        assert clients["admin"].get(path).status_code == 200, path
        for role in ("manager", "finance", "viewer", "ae"):
            assert clients[role].get(path).status_code == 403, (role, path)
