"""Users, roles, passwords and API tokens: one module shared by the CLI and the web app.

Passwords are hashed with scrypt (Werkzeug); API tokens are random strings shown once and stored
only as their SHA-256, so a copy of the database never reveals a usable token. Writes take a
database (a SQLite path, a DATABASE_URL or an open ``Database``) and run in their own short
write transaction; reads take an open Core connection so the web app can use its read-only one.

Each user has a session version that is part of every web session's identity: bumping it (at
sign-out, a password change or reset, a role change, disabling) ends every session of that user
for good, even one whose cookie was copied. An ``ae`` user is linked to the AE whose book alone
they may see.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from sqlalchemy import Connection, text
from werkzeug.security import check_password_hash, generate_password_hash

from bookedbiz import permissions
from bookedbiz.db.access import Database, writing_to
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.vocab import name_key

ROLES = permissions.ROLES
# Roles that see only one AE's book must be linked to that AE.
SCOPED_ROLES = tuple(r for r in ROLES if not permissions.can(r, "see_every_book"))
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "bbz_"
_HASH_METHOD = "scrypt"
# What a write takes: a SQLite path, a DATABASE_URL, or an open Database.
DatabaseTarget: TypeAlias = "Database | str | Path"
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
    session_version: int = 0
    ae_id: int | None = None
    ae_name: str | None = None
    email: str | None = None

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
            "ae": self.ae_name,
            "email": self.email,
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
    "u.user_id, u.username, u.full_name, u.role, u.is_active, u.created_at, u.last_login_at, "
    "u.password_hash, u.session_version, u.ae_id, a.name, u.email "
    "FROM users u LEFT JOIN aes a ON a.ae_id = u.ae_id"
)


# The scope of a reader who may see only one book but is linked to no AE: an id no AE has, so
# every scoped query returns nothing (never the whole station).
NO_BOOK = 0


def book_scope(user: User | None) -> int | None:
    """The AE whose book alone ``user`` may see (``ReportFilters.scope_ae_id``): None for a
    role that sees every book. The web app, the API and digests all ask this one function."""
    if user is not None and permissions.can(user.role, "see_every_book"):
        return None
    return user.ae_id if user is not None and user.ae_id is not None else NO_BOOK


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
        session_version=int(row[8] or 0),
        ae_id=row[9],
        ae_name=row[10],
        email=row[11],
    )


def _audit(conn: Connection, actor: str, action: str, subject: str,
           detail: dict | None = None) -> None:
    conn.execute(
        text("INSERT INTO audit_log (at, actor, action, subject, detail) "
             "VALUES (:at, :actor, :action, :subject, :detail)"),
        {"at": utc_now(), "actor": actor, "action": action, "subject": subject,
         "detail": json.dumps(detail or {})},
    )


# --- reads -------------------------------------------------------------------------------------


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(text(f"SELECT {_USER_COLUMNS} ORDER BY u.username")).all()  # noqa: S608
    return [_row_to_user(r) for r in rows]


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} WHERE u.user_id = :id"),  # noqa: S608
        {"id": user_id},
    ).first()
    return _row_to_user(row) if row else None


def get_user_by_username(conn: Connection, username: str) -> User | None:
    row = conn.execute(
        text(f"SELECT {_USER_COLUMNS} WHERE u.username = :u"),  # noqa: S608
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
#
# Every write takes the database (a path, a DATABASE_URL or an open Database) and runs in its own
# short write transaction (``writing_to``): checked first, so a refusal changes nothing.


def _one_user_id(conn: Connection, username: str) -> int:
    row = conn.execute(text("SELECT user_id FROM users WHERE username = :u"),
                       {"u": normalize_username(username)}).first()
    if row is None:
        raise NotFoundError(f"There is no user named '{username}'.")
    return int(row[0])


def check_email(email: str | None) -> str | None:
    """A plausible e-mail address (lower-cased domain), or None when blank."""
    value = (email or "").strip()
    if not value:
        return None
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise BookedBizError(f"'{value[:60]}' is not an e-mail address.")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def resolve_ae(conn: Connection, ae_name: str) -> int:
    """The AE an ``ae`` user is linked to, found by name or by one of its aliases."""
    key = name_key(ae_name or "")
    if not key:
        raise BookedBizError("Give the AE's name, as it appears in the reports.")
    row = conn.execute(text("SELECT ae_id FROM aes WHERE name_key = :k"), {"k": key}).first()
    if row is None:
        row = conn.execute(text("SELECT ae_id FROM ae_aliases WHERE alias_key = :k"),
                           {"k": key}).first()
    if row is None:
        raise NotFoundError(
            f"There is no AE named '{ae_name.strip()[:100]}'; use a name from the AEs report."
        )
    return int(row[0])


def _require_ae_link(role: str, ae_id: int | None) -> None:
    if role in SCOPED_ROLES and ae_id is None:
        raise BookedBizError(
            f"A user with the role {role} must be linked to an AE (give the AE's name)."
        )


def _bump_sessions(conn: Connection, user_id: int) -> None:
    conn.execute(text("UPDATE users SET session_version = session_version + 1 "
                      "WHERE user_id = :id"), {"id": user_id})


def _revoke_tokens_of(conn: Connection, user_id: int) -> int:
    result = conn.execute(
        text("UPDATE api_tokens SET revoked_at = :at WHERE user_id = :id "
             "AND revoked_at IS NULL"), {"at": utc_now(), "id": user_id})
    return int(result.rowcount)


def create_user(
    db: DatabaseTarget,
    username: str,
    password: str,
    role: str,
    *,
    full_name: str | None = None,
    ae: str | None = None,
    email: str | None = None,
    actor: str = "cli",
) -> int:
    """Add a user; returns the new user id. A taken username is an error; an ``ae`` user
    needs the name of their AE."""
    name = normalize_username(username)
    role = check_role(role)
    address = check_email(email)
    check_password(password, name)
    with writing_to(db) as conn:
        if conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": name}).first():
            raise BookedBizError(f"A user named '{name}' already exists.")
        ae_id = resolve_ae(conn, ae) if (ae or "").strip() else None
        _require_ae_link(role, ae_id)
        now = utc_now()
        user_id = conn.execute(
            text("INSERT INTO users (username, full_name, password_hash, role, is_active, "
                 "created_at, password_changed_at, ae_id, email) VALUES (:u, :full, :hash, "
                 ":role, :active, :now, :now, :ae, :email) RETURNING user_id"),
            {"u": name, "full": (full_name or "").strip() or None,
             "hash": hash_password(password), "role": role, "active": True, "now": now,
             "ae": ae_id, "email": address},
        ).scalar_one()
        _audit(conn, actor, "user.create", name, {"role": role, "ae_id": ae_id})
    return int(user_id)


def set_password(
    db: DatabaseTarget,
    username: str,
    password: str,
    *,
    actor: str = "cli",
    revoke_tokens: bool = True,
) -> int:
    """Set a password and end every session of the user. A reset (the default: an admin or the
    CLI) also revokes all the user's API tokens; returns how many were revoked."""
    check_password(password, username)
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        conn.execute(text("UPDATE users SET password_hash = :h, password_changed_at = :at "
                          "WHERE user_id = :id"),
                     {"h": hash_password(password), "at": utc_now(), "id": user_id})
        _bump_sessions(conn, user_id)
        revoked = _revoke_tokens_of(conn, user_id) if revoke_tokens else 0
        _audit(conn, actor, "user.passwd", normalize_username(username),
               {"tokens_revoked": revoked})
    return revoked


