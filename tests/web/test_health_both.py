"""/health on both databases (SPEC §4): 200 with the schema version when the database answers
and is current; 503 with one problem when the schema is behind or the server is down, and never
the database password in the answer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from tests.databases import PASSWORD, USER, free_port
from tests.web.both import make_app

from bookedbiz import users
from bookedbiz.db.access import writing_to
from bookedbiz.db.migrate import head_version


def _health(db: Path | str, token: str | None = None):  # noqa: ANN202 - (status, JSON)
    client = make_app(db if "://" in str(db) else Path(db)).test_client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/health", headers=headers)
    return response.status_code, response.get_json()


def test_health_reports_the_database_and_its_schema(database: str) -> None:
    users.create_user(database, "monitor", "monitor-password-1", "viewer")
    _, token = users.create_token(database, "monitor", "uptime")
    status, body = _health(database)
    assert (status, body) == (200, {"status": "healthy"})  # anonymous: the status alone
    status, body = _health(database, token)
    assert status == 200 and body["database"] == {
        "reachable": True, "schema_version": head_version(), "schema_head": head_version()}
    with writing_to(database) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    status, body = _health(database, token)
    assert status == 503 and body["status"] == "unhealthy"
    assert body["problems"] == ["the database schema is not current; run 'bookedbiz init'"]


def test_health_of_a_server_that_is_down(tmp_path: Path) -> None:
    down = f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    client = make_app(down).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unhealthy"}
    assert PASSWORD not in response.get_data(as_text=True)
