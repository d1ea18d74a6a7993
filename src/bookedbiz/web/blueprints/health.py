"""/health: JSON for monitors — 200 when the database (file or server) answers and its schema
is current.

Anyone gets the status (and 200/503); the details (schema version, last import, problems) only
a signed-in user or an API token, so an anonymous scan learns nothing about the installation.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import text

from bookedbiz import users
from bookedbiz.db.migrate import current_version, head_version
from bookedbiz.reports import freshness
from bookedbiz.web.auth import session_expired
from bookedbiz.web.db import database, read_conn

bp = Blueprint("health", __name__)


@lru_cache(maxsize=1)
def _head() -> str:
    return head_version()


def _may_see_details() -> bool:
    if current_user.is_authenticated:
        return not session_expired()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        return users.verify_token(read_conn(), token.strip()) is not None
    except Exception:  # noqa: BLE001 - an unreadable database: the status says so
        return False


@bp.get("/health")
def health():  # noqa: ANN201
    db = database()
    body: dict[str, object] = {
        "status": "healthy",
        "database": {"reachable": False, "schema_version": None, "schema_head": _head()},
        "last_import": None,
    }
    problems: list[str] = []
    try:
        if db.path is not None and not db.path.is_file():
            raise FileNotFoundError(db.path)
        version = (current_version(db.path) if db.path is not None
                   else read_conn().execute(text("SELECT version_num FROM alembic_version"))
                   .scalar())
        body["database"] = {"reachable": True, "schema_version": version,
                            "schema_head": _head()}
        if version != _head():
            problems.append("the database schema is not current; run 'bookedbiz init'")
        finished = freshness.last_completed_import_at(read_conn())
        info = freshness.describe(finished, timezone=current_app.config["DISPLAY_TIMEZONE"])
        body["last_import"] = {"finished_at": info["at"], "age_hours": info["age_hours"],
                               "stale": info["stale"] if finished else None}
    except Exception as exc:  # noqa: BLE001 - any failure to read means unhealthy
        # one sentence naming the database (a driver's message may quote the URL)
        current_app.logger.warning("Health check: database unreachable: %s",
                                   db.translate(exc) if hasattr(exc, "orig") else exc)
        problems.append("the database cannot be read")
    if problems:
        body["status"] = "unhealthy"
        body["problems"] = problems
    if not _may_see_details():
        body = {"status": body["status"]}
    response = jsonify(body)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response