def set_active(db: DatabaseTarget, username: str, active: bool, *, actor: str = "cli") -> None:
    """Disable (or re-enable) a login; a disabled user's sessions and tokens stop working."""
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        if not active and _is_last_admin(conn, user_id):
            raise BookedBizError("The last active admin cannot be disabled.")
        conn.execute(text("UPDATE users SET is_active = :a WHERE user_id = :id"),
                     {"a": bool(active), "id": user_id})
        if not active:
            _bump_sessions(conn, user_id)
        action = "user.enable" if active else "user.disable"
        _audit(conn, actor, action, normalize_username(username))


def set_role(
    db: DatabaseTarget, username: str, role: str, *, ae: str | None = None,
    actor: str = "cli",
) -> None:
    """Change a role (and, with ``ae``, the AE link); every session of the user ends."""
    role = check_role(role)
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        if role != "admin" and _is_last_admin(conn, user_id):
            raise BookedBizError("The last active admin cannot lose the admin role.")
        if (ae or "").strip():
            conn.execute(text("UPDATE users SET ae_id = :ae WHERE user_id = :id"),
                         {"ae": resolve_ae(conn, ae or ""), "id": user_id})
        linked = conn.execute(text("SELECT ae_id FROM users WHERE user_id = :id"),
                              {"id": user_id}).scalar()
        _require_ae_link(role, linked)
        conn.execute(text("UPDATE users SET role = :r WHERE user_id = :id"),
                     {"r": role, "id": user_id})
        _bump_sessions(conn, user_id)
        _audit(conn, actor, "user.set_role", normalize_username(username), {"role": role})


def set_link(
    db: DatabaseTarget,
    username: str,
    *,
    ae: str | None = None,
    email: str | None = None,
    actor: str = "cli",
) -> None:
    """Link a user to an AE and set their e-mail address. None keeps a value, a blank clears
    it (unlinking an ``ae`` user is refused: they would have no book)."""
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        role, ae_id, address = conn.execute(
            text("SELECT role, ae_id, email FROM users WHERE user_id = :id"), {"id": user_id}
        ).one()
        if ae is not None:
            ae_id = resolve_ae(conn, ae) if ae.strip() else None
        if email is not None:
            address = check_email(email)
        _require_ae_link(role, ae_id)
        conn.execute(text("UPDATE users SET ae_id = :ae, email = :e WHERE user_id = :id"),
                     {"ae": ae_id, "e": address, "id": user_id})
        _audit(conn, actor, "user.link", normalize_username(username),
               {"ae_id": ae_id, "email": bool(address)})


