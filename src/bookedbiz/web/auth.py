"""Who is asking: session login (flask-login), API tokens, role checks and login throttling.

Every page needs a login except the few public endpoints listed here; the check runs before
every request so a new route is protected by default, and each write also names the roles that
may perform it (checked on the server, never just hidden in the page).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, redirect, request, url_for
from flask_login import AnonymousUserMixin, LoginManager, current_user

from bookedbiz import permissions, users
from bookedbiz.errors import BookedBizError
from bookedbiz.web.db import db_path, read_conn

F = TypeVar("F", bound=Callable[..., Any])

# Endpoints anyone may reach; everything else requires a login (or a token under /api/).
PUBLIC_ENDPOINTS = frozenset({"root", "auth.login", "health.health", "static", "vendor.plotly"})

READ_ROLES = ("admin", "manager", "ae", "viewer")
ADMIN = ("admin",)


class WebUser:
    """The logged-in user as flask-login sees it (a thin wrapper over :class:`users.User`)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: users.User):
        self.user = user

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    def get_id(self) -> str:
        return str(self.user.user_id)

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def display_name(self) -> str:
        return self.user.display_name

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    def has_role(self, *roles: str) -> bool:
        return self.user.role in roles


class Anonymous(AnonymousUserMixin):
    role = None
    is_admin = False
    username = ""

    def has_role(self, *_roles: str) -> bool:
        return False


login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"
login_manager.anonymous_user = Anonymous


@login_manager.user_loader
def _load_user(user_id: str) -> WebUser | None:
    try:
        user = users.get_user(read_conn(), int(user_id))
    except ValueError:
        return None
    if user is None or not user.is_active:
        return None
    return WebUser(user)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _require_login() -> Any:
    """before_request: public endpoints pass, /api/ needs a token, every other page a session."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if is_api_request():
        return _require_token()
    if request.endpoint is None:
        return None  # a 404 is rendered by the error handler (without leaking anything)
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


def roles_required(*roles: str) -> Callable[[F], F]:
    """Refuse (403) a logged-in user whose role is not one of ``roles``."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def admin_required(func: F) -> F:
    return roles_required(*ADMIN)(func)


def requires(action: str) -> Callable[[F], F]:
    """Refuse (403) a user whose role may not perform ``action`` (permissions.ACTIONS)."""
    return roles_required(*permissions.roles_for(action))


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
    """At most ``limit`` failed sign-ins per (username, client address) per ``window`` seconds.

    Failures are counted in the database, so every uvicorn worker sees the same count; when the
    database cannot take the write (a long import holds it), this process's memory counts
    instead, so throttling never lapses.
    """

    def __init__(self, limit: int = 5, window: float = 15 * 60):
        self.limit = limit
        self.window = window
        self._memory: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, address: str) -> str:
        return f"{username.strip().lower()}|{address}"

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

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        now = time.time()
        times = self._recent(self._key(username, address), now)
        if len(times) < self.limit:
            return 0
        return max(1, int(self.window - (now - times[-self.limit])) + 1)

    def failed(self, username: str, address: str) -> None:
        key, now = self._key(username, address), time.time()
        try:
            users.record_login_failure(db_path(), key, now, self.window)
        except BookedBizError:
            with self._lock:
                self._memory.setdefault(key, deque()).append(now)
                if len(self._memory) > 10_000:  # bound memory under a spraying attack
                    self._memory.pop(next(iter(self._memory)), None)

    def succeeded(self, username: str, address: str) -> None:
        key = self._key(username, address)
        with self._lock:
            self._memory.pop(key, None)
        try:
            users.clear_login_failures(db_path(), key)
        except BookedBizError:
            pass


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.extensions["bookedbiz.throttle"] = LoginThrottle(
        app.config.get("LOGIN_FAIL_LIMIT", 5), app.config.get("LOGIN_FAIL_WINDOW", 15 * 60)
    )
    app.before_request(_require_login)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        if is_api_request():
            return jsonify(error="Authentication required."), 401
        nxt = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=nxt))


def throttle() -> LoginThrottle:
    from flask import current_app

    return current_app.extensions["bookedbiz.throttle"]
