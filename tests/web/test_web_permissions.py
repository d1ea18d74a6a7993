"""The permissions table, role by action, and every registered route, role by role: each route
names its action and answers 200/302 to the roles the table allows and 403 to the others."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from tests.web.conftest import ROLES, YEAR, csrf_token, login, make_app

from bookedbiz import permissions, users

EVERY = set(ROLES)
EVERY_BOOK = {"admin", "manager", "finance", "viewer"}
# What SPEC §2 (Roles and permissions) says, written out independently of permissions.py: a new
# action needs its line here, so adding one is a decision, not an accident.
EXPECTED: dict[str, set[str]] = {
    "read_reports": EVERY,
    "see_every_book": EVERY_BOOK,
    "read_months": EVERY_BOOK,
    "read_imports": EVERY_BOOK,
    "close_month": {"admin", "finance"},
    "reopen_month": {"admin", "finance"},
    "import_workbook": {"admin", "finance"},
    "edit_budgets": {"admin", "manager"},
    "edit_any_forecast": {"admin", "manager"},
    "edit_own_forecast": {"admin", "manager", "ae"},
    "see_team_scoreboard": EVERY_BOOK,
    "steward_data": {"admin"},
    "manage_users": {"admin"},
    "use_api_tokens": EVERY,
    "receive_digests": EVERY,
    "manage_own_account": EVERY,
}


def test_roles_are_one_list() -> None:
    assert users.ROLES == permissions.ROLES == ("admin", "manager", "finance", "ae", "viewer")
    assert users.SCOPED_ROLES == ("ae",)


def test_every_action_is_expected() -> None:
    missing = sorted(set(permissions.ACTIONS) - set(EXPECTED))
    assert not missing, f"add {missing} to EXPECTED in tests/web/test_web_permissions.py"


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_role_by_action(role: str, action: str) -> None:
    assert permissions.can(role, action) is (role in EXPECTED[action])


def test_nobody_and_unknown_roles_may_do_nothing() -> None:
    for action in permissions.ACTIONS:
        assert not permissions.can(None, action)
        assert not permissions.can("boss", action)
    with pytest.raises(KeyError):
        permissions.can("admin", "launch_rockets")


def test_who_may_close_a_month_is_one_line() -> None:
    assert permissions.roles_for("close_month") == ("admin", "finance")


# -- every route ------------------------------------------------------------------------------

PUBLIC = {"root", "auth.login", "health.health", "static", "vendor.plotly"}


def required_action(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "required_action", None)


def test_every_route_names_its_action(app: Flask) -> None:
    """A write without @requires is a bug; a read page is still behind the login check, but
    every route here names its action so the table answers for all of them."""
    unnamed = sorted(
        rule.endpoint for rule in app.url_map.iter_rules()
        if rule.endpoint not in PUBLIC and required_action(app, rule.endpoint) is None
        and ("POST" in rule.methods or rule.endpoint.split(".")[0] in {
            "reports", "customers", "aes", "breakdowns", "months", "imports", "admin", "auth",
            "api"})
    )
    assert not unnamed, f"routes without @requires(...): {unnamed}"


def _book_customer(db: Path) -> int:
    """A customer in the ``ae`` user's book (so the sample detail page exists for them)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT s.customer_id FROM spot_summary s JOIN users u ON u.ae_id = s.ae_id "
            "WHERE u.username = 'ae' AND s.broadcast_month LIKE ? GROUP BY s.customer_id "
            "ORDER BY SUM(s.gross_micros) DESC LIMIT 1", (f"{YEAR}-%",)).fetchone()[0]
    finally:
        conn.close()


def sample_url(rule, values: dict[str, object]) -> str:  # noqa: ANN001 - a werkzeug Rule
    return rule.build({k: values.get(k, "1") for k in rule.arguments})[1]