def end_sessions(db: DatabaseTarget, username: str, *, actor: str = "cli") -> None:
    """End every session of a user (sign-out, "sign out everywhere"): their cookies, copied
    or not, stop working at the next request."""
    with writing_to(db) as conn:
        _bump_sessions(conn, _one_user_id(conn, username))
        _audit(conn, actor, "user.end_sessions", normalize_username(username))


def revoke_all_tokens(db: DatabaseTarget, username: str, *, actor: str = "cli") -> int:
    """Revoke every API token of ``username``; returns how many were still active."""
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        revoked = _revoke_tokens_of(conn, user_id)
        _audit(conn, actor, "token.revoke_all", normalize_username(username),
               {"revoked": revoked})
    return revoked


def _is_last_admin(conn: Connection, user_id: int) -> bool:
    row = conn.execute(text("SELECT role, is_active FROM users WHERE user_id = :id"),
                       {"id": user_id}).first()
    if row is None or row[0] != "admin" or not row[1]:
        return False
    others = conn.execute(
        text("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = :yes "
             "AND user_id != :id"), {"yes": True, "id": user_id}).scalar()
    return int(others or 0) == 0


def record_login(db: DatabaseTarget, user_id: int) -> None:
    with writing_to(db) as conn:
        conn.execute(text("UPDATE users SET last_login_at = :at WHERE user_id = :id"),
                     {"at": utc_now(), "id": user_id})


def create_token(db: DatabaseTarget, username: str, name: str, *,
                 actor: str = "cli") -> tuple[int, str]:
    """A new API token for ``username``; returns (token id, the token) — shown only this once."""
    label = (name or "").strip()
    if not label or len(label) > 100:
        raise BookedBizError("A token needs a name of 1 to 100 characters.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with writing_to(db) as conn:
        user_id = _one_user_id(conn, username)
        token_id = conn.execute(
            text("INSERT INTO api_tokens (user_id, name, token_hash, created_at) "
                 "VALUES (:u, :n, :h, :at) RETURNING token_id"),
            {"u": user_id, "n": label, "h": token_hash(token), "at": utc_now()},
        ).scalar_one()
        _audit(conn, actor, "token.create", normalize_username(username), {"name": label})
    return int(token_id), token


def revoke_token(
    db: DatabaseTarget, token_id: int, *, username: str | None = None, actor: str = "cli"
) -> None:
    """Revoke a token; with ``username`` only that user's own token may be revoked."""
    with writing_to(db) as conn:
        row = conn.execute(
            text("SELECT t.token_id, u.username, t.revoked_at FROM api_tokens t "
                 "JOIN users u ON u.user_id = t.user_id WHERE t.token_id = :id"),
            {"id": token_id},
        ).first()
        if row is None or (username is not None and row[1] != normalize_username(username)):
            raise NotFoundError(f"There is no API token with id {token_id}.")
        if row[2] is None:
            conn.execute(text("UPDATE api_tokens SET revoked_at = :at WHERE token_id = :id"),
                         {"at": utc_now(), "id": token_id})
            _audit(conn, actor, "token.revoke", row[1], {"token_id": token_id})


def touch_token(db: DatabaseTarget, token_id: int) -> None:
    """Note when a token was last used (best effort: a busy database is not an API failure)."""
    try:
        with writing_to(db, busy_ms=200) as conn:
            conn.execute(text("UPDATE api_tokens SET last_used_at = :at WHERE token_id = :id"),
                         {"at": utc_now(), "id": token_id})
    except Exception:  # noqa: BLE001 - best effort only
        pass


# -- sign-in throttling (shared by every web worker through the database) ---------------------

def record_login_failure(
    db: DatabaseTarget, keys: str | tuple[str, ...], at: float, keep_seconds: float
) -> None:
    """Record one failed sign-in under each of ``keys`` (e.g. user and address, user, all) and
    forget failures older than ``keep_seconds``."""
    with writing_to(db, busy_ms=2000) as conn:
        conn.execute(text("INSERT INTO login_failures (throttle_key, at) VALUES (:k, :at)"),
                     [{"k": key, "at": at}
                      for key in ((keys,) if isinstance(keys, str) else keys)])
        conn.execute(text("DELETE FROM login_failures WHERE at < :t"),
                     {"t": at - keep_seconds})


def recent_login_failures(conn: Connection, key: str, since: float) -> list[float]:
    """Times of ``key``'s failed sign-ins since ``since``, oldest first."""
    return [float(t) for t in conn.execute(
        text("SELECT at FROM login_failures WHERE throttle_key = :k AND at >= :s ORDER BY at"),
        {"k": key, "s": since}).scalars()]


def clear_login_failures(db: DatabaseTarget, key: str) -> None:
    with writing_to(db, busy_ms=2000) as conn:
        conn.execute(text("DELETE FROM login_failures WHERE throttle_key = :k"), {"k": key})
