"""Users, roles, passwords and API tokens: one module shared by the CLI and the web app.

Passwords are hashed with scrypt (Werkzeug); API tokens are random strings shown once and stored
only as their SHA-256, so a copy of the database never reveals a usable token. Writes take a
database path and run in their own short write transaction; reads take an open SQLAlchemy
connection so the web app can use its read-only one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, text
from werkzeug.security import check_password_hash, generate_password_hash

from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.errors import BookedBizError, NotFoundError

ROLES = ("admin", "manager", "ae", "viewer")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "bbz_"
_HASH_METHOD = "scrypt"
# Checked against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=_HASH_METHOD)


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    full_name: str | None
    role: str
    is_active: bool
    created_at: str
    last_login_at: str | None
    password_hash: str = field(repr=False, compare=False, default="")

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def public(self) -> dict[str, object]:
        """The user as plain data, without the password hash."""
        return {
            "user_id": self.user_id,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "is_active": self.is_active,
            "created_at": self.created_at,
            "last_login_at": self.last_login_at,
        }


@dataclass(frozen=True)
class ApiToken:
    token_id: int
    username: str
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


_USER_COLUMNS = (
    "user_id, username, full_name, role, is_active, created_at, last_login_at, password_hash"
)


def normalize_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise BookedBizError("A username must be 1 to 64 characters without spaces.")
    return name


def check_role(role: str) -> str:
    value = (role or "").strip().lower()
    if value not in ROLES:
        raise BookedBizError(f"Unknown role '{role}'; use one of {', '.join(ROLES)}.")
    return value


def check_password(password: str, username: str = "") -> None:
    """Refuse short passwords and the username itself, with one sentence."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise BookedBizError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    if username and password.strip().lower() == username.strip().lower():
        raise BookedBizError("A password must not be the username.")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_HASH_METHOD)


def _row_to_user(row) -> User:  # noqa: ANN001 - a database row
    return User(
        user_id=row[0],
        username=row[1],
        full_name=row[2],
        role=row[3],
        is_active=bool(row[4]),
        created_at=row[5],
        last_login_at=row[6],
        password_hash=row[7],
    )


def _audit(conn, actor: str, action: str, subject: str, detail: dict | None = None) -> None:  # noqa: ANN001
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (utc_now(), actor, action, subject, json.dumps(detail or {})),
    )


# --- reads -------------------------------------------------------------------------------------


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(text(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")).all()  # noqa: S608
    return [_row_to_user(r) for r in rows]


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = :id"),  # noqa: S608
        {"id": user_id},
    ).first()
    return _row_to_user(row) if row else None


def get_user_by_username(conn: Connection, username: str) -> User | None:
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} FROM users WHERE username = :u"),  # noqa: S608
        {"u": (username or "").strip().lower()},
    ).first()
    return _row_to_user(row) if row else None


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The active user whose password matches, else None (same cost whether or not they exist)."""
    user = get_user_by_username(conn, username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user if user.is_active else None


def list_tokens(conn: Connection, username: str | None = None) -> list[ApiToken]:
    sql = (
        "SELECT t.token_id, u.username, t.name, t.created_at, t.last_used_at, t.revoked_at "
        "FROM api_tokens t JOIN users u ON u.user_id = t.user_id"
    )
    params: dict[str, object] = {}
    if username is not None:
        sql += " WHERE u.username = :u"
        params["u"] = username.strip().lower()
    rows = conn.execute(text(sql + " ORDER BY t.token_id"), params).all()
    return [ApiToken(*row) for row in rows]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify_token(conn: Connection, token: str) -> tuple[User, int] | None:
    """The active user owning an unrevoked token, and the token's id; None otherwise."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    row = conn.execute(
        text(
            "SELECT t.token_id, t.token_hash, t.revoked_at, t.user_id FROM api_tokens t "
            "WHERE t.token_hash = :h"
        ),
        {"h": digest},
    ).first()
    if row is None or row[2] is not None or not hmac.compare_digest(row[1], digest):
        return None
    user = get_user(conn, row[3])
    if user is None or not user.is_active:
        return None
    return user, row[0]


# --- writes ------------------------------------------------------------------------------------


def _one_user_id(conn, username: str) -> int:  # noqa: ANN001 - sqlite3 connection
    row = conn.execute(
        "SELECT user_id FROM users WHERE username = ?", (normalize_username(username),)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"There is no user named '{username}'.")
    return row[0]


def create_user(
    db_path: Path,
    username: str,
    password: str,
    role: str,
    *,
    full_name: str | None = None,
    actor: str = "cli",
) -> int:
    """Add a user; returns the new user id. A taken username is an error."""
    name = normalize_username(username)
    role = check_role(role)
    check_password(password, name)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (name,)).fetchone():
                raise BookedBizError(f"A user named '{name}' already exists.")
            now = utc_now()
            cur = conn.execute(
                "INSERT INTO users (username, full_name, password_hash, role, is_active, "
                "created_at, password_changed_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                (name, (full_name or "").strip() or None, hash_password(password), role, now, now),
            )
            _audit(conn, actor, "user.create", name, {"role": role})
            return int(cur.lastrowid)
    finally:
        conn.close()


