"""The Flask application factory: configuration, security, error pages, blueprints (once)."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from bookedbiz.config import Settings, load_settings, resolve_database_target
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.web import compression, formatting
from bookedbiz.web.auth import init_auth, is_api_request
from bookedbiz.web.cache import ReportCache
from bookedbiz.web.db import DATABASE_KEY, close_conn, open_app_database
from bookedbiz.web.table_html import rows_html
from bookedbiz.web.tls_proxy import configure_tls_proxy

log = logging.getLogger(__name__)

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides Flask config keys (e.g. DATABASE_PATH, SECRET_KEY;
    DATABASE_URL selects a PostgreSQL server, as the setting does)."""
    app = Flask(__name__)
    overrides = dict(config or {})
    settings: Settings = overrides.pop("SETTINGS", None) or load_settings()
    url = overrides.pop("DATABASE_URL", None)
    if url:
        settings = settings.model_copy(update={"database_url": url})
    target = resolve_database_target(settings, None if url else overrides.get("DATABASE_PATH"))
    db = open_app_database(target)
    app.config.update(
        DATABASE_PATH=str(db.path) if db.path is not None else None,
        DATA_PATH=str(settings.resolved_data_path()),
        DISPLAY_TIMEZONE=settings.broadcast_timezone,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),  # idle: the signed cookie's age
        SESSION_ABSOLUTE_LIFETIME=timedelta(hours=24),  # from the sign-in, however active
        SESSION_COOKIE_NAME="bookedbiz_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        MAX_CONTENT_LENGTH=settings.web_upload_max_mib * 1024 * 1024,
        FRESHNESS_CACHE_SECONDS=300,
        LOGIN_FAIL_LIMIT=5,
        LOGIN_FAIL_WINDOW=15 * 60,
        JSON_SORT_KEYS=False,
    )
    app.config.update(overrides)
    app.config["DATABASE_PATH"] = str(db.path) if db.path is not None else None
    app.config["DATABASE_DESCRIPTION"] = db.describe()  # never the URL: it holds a password
    configure_tls_proxy(app, bool(app.config.get("BEHIND_TLS_PROXY", settings.behind_tls_proxy)))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key or _persistent_secret(
            Path(app.config["DATA_PATH"])
        )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    app.extensions[DATABASE_KEY] = db
    app.extensions["bookedbiz.report_cache"] = ReportCache()
    app.teardown_appcontext(close_conn)
    csrf.init_app(app)
    init_auth(app)
    formatting.init_app(app)
    app.jinja_env.globals["table_rows"] = rows_html
    _security_headers(app)
    compression.init_app(app)
    _error_pages(app)
    _ids_in_range(app)

    from bookedbiz.web.blueprints import register_blueprints

    register_blueprints(app, csrf)

    @app.get("/")
    def root():  # noqa: ANN202 - the deploy check: anonymous curl of / must get 302 → /reports/
        return redirect(url_for("reports.overview"), code=302)

    return app


def _persistent_secret(data_dir: Path) -> str:
    """SECRET_KEY when none is configured: generated once, kept in <data dir>/secret_key (0600)
    so sessions survive restarts."""
    path = data_dir / "secret_key"
    try:
        value = path.read_text(encoding="ascii").strip()
        if len(value) >= 32:
            return value
    except OSError:
        pass
    value = secrets.token_hex(32)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()  # another worker wrote it first
    except OSError as exc:
        log.warning("Cannot store the session key in %s (%s); sessions end at restart.", path, exc)
    return value


# SQLite integers are signed 64-bit: a larger id in a URL can name nothing (and binding it
# would raise OverflowError, a 500).
MAX_ID = 2**63 - 1


def _ids_in_range(app: Flask) -> None:
    @app.url_value_preprocessor
    def _check(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values.values()):
            abort(404)


def _security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):  # noqa: ANN001, ANN202
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.endpoint not in ("static", "vendor.plotly"):
            headers.setdefault("Cache-Control", "no-store")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


_MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your role does not allow this. Ask an admin if you need it."),
    404: ("Page not found", "There is nothing at this address."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("File too large", "The upload is larger than the allowed size."),
    429: ("Too many attempts", "Too many attempts; wait a while and try again."),
    500: ("Something went wrong", "The server hit an error; it has been logged."),
    503: ("Unavailable", "The database is not available right now."),
}


def error_response(status: int, message: str | None = None):  # noqa: ANN201
    title, default = _MESSAGES.get(status, _MESSAGES[500])
    text = message or default
    if is_api_request() or request.path == "/health":
        return jsonify(error=text, status=status), status
    return render_template("error.html", status=status, title=title, message=text), status


def _error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # noqa: ANN202
        return error_response(
            400,
            "The form was missing its security token or it expired; reload the page and "
            "try again.",
        )

    @app.errorhandler(BookedBizError)
    def _bookedbiz(exc: BookedBizError):  # noqa: ANN202
        return error_response(404 if isinstance(exc, NotFoundError) else 400, str(exc))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database(exc: Exception):  # noqa: ANN202 - the server is down or refused us
        from bookedbiz.web.db import database

        # the detail (host, database, never the password) goes to the log, not to the reader
        log.warning("Database unavailable on %s %s: %s", request.method, request.path,
                    database().translate(exc))
        return error_response(503)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # noqa: ANN202
        status = exc.code or 500
        message = exc.description if status in (400, 429) and exc.description else None
        if status == 429:
            message = getattr(exc, "description", None)
        response = error_response(status, message)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # noqa: ANN202
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)
