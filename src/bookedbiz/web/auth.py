"""Who is asking: session login (flask-login), API tokens, permission checks, login throttling.

Every page needs a login except the few public endpoints listed here; the check runs before
every request so a new route is protected by default, and each route names the action it
performs (``@requires``), checked against bookedbiz.permissions on the server, never just
hidden in the page. A reader who may see only their own book gets that scope from here.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_user, logout_user

from bookedbiz import permissions, users
from bookedbiz.errors import BookedBizError
from bookedbiz.web.db import db_path, read_conn

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints anyone may reach; everything else requires a login (or a token under /api/).
PUBLIC_ENDPOINTS = frozenset({"root", "auth.login", "health.health", "static", "vendor.plotly"})

LOGIN_AT_KEY = "_bookedbiz_login_at"


class WebUser:
    """The logged-in user as flask-login sees it (a thin wrapper over :class:`users.User`).

    The session identity is "user_id:session_version": bumping the version in the database
    (sign-out, password change or reset, role change, disabling) makes every existing session
    cookie of the user, copied or not, name a version that no longer exists."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: users.User):
        self.user = user

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    def get_id(self) -> str:
        return f"{self.user.user_id}:{self.user.session_version}"

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def display_name(self) -> str:
        return self.user.display_name


class Anonymous(AnonymousUserMixin):
    role = None
    username = ""


login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"
login_manager.anonymous_user = Anonymous


@login_manager.user_loader
def _load_user(identity: str) -> WebUser | None:
    user_text, sep, version_text = (identity or "").partition(":")
    if not sep or not user_text.isdigit() or not version_text.isdigit() or len(user_text) > 18:
        return None  # a session from before session versions, or a forged one
    user = users.get_user(read_conn(), int(user_text))
    if user is None or not user.is_active or user.session_version != int(version_text):
        return None
    return WebUser(user)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def reader() -> users.User | None:
    """Whoever this request reads for: the API token's user under /api/, else the signed-in
    user; None when nobody is signed in."""
    if is_api_request():
        return g.get("api_user")
    return current_user.user if current_user.is_authenticated else None


def reader_can(action: str) -> bool:
    """``permissions.can`` for this request's reader (templates call it as ``can(...)``)."""
    user = reader()
    return permissions.can(user.role if user else None, action)


def scope_ae_id(user: users.User | None) -> int | None:
    """The AE whose book alone ``user`` may see; None for a role that sees every book."""
    return users.book_scope(user)


def start_session(user: users.User, *, keep_login_time: bool = False) -> None:
    """Sign ``user`` in to this browser: a fresh session (no fixation) that remembers when
    the password was typed, for the absolute lifetime."""
    login_at = session.get(LOGIN_AT_KEY) if keep_login_time else None
    session.clear()
    session.permanent = True
    login_user(WebUser(user))
    session[LOGIN_AT_KEY] = login_at or time.time()


def session_expired() -> bool:
    """True when this session was signed in longer ago than the absolute lifetime allows (the
    idle lifetime is the signed cookie's own age, checked by Flask when it loads it)."""
    login_at = session.get(LOGIN_AT_KEY)
    limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    return not isinstance(login_at, int | float) or time.time() - login_at > limit


def _require_login() -> Any:
    """before_request: public endpoints pass, /api/ needs a token, every other page a session
    that is neither ended (its version) nor too old (its login time)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if is_api_request():
        return _require_token()
    if request.endpoint is None:
        return None  # a 404 is rendered by the error handler (without leaking anything)
    if current_user.is_authenticated and session_expired():
        logout_user()
        session.clear()
        flash("Your session has ended; please sign in again.", "info")
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _require_token() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = None
    if scheme.lower() == "bearer" and token.strip():
        found = users.verify_token(read_conn(), token.strip())
    if found is None:
        response = jsonify(error="Authentication required: send 'Authorization: Bearer <token>'.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="bookedbiz"'
        return response
    g.api_user, g.api_token_id = found
    return None


def requires(action: str) -> Callable[[F], F]:
    """Refuse (403) a reader whose role may not perform ``action`` (permissions.ACTIONS); the
    action is recorded on the view (``required_action``) so tests can list every route's."""
    if action not in permissions.ACTIONS:
        raise KeyError(f"Unknown action {action!r}; add it to bookedbiz.permissions.ACTIONS.")

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = reader()
            if user is None:
                return login_manager.unauthorized()
            if not permissions.can(user.role, action):
                abort(403)
            return func(*args, **kwargs)

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def actor_name() -> str:
    """How a web action is recorded in the audit trail."""
    return f"web:{current_user.username}" if current_user.is_authenticated else "web:anonymous"


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 for ch in target)
    ):
        return target
    return url_for("reports.overview")


