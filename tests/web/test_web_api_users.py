"""API tokens, the JSON API, the users module and the users/tokens/serve/demo commands."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from tests.core import dbstate
from tests.web import both
from tests.web.conftest import YEAR
from tests.web.test_web_numbers import cli_report

from bookedbiz import users
from bookedbiz.cli.main import cli
from bookedbiz.errors import BookedBizError

# Every test of this module runs on a SQLite copy and on PostgreSQL (tests/web/both.py).
db_copy = both.db_copy
make_app = both.make_app


def test_api_needs_a_valid_token(db_copy) -> None:
    client = make_app(db_copy).test_client()
    assert client.get("/api/v1/revenue").status_code == 401
    bad = client.get("/api/v1/revenue", headers={"Authorization": "Bearer bbz_nope"})
    assert bad.status_code == 401 and "Bearer" in bad.headers["WWW-Authenticate"]
    token_id, token = users.create_token(db_copy, "viewer", "sheet")
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.get_json()["data"]["username"] == "viewer"
    assert "password_hash" not in ok.get_data(as_text=True)
    users.revoke_token(db_copy, token_id)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 401


def test_tokens_are_stored_only_as_sha256(db_copy) -> None:
    _, token = users.create_token(db_copy, "manager", "sheet")
    stored = [r[0] for r in dbstate.rows(db_copy, "SELECT token_hash FROM api_tokens")]
    assert token not in stored and users.token_hash(token) in stored
    assert all(len(h) == 64 for h in stored)


def test_api_numbers_equal_the_cli(db_copy) -> None:
    _, token = users.create_token(db_copy, "viewer", "sheet")  # every book, like the CLI
    client = make_app(db_copy).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for by in ("month", "ae", "market", "customer"):
        response = client.get("/api/v1/revenue", query_string={"by": by, "year": YEAR},
                              headers=headers)
        assert response.status_code == 200
        data = response.get_json()
        expected = cli_report(db_copy, by, {"year": YEAR})
        key = by
        assert [(r[key], Decimal(str(r["gross"]))) for r in data["data"]] == [
            (r[key], Decimal(str(r["gross"]))) for r in expected]
        assert data["filters"]["year"] == YEAR and data["trade_excluded"] is True
    for path in ("/api/v1/overview", "/api/v1/customers", "/api/v1/aes", "/api/v1/months",
                 "/api/v1/imports", "/api/v1/imports/1", "/api/v1/filters",
                 "/api/v1/customers/1"):
        response = client.get(path, query_string={"year": YEAR}, headers=headers)
        assert response.status_code == 200, path
        assert "data" in response.get_json()
    wrong = client.get("/api/v1/revenue?by=nope", headers=headers)
    assert wrong.status_code == 400 and "Unknown grouping" in wrong.get_json()["error"]


def test_users_module_rules(db_copy) -> None:
    with pytest.raises(BookedBizError, match="at least"):
        users.create_user(db_copy, "shorty", "short", "viewer")
    with pytest.raises(BookedBizError, match="Unknown role"):
        users.create_user(db_copy, "x1", "long-enough-password", "boss")
    with pytest.raises(BookedBizError, match="already exists"):
        users.create_user(db_copy, "Viewer", "long-enough-password", "viewer")
    with pytest.raises(BookedBizError, match="last active admin"):
        users.set_role(db_copy, "admin", "viewer")
    with pytest.raises(BookedBizError, match="last active admin"):
        users.set_active(db_copy, "admin", False)
    # an unknown user (or token) changes nothing, in any table a user write touches
    tables = ("users", "api_tokens", "audit_log", "digest_subscriptions", "login_failures")
    before = dbstate.checksum(db_copy, tables)
    for attempt in (lambda: users.set_password(db_copy, "nobody", "long-enough-password"),
                    lambda: users.set_active(db_copy, "nobody", False),
                    lambda: users.set_role(db_copy, "nobody", "viewer"),
                    lambda: users.set_link(db_copy, "nobody", email="n@x.example"),
                    lambda: users.end_sessions(db_copy, "nobody"),
                    lambda: users.create_token(db_copy, "nobody", "sheet"),
                    lambda: users.revoke_all_tokens(db_copy, "nobody"),
                    lambda: users.revoke_token(db_copy, 999_999),
                    lambda: users.create_user(db_copy, "newbie", "long-enough-password", "ae",
                                              ae="No Such AE")):
        with pytest.raises(BookedBizError, match="no user named 'nobody'|no API token|no AE"):
            attempt()
    assert dbstate.checksum(db_copy, tables) == before
    hashes = [r[0] for r in dbstate.rows(db_copy, "SELECT password_hash FROM users")]
    audit = dbstate.scalar(db_copy, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'")
    assert all(h.startswith("scrypt:") for h in hashes)
    assert audit >= 4


def run(args: list[str], **kwargs):  # noqa: ANN201
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kwargs)


def test_users_and_tokens_commands(db_copy) -> None:
    db = ["--db", str(db_copy)]
    result = run(["users", "add", "kim", "--role", "manager", "--name", "Kim Lee",
                  "--password", "kims-password-1", *db])
    assert result.exit_code == 0 and "Added kim (manager)" in result.output
    listed = run(["users", "list", "--json", *db])
    assert {"kim", "admin"} <= {u["username"] for u in json.loads(listed.output)}
    assert "kim" in run(["users", "list", *db]).output
    assert run(["users", "set-role", "kim", "viewer", *db]).exit_code == 0
    assert run(["users", "passwd", "kim", "--password", "kims-password-2", *db]).exit_code == 0
    assert run(["users", "disable", "kim", *db]).exit_code == 0
    engine_user = _user(db_copy, "kim")
    assert engine_user.role == "viewer" and not engine_user.is_active
    assert run(["users", "disable", "kim", "--enable", *db]).exit_code == 0
    bad = run(["users", "add", "kim", "--password", "kims-password-3", *db])
    assert bad.exit_code == 1 and "already exists" in bad.output
    created = run(["tokens", "create", "kim", "--name", "Revenue Master", *db])
    assert created.exit_code == 0 and "bbz_" in created.output
    assert "Revenue Master" in run(["tokens", "list", *db]).output
    token_id = created.output.split()[1]
    assert run(["tokens", "revoke", token_id, *db]).exit_code == 0
    assert "revoked" in run(["tokens", "list", "--user", "kim", *db]).output


def _user(db, name):  # noqa: ANN001, ANN202
    from bookedbiz.db.access import reading_from

    with reading_from(db) as conn:
        return users.get_user_by_username(conn, name)


def test_serve_and_demo_commands_have_help_and_refuse_a_missing_database(tmp_path) -> None:
    for command in (["serve"], ["demo"], ["users"], ["tokens"]):
        result = run([*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
    missing = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 4 and "does not exist" in missing.output


def test_demo_builds_and_prints_the_login_without_serving(tmp_path, monkeypatch) -> None:
    import bookedbiz.synth.demo as demo

    real = demo.build_demo_database
    monkeypatch.setattr(demo, "build_demo_database",
                        lambda path, years, echo: real(path, years=1, rows_per_month=40,
                                                       echo=echo))
    db = tmp_path / "demo" / "demo.db"
    result = run(["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000" in result.output and "Username  demo" in result.output
    password = result.output.split("Password  ")[1].split()[0]
    assert _user(db, "demo").role == "admin"
    client = make_app(db).test_client()
    from tests.web.conftest import login

    assert login(client, "demo", password).status_code == 302
    again = run(["demo", "--db", str(db), "--no-serve"])
    assert "Using the existing demo database" in again.output
