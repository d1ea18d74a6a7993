"""Admin actions in the browser: close/reopen months, upload a workbook, users, merges,
AE aliases, personal API tokens; and the exports' formatting."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from tests.core import dbstate
from tests.web import both
from tests.web.conftest import YEAR, csrf_token

# The admin actions run on a SQLite copy and on PostgreSQL (tests/web/both.py).
db_copy = both.db_copy
admin_client = both.admin_client


def one(db: Path | str, sql: str, *args):  # noqa: ANN001, ANN201
    """The first row of ``sql`` (``?`` placeholders, in order) or None, on either database."""
    parts = sql.split("?")
    named = "".join(f"{part}:p{i}" for i, part in enumerate(parts[:-1])) + parts[-1]
    found = dbstate.rows(db, named, **{f"p{i}": value for i, value in enumerate(args)})
    return found[0] if found else None


def test_admin_closes_and_reopens_a_month_with_a_reason(admin_client, db_copy) -> None:
    token = csrf_token(admin_client)
    open_month = one(db_copy, "SELECT s.broadcast_month FROM spot_summary s LEFT JOIN "
                     "month_closures c USING (broadcast_month) WHERE c.broadcast_month IS NULL "
                     "ORDER BY 1 LIMIT 1")[0]
    response = admin_client.post(f"/months/{open_month}/close",
                                 data={"csrf_token": token, "reason": "books signed off"},
                                 follow_redirects=True)
    assert "is closed" in response.get_data(as_text=True)
    assert one(db_copy, "SELECT closed_by FROM month_closures WHERE broadcast_month = ?",
               open_month)[0] == "web:admin"
    no_reason = admin_client.post(f"/months/{open_month}/reopen",
                                  data={"csrf_token": token, "reason": ""},
                                  follow_redirects=True)
    assert "needs a reason" in no_reason.get_data(as_text=True)
    reopened = admin_client.post(f"/months/{open_month}/reopen",
                                 data={"csrf_token": token, "reason": "late credit"},
                                 follow_redirects=True)
    assert "open again" in reopened.get_data(as_text=True)
    event = one(db_copy, "SELECT action, actor, reason FROM month_closure_events "
                "ORDER BY event_id DESC LIMIT 1")
    assert event == ("reopen", "web:admin", "late credit")
    html = admin_client.get("/months/?all=1").get_data(as_text=True)
    assert "late credit" in html


def test_upload_imports_a_workbook_and_reports_changes(admin_client, db_copy, tmp_path) -> None:
    from bookedbiz.synth.generator import LogSpec
    from bookedbiz.synth.writer import write_log

    log = tmp_path / "Commercial Log 260615.xlsx"
    write_log(LogSpec("2026-07", 2, 30, seed=5, kind="daily"), log)
    before = one(db_copy, "SELECT COUNT(*) FROM import_batches")[0]
    token = csrf_token(admin_client, "/imports/upload")
    response = admin_client.post(
        "/imports/upload",
        data={"csrf_token": token, "mode": "weekly",
              "workbook": (io.BytesIO(log.read_bytes()), log.name)},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:2000]
    assert "rows read" in text and "See batch" in text
    assert one(db_copy, "SELECT COUNT(*) FROM import_batches")[0] == before + 1
    uploads = Path(admin_client.application.config["DATA_PATH"]) / "uploads"
    assert not list(uploads.glob("*")), "the temp upload is removed"


def test_upload_of_a_bad_file_shows_one_sentence_and_changes_nothing(admin_client, db_copy):
    spots = one(db_copy, "SELECT COUNT(*) FROM spots")[0]
    token = csrf_token(admin_client, "/imports/upload")
    response = admin_client.post(
        "/imports/upload",
        data={"csrf_token": token, "mode": "weekly",
              "workbook": (io.BytesIO(b"not a workbook"), "junk.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Import of junk.xlsx failed" in text and "Traceback" not in text
    assert one(db_copy, "SELECT COUNT(*) FROM spots")[0] == spots


def test_upload_size_limit(db_copy) -> None:
    from tests.web.conftest import login

    client = both.make_app(db_copy, MAX_CONTENT_LENGTH=1024).test_client()
    login(client, "admin")
    token = csrf_token(client, "/imports/upload")
    response = client.post("/imports/upload", data={
        "csrf_token": token, "workbook": (io.BytesIO(b"x" * 5000), "big.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_admin_manages_users_in_the_browser(admin_client, db_copy) -> None:
    token = csrf_token(admin_client)
    admin_client.post("/admin/users", data={"csrf_token": token, "username": "Pat",
                                            "password": "pats-password-1", "role": "ae"})
    assert one(db_copy, "SELECT role FROM users WHERE username = 'pat'") is None  # no AE
    ae_name = one(db_copy, "SELECT name FROM aes ORDER BY ae_id LIMIT 1")[0]
    admin_client.post("/admin/users", data={"csrf_token": token, "username": "Pat",
                                            "password": "pats-password-1", "role": "ae",
                                            "ae": ae_name.upper(), "email": "pat@Example.COM"})
    assert one(db_copy, "SELECT u.role, a.name, u.email FROM users u JOIN aes a ON "
                        "a.ae_id = u.ae_id WHERE username = 'pat'") == (
        "ae", ae_name, "pat@example.com")
    admin_client.post("/admin/users/pat/role", data={"csrf_token": token, "role": "manager"})
    admin_client.post("/admin/users/pat/active", data={"csrf_token": token, "active": "0"})
    assert one(db_copy, "SELECT role, is_active FROM users WHERE username = 'pat'") == (
        "manager", 0)
    for spelling in ("admin", "ADMIN", "Admin"):  # the name in the URL in any case
        own = admin_client.post(f"/admin/users/{spelling}/active",
                                data={"csrf_token": token, "active": "0"},
                                follow_redirects=True)
        assert "cannot disable your own account" in own.get_data(as_text=True)
        assert one(db_copy, "SELECT is_active FROM users WHERE username = 'admin'") == (1,)


def test_user_creates_and_revokes_a_personal_token(admin_client, db_copy) -> None:
    token = csrf_token(admin_client)
    page = admin_client.post("/account/tokens", data={"csrf_token": token, "name": "sheet"})
    text = page.get_data(as_text=True)
    assert "shown only once" in text and "bbz_" in text
    token_id = one(db_copy, "SELECT token_id FROM api_tokens WHERE name = 'sheet'")[0]
    admin_client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert one(db_copy, "SELECT revoked_at FROM api_tokens WHERE token_id = ?",
               token_id)[0] is not None


def test_change_own_password(admin_client, db_copy) -> None:
    token = csrf_token(admin_client)
    wrong = admin_client.post("/account/password", data={
        "csrf_token": token, "current_password": "nope", "new_password": "new-admin-pass-1",
        "confirm_password": "new-admin-pass-1"}, follow_redirects=True)
    assert "not right" in wrong.get_data(as_text=True)
    ok = admin_client.post("/account/password", data={
        "csrf_token": token, "current_password": "pass-admin-0123456789",
        "new_password": "new-admin-pass-1", "confirm_password": "new-admin-pass-1"},
        follow_redirects=True)
    assert "password is changed" in ok.get_data(as_text=True)


def test_merge_customers_and_ae_alias_through_the_service(admin_client, db_copy) -> None:
    pytest.importorskip("bookedbiz.entities.stewardship")
    token = csrf_token(admin_client)
    survivor, merged = dbstate.rows(
        db_copy, "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 2")
    total_before = one(db_copy, "SELECT SUM(gross_micros) FROM spot_summary")[0]
    response = admin_client.post("/admin/stewardship/merge", data={
        "csrf_token": token, "survivor_id": survivor[0], "merged_id": merged[0]},
        follow_redirects=True)
    assert "is merged into" in response.get_data(as_text=True)
    assert one(db_copy, "SELECT COUNT(*) FROM spots WHERE customer_id = ?", merged[0])[0] == 0
    assert one(db_copy, "SELECT SUM(gross_micros) FROM spot_summary")[0] == total_before
    alias = admin_client.post("/admin/stewardship/ae-alias", data={
        "csrf_token": token, "alias": "Charmaine Lane - TRANSFER", "ae": "Charmaine Lane"},
        follow_redirects=True)
    assert "now counts as" in alias.get_data(as_text=True)
    assert admin_client.get("/admin/stewardship").status_code == 200


def test_xlsx_export_is_formatted_and_matches_the_csv(clients) -> None:
    client = clients["viewer"]
    response = client.get("/reports/customers/", query_string={"year": YEAR,
                                                                "format": "xlsx"})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    header = [c.value for c in sheet[4]]
    assert header[0] == "Customer" and header[-1] == "Total"
    assert sheet.freeze_panes == "B5"
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert rows[-1][0] == "Monthly totals"
    money_cell = sheet.cell(row=5, column=len(header))
    assert money_cell.number_format == "#,##0.00"
    csv_text = client.get("/reports/customers/", query_string={
        "year": YEAR, "format": "csv"}).get_data(as_text=True)
    csv_total = csv_text.strip().splitlines()[-1].split(",")[-1]
    assert f"{rows[-1][-1]:.2f}" == csv_total


def test_every_page_with_tables_exports_csv_and_xlsx(clients) -> None:
    client = clients["viewer"]
    for path in ("/reports/", "/reports/aes/", "/reports/breakdowns/agency", "/months/",
                 "/imports/", "/imports/1", "/reports/customers/1"):
        html = client.get(path, query_string={"year": YEAR}).get_data(as_text=True)
        assert "format=csv" in html and "format=xlsx" in html, path
        for fmt in ("csv", "xlsx"):
            response = client.get(path, query_string={"year": YEAR, "format": fmt})
            assert response.status_code == 200, (path, fmt)
            assert len(response.get_data()) > 50


def test_months_close_and_reopen_station_by_station(admin_client, db_copy) -> None:
    from tests.core.copy_data import split_station

    two = split_station(str(db_copy))
    open_month = one(db_copy, "SELECT s.broadcast_month FROM spot_summary s LEFT JOIN "
                     "month_closures c USING (broadcast_month) WHERE c.broadcast_month IS NULL "
                     "GROUP BY s.broadcast_month HAVING COUNT(DISTINCT s.station_id) = 2 "
                     "ORDER BY 1 LIMIT 1")[0]
    every = admin_client.get("/months/?all=1").get_data(as_text=True)
    assert "choose one station above" in every and f"/months/{open_month}/close" not in every
    one_station = admin_client.get("/months/?all=1&station=KTWO").get_data(as_text=True)
    assert f"/months/{open_month}/close" in one_station
    assert 'name="station" value="KTWO"' in one_station
    token = csrf_token(admin_client)
    unknown = admin_client.post(f"/months/{open_month}/close",
                                data={"csrf_token": token, "station": "NOPE"},
                                follow_redirects=True)
    assert "NOPE" in unknown.get_data(as_text=True)
    assert one(db_copy, "SELECT COUNT(*) FROM month_closures WHERE broadcast_month = ?",
               open_month)[0] == 0
    closed = admin_client.post(f"/months/{open_month}/close",
                               data={"csrf_token": token, "station": "KTWO"},
                               follow_redirects=True)
    assert "is closed" in closed.get_data(as_text=True)
    assert dbstate.rows(db_copy, "SELECT station_id FROM month_closures WHERE "
                        "broadcast_month = :m", m=open_month) == [(two,)]
    reopened = admin_client.post(f"/months/{open_month}/reopen",
                                 data={"csrf_token": token, "station": "KTWO",
                                       "reason": "late credit"}, follow_redirects=True)
    assert "is open again" in reopened.get_data(as_text=True)
    assert one(db_copy, "SELECT COUNT(*) FROM month_closures WHERE broadcast_month = ?",
               open_month)[0] == 0