def _get_values(db: Path) -> dict[str, object]:
    import plotly

    return {"customer_id": _book_customer(db), "batch_id": 1, "dimension": "market",
            "month": f"{YEAR}-01", "username": "viewer", "token_id": 1,
            "version": plotly.__version__, "filename": "app.css"}


def _allowed(app: Flask, endpoint: str, role: str) -> bool:
    action = required_action(app, endpoint) or "read_reports"
    return permissions.can(role, action)


@pytest.fixture(scope="module")
def tokens(base_db: Path) -> dict[str, str]:
    return {role: users.create_token(base_db, role, "route test")[1] for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_every_get_route_by_role(app: Flask, base_db: Path, clients, tokens, role: str) -> None:
    values = _get_values(base_db)
    client: FlaskClient = clients[role]
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in PUBLIC:
            continue
        url = sample_url(rule, values)
        api = url.startswith("/api/")
        response = client.get(url, headers=headers if api else {})
        allowed = _allowed(app, rule.endpoint, role)
        expected = {200, 302} if allowed else {403}
        assert response.status_code in expected, (role, url, response.status_code)
        if not allowed and not api:
            assert "Not allowed" in response.get_data(as_text=True)
        checked += 1
    assert checked >= 25


POST_VALUES = {"customer_id": 1, "batch_id": 1, "month": "1999-01", "username": "nobody",
               "token_id": 999999, "dimension": "market"}
LAST = ("auth.logout", "auth.sign_out_everywhere")  # they end the session: run them last


@pytest.mark.parametrize("role", ROLES)
def test_every_post_route_by_role(db_copy: Path, role: str) -> None:
    """Posts with harmless values (no such user, month or token): the allowed roles get past
    the permission check (a redirect, a 400 about the form, a 404 for the missing thing),
    the others a 403."""
    app = make_app(db_copy)
    client = app.test_client()
    assert login(client, role).status_code == 302
    token = csrf_token(client)
    rules = sorted((r for r in app.url_map.iter_rules()
                    if "POST" in r.methods and r.endpoint != "auth.login"),
                   key=lambda r: (r.endpoint in LAST, r.endpoint))
    for rule in rules:
        url = sample_url(rule, POST_VALUES)
        response = client.post(url, data={"csrf_token": token})
        if _allowed(app, rule.endpoint, role):
            assert response.status_code in (200, 302, 400, 404), (role, url, response.status_code)
        else:
            assert response.status_code == 403, (role, url, response.status_code)


def test_templates_ask_the_table(clients) -> None:
    for role in ROLES:
        html = clients[role].get("/reports/").get_data(as_text=True)
        assert ("/admin/users" in html) is permissions.can(role, "manage_users")
        assert ("/admin/stewardship" in html) is permissions.can(role, "steward_data")
        assert ('href="/months/' in html) is permissions.can(role, "read_months")
        assert ('href="/imports/"' in html) is permissions.can(role, "read_imports")
    months = clients["finance"].get("/months/", query_string={"year": YEAR - 1})
    assert "/reopen" in months.get_data(as_text=True)  # finance closes and reopens months
    viewer_months = clients["viewer"].get("/months/", query_string={"year": YEAR - 1})
    assert "/reopen" not in viewer_months.get_data(as_text=True)


def test_admin_users_page_lists_the_roles_table(clients) -> None:
    html = clients["admin"].get("/admin/users").get_data(as_text=True)
    assert 'id="roles-table"' in html
    for action in permissions.ACTIONS:
        assert f"<code>{action}</code>" in html


def test_operations_doc_lists_the_table() -> None:
    """docs/operations.md's Roles table is the permissions table, row for row."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text("utf-8")
    header = "| action | " + " | ".join(ROLES) + " |"
    assert header in doc
    lines = doc[doc.index(header):].splitlines()[2:]
    documented = {}
    for line in lines:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        documented[cells[0].strip("`")] = {r for r, c in zip(ROLES, cells[1:], strict=True) if c}
    assert documented == {a: set(r) for a, r in permissions.ACTIONS.items()}