class LoginThrottle:
    """Failed sign-ins are limited three ways within ``window`` seconds: per (username, client
    address), per username from any address (someone trying one account from many places),
    and in all (someone spraying many accounts).

    Failures are counted in the database, so every uvicorn worker sees the same count; when the
    database cannot take the write (a long import holds it), this process's memory counts
    instead, so throttling never lapses.
    """

    def __init__(self, limit: int = 5, window: float = 15 * 60, *, user_limit: int = 20,
                 global_limit: int = 100):
        self.limits = {"pair": limit, "user": user_limit, "all": global_limit}
        self.window = window
        self._memory: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, str]:
        name = username.strip().lower()
        return {"pair": f"pair:{name}|{address}", "user": f"user:{name}", "all": "all"}

    def _recent(self, key: str, now: float) -> list[float]:
        since = now - self.window
        try:
            stored = users.recent_login_failures(read_conn(), key, since)
        except Exception:  # noqa: BLE001 - an unreadable store must not open the door
            stored = []
        with self._lock:
            memory = self._memory.get(key, deque())
            while memory and memory[0] < since:
                memory.popleft()
            return sorted([*stored, *memory])

    def blocked(self, username: str, address: str) -> tuple[str, int] | None:
        """(which limit, seconds until another attempt is allowed), or None when allowed."""
        now = time.time()
        for kind, key in self._keys(username, address).items():
            limit = self.limits[kind]
            times = self._recent(key, now)
            if len(times) >= limit:
                return kind, max(1, int(self.window - (now - times[-limit])) + 1)
        return None

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        found = self.blocked(username, address)
        return found[1] if found else 0

    def failed(self, username: str, address: str) -> None:
        keys, now = tuple(self._keys(username, address).values()), time.time()
        try:
            users.record_login_failure(db_path(), keys, now, self.window)
        except BookedBizError:
            with self._lock:
                for key in keys:
                    self._memory.setdefault(key, deque()).append(now)
                while len(self._memory) > 10_000:  # bound memory under a spraying attack
                    self._memory.pop(next(iter(self._memory)), None)

    def succeeded(self, username: str, address: str) -> None:
        """A correct password clears its own (user, address) count only: the per-user and
        global counts age out, so a success does not reset an attack on the same account."""
        key = self._keys(username, address)["pair"]
        with self._lock:
            self._memory.pop(key, None)
        try:
            users.clear_login_failures(db_path(), key)
        except BookedBizError:
            pass


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.config.setdefault("SESSION_ABSOLUTE_LIFETIME", timedelta(hours=24))
    app.extensions["bookedbiz.throttle"] = LoginThrottle(
        app.config.get("LOGIN_FAIL_LIMIT", 5),
        app.config.get("LOGIN_FAIL_WINDOW", 15 * 60),
        user_limit=app.config.get("LOGIN_FAIL_USER_LIMIT", 20),
        global_limit=app.config.get("LOGIN_FAIL_GLOBAL_LIMIT", 100),
    )
    app.before_request(_require_login)
    app.jinja_env.globals["can"] = reader_can

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        if is_api_request():
            return jsonify(error="Authentication required."), 401
        nxt = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=nxt))


def throttle() -> LoginThrottle:
    return current_app.extensions["bookedbiz.throttle"]
