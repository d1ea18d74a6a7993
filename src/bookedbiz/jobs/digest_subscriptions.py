"""Who gets which digest, and where (SPEC §2, Digests): the ``digest_subscriptions`` table.

A target is ``email`` (the user's own address, sent through MAIL_URL) or an Apprise URL the
user gives. A URL may carry a token or a password, so it is stored as given but only ever shown
through :func:`describe_target` (scheme and host), never logged or echoed back in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Connection, text

from bookedbiz.db.access import Database, writing_to
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, NotFoundError
from bookedbiz.notify import describe_url

KINDS = ("weekly", "daily")
EMAIL = "email"
MAX_TARGET_LENGTH = 2000


@dataclass(frozen=True)
class Subscription:
    subscription_id: int
    user_id: int
    username: str
    kind: str
    target: str = ""  # the stored target: never print it, use ``shown``
    last_sent_at: str | None = None
    last_sent_for: str | None = None

    @property
    def shown(self) -> str:
        return describe_target(self.target)

    @property
    def by_email(self) -> bool:
        return self.target == EMAIL


def describe_target(target: str) -> str:
    """A target as safe to show: 'e-mail' or an Apprise URL's scheme and host only."""
    return "e-mail" if target == EMAIL else describe_url(target)


def check_kind(kind: str) -> str:
    value = (kind or "").strip().lower()
    if value not in KINDS:
        raise BookedBizError(f"A digest is weekly or daily, not '{(kind or '')[:20]}'.")
    return value


def check_target(target: str | None) -> str:
    """'email' (the default) or something shaped like an Apprise URL (scheme://...)."""
    value = (target or EMAIL).strip()
    if value.lower() in (EMAIL, "e-mail"):
        return EMAIL
    if len(value) > MAX_TARGET_LENGTH or any(ch.isspace() for ch in value):
        raise BookedBizError("A digest target is 'email' or one Apprise URL without spaces.")
    try:
        split = urlsplit(value)
    except ValueError:
        split = None
    if split is None or not split.scheme or not value.startswith(f"{split.scheme}://") or \
            len(value) <= len(split.scheme) + 3:
        raise BookedBizError("A digest target is 'email' or an Apprise URL such as "
                             "ntfys://ntfy.sh/your-topic.")
    return value


def _user_id(conn: Connection, username: str) -> tuple[int, str | None]:
    row = conn.execute(text("SELECT user_id, email FROM users WHERE username = :u"),
                       {"u": (username or "").strip().lower()}).first()
    if row is None:
        raise NotFoundError(f"There is no user '{(username or '')[:64]}'.")
    return int(row[0]), row[1]


def subscribe(db: Database | str | Path, username: str, kind: str,
              target: str | None = None) -> str:
    """Add a subscription (idempotent); returns one sentence saying what now happens."""
    kind, target = check_kind(kind), check_target(target)
    with writing_to(db) as conn:
        user_id, email = _user_id(conn, username)
        if target == EMAIL and not email:
            raise BookedBizError(f"{username} has no e-mail address; set one first "
                                 "(bookedbiz users link … --email ADDRESS) or give an "
                                 "Apprise URL.")
        conn.execute(text(
            "INSERT INTO digest_subscriptions (user_id, kind, target, created_at) "
            "VALUES (:u, :k, :t, :at) ON CONFLICT (user_id, kind, target) DO NOTHING"),
            {"u": user_id, "k": kind, "t": target, "at": utc_now()})
    return f"{username} gets the {kind} digest by {describe_target(target)}."


def unsubscribe(db: Database | str | Path, username: str, subscription_id: int | None = None,
                kind: str | None = None) -> int:
    """Remove one subscription (by id) or every one of a kind of this user's; returns how many.
    A user can only ever remove their own."""
    with writing_to(db) as conn:
        user_id, _ = _user_id(conn, username)
        if subscription_id is not None:
            removed = conn.execute(text(
                "DELETE FROM digest_subscriptions WHERE subscription_id = :id "
                "AND user_id = :u"), {"id": int(subscription_id), "u": user_id}).rowcount
        else:
            removed = conn.execute(text(
                "DELETE FROM digest_subscriptions WHERE user_id = :u AND kind = :k"),
                {"u": user_id, "k": check_kind(kind or "")}).rowcount
    if not removed:
        raise NotFoundError("There is no such digest subscription.")
    return removed


_COLUMNS = ("SELECT d.subscription_id, d.user_id, u.username, d.kind, d.target, "
            "d.last_sent_at, d.last_sent_for FROM digest_subscriptions d "
            "JOIN users u ON u.user_id = d.user_id")


def list_subscriptions(conn: Connection, *, user_id: int | None = None,
                       kind: str | None = None) -> list[Subscription]:
    """Subscriptions (of one user / one kind), by user and kind."""
    parts, params = ["1 = 1"], {}
    if user_id is not None:
        parts.append("d.user_id = :u")
        params["u"] = user_id
    if kind is not None:
        parts.append("d.kind = :k")
        params["k"] = check_kind(kind)
    rows = conn.execute(text(f"{_COLUMNS} WHERE {' AND '.join(parts)} "
                             "ORDER BY u.username, d.kind, d.subscription_id"), params).all()
    return [Subscription(*row) for row in rows]


def record_sent(db: Database | str | Path, subscription_id: int, period: str) -> None:
    """Remember the period this subscription was last sent for (a second run sends nothing)."""
    with writing_to(db) as conn:
        conn.execute(text("UPDATE digest_subscriptions SET last_sent_at = :at, "
                          "last_sent_for = :p WHERE subscription_id = :id"),
                     {"at": utc_now(), "p": period, "id": subscription_id})