def set_password(db_path: Path, username: str, password: str, *, actor: str = "cli") -> None:
    check_password(password, username)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            user_id = _one_user_id(conn, username)
            conn.execute(
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE user_id = ?",
                (hash_password(password), utc_now(), user_id),
            )
            _audit(conn, actor, "user.passwd", normalize_username(username))
    finally:
        conn.close()


def set_active(db_path: Path, username: str, active: bool, *, actor: str = "cli") -> None:
    """Disable (or re-enable) a login; a disabled user's sessions and tokens stop working."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            user_id = _one_user_id(conn, username)
            if not active and _is_last_admin(conn, user_id):
                raise BookedBizError("The last active admin cannot be disabled.")
            conn.execute(
                "UPDATE users SET is_active = ? WHERE user_id = ?", (1 if active else 0, user_id)
            )
            action = "user.enable" if active else "user.disable"
            _audit(conn, actor, action, normalize_username(username))
    finally:
        conn.close()


def set_role(db_path: Path, username: str, role: str, *, actor: str = "cli") -> None:
    role = check_role(role)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            user_id = _one_user_id(conn, username)
            if role != "admin" and _is_last_admin(conn, user_id):
                raise BookedBizError("The last active admin cannot lose the admin role.")
            conn.execute("UPDATE users SET role = ? WHERE user_id = ?", (role, user_id))
            _audit(conn, actor, "user.set_role", normalize_username(username), {"role": role})
    finally:
        conn.close()


def _is_last_admin(conn, user_id: int) -> bool:  # noqa: ANN001 - sqlite3 connection
    row = conn.execute(
        "SELECT role, is_active FROM users WHERE user_id = ?", (user_id,)
    ).fetchone()
    if row is None or row[0] != "admin" or not row[1]:
        return False
    others = conn.execute(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = 1 AND user_id != ?",
        (user_id,),
    ).fetchone()[0]
    return others == 0


def record_login(db_path: Path, user_id: int) -> None:
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            conn.execute(
                "UPDATE users SET last_login_at = ? WHERE user_id = ?", (utc_now(), user_id)
            )
    finally:
        conn.close()


def create_token(db_path: Path, username: str, name: str, *, actor: str = "cli") -> tuple[int, str]:
    """A new API token for ``username``; returns (token id, the token) — shown only this once."""
    label = (name or "").strip()
    if not label or len(label) > 100:
        raise BookedBizError("A token needs a name of 1 to 100 characters.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            user_id = _one_user_id(conn, username)
            cur = conn.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
                "VALUES (?, ?, ?, ?)",
                (user_id, label, token_hash(token), utc_now()),
            )
            _audit(conn, actor, "token.create", normalize_username(username), {"name": label})
            return int(cur.lastrowid), token
    finally:
        conn.close()


def revoke_token(
    db_path: Path, token_id: int, *, username: str | None = None, actor: str = "cli"
) -> None:
    """Revoke a token; with ``username`` only that user's own token may be revoked."""
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            row = conn.execute(
                "SELECT t.token_id, u.username, t.revoked_at FROM api_tokens t "
                "JOIN users u ON u.user_id = t.user_id WHERE t.token_id = ?",
                (token_id,),
            ).fetchone()
            if row is None or (username is not None and row[1] != normalize_username(username)):
                raise NotFoundError(f"There is no API token with id {token_id}.")
            if row[2] is None:
                conn.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
                    (utc_now(), token_id),
                )
                _audit(conn, actor, "token.revoke", row[1], {"token_id": token_id})
    finally:
        conn.close()


def touch_token(db_path: Path, token_id: int) -> None:
    """Note when a token was last used (best effort: a busy database is not an API failure)."""
    try:
        conn = connect(db_path, busy_ms=200)
    except BookedBizError:
        return
    try:
        conn.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?", (utc_now(), token_id)
        )
    except Exception:  # noqa: BLE001 - best effort only
        pass
    finally:
        conn.close()


# -- sign-in throttling (shared by every web worker through the database) ---------------------

def record_login_failure(db_path: Path, key: str, at: float, keep_seconds: float) -> None:
    """Record one failed sign-in for ``key`` and forget failures older than ``keep_seconds``."""
    conn = connect(db_path, busy_ms=2000)
    try:
        with write_transaction(conn):
            conn.execute("INSERT INTO login_failures (throttle_key, at) VALUES (?, ?)",
                         (key, at))
            conn.execute("DELETE FROM login_failures WHERE at < ?", (at - keep_seconds,))
    finally:
        conn.close()


def recent_login_failures(conn: Connection, key: str, since: float) -> list[float]:
    """Times of ``key``'s failed sign-ins since ``since``, oldest first."""
    return list(conn.execute(
        text("SELECT at FROM login_failures WHERE throttle_key = :k AND at >= :s ORDER BY at"),
        {"k": key, "s": since}).scalars())


def clear_login_failures(db_path: Path, key: str) -> None:
    conn = connect(db_path, busy_ms=2000)
    try:
        with write_transaction(conn):
            conn.execute("DELETE FROM login_failures WHERE throttle_key = ?", (key,))
    finally:
        conn.close()
