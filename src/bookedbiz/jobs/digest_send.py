"""Send digests through Apprise: HTML with the figures plus an XLSX attachment (SPEC §2).

The figures are composed by ``reports.digest`` (a layer above this one), handed in as a
``compose`` callable, so this module only decides who gets what and delivers it. E-mail goes
through MAIL_URL (an Apprise ``mailto://``/``mailtos://`` URL without recipients): each message
gets exactly one recipient, the user's own address, so nobody receives another user's book.
Every subject and body passes the redactor with MAIL_URL and the target added, so no secret we
know of can leave in a message; targets are only ever printed as scheme and host.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection

from bookedbiz import permissions, users
from bookedbiz.config import Settings
from bookedbiz.db.access import Database
from bookedbiz.errors import ConfigError, NotFoundError
from bookedbiz.jobs.digest_subscriptions import (
    Subscription,
    check_kind,
    describe_target,
    list_subscriptions,
    record_sent,
)
from bookedbiz.notify import Redactor

log = logging.getLogger("bookedbiz.digest")

MAIL_SCHEMES = ("mailto", "mailtos")
_RECIPIENT_KEYS = ("to", "cc", "bcc")
_PLAIN_KEYS = (*_RECIPIENT_KEYS, "from", "name", "mode", "smtp", "cto", "rto", "format")


@dataclass(frozen=True)
class DigestMessage:
    """One user's digest, ready to send: the period it covers names it for 'sent once'."""

    kind: str
    period: str  # e.g. "weekly:2026-06-15" or "daily:2026-06-14..2026-06-15"
    subject: str
    html: str
    text: str
    xlsx: bytes = field(repr=False)
    filename: str = "digest.xlsx"


@dataclass(frozen=True)
class DigestResult:
    username: str
    kind: str
    target: str  # safe to print
    status: str  # sent, failed, skipped
    detail: str


Composer = Callable[[Connection, users.User], DigestMessage]


def email_url(mail_url: str | None, address: str) -> str:
    """MAIL_URL with ``to=address`` as its one recipient (any to/cc/bcc it had is dropped)."""
    if not mail_url:
        raise ConfigError("E-mail digests need MAIL_URL (an Apprise mailto:// or mailtos:// "
                          "URL of the mail server, without recipients).")
    split = urlsplit(mail_url.strip())
    if split.scheme.lower() not in MAIL_SCHEMES:
        raise ConfigError("MAIL_URL must be an Apprise mailto:// or mailtos:// URL.")
    if split.path.strip("/"):
        raise ConfigError("MAIL_URL must not name recipients: each user's own address is "
                          "added to every message.")
    query = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True)
             if k.lower() not in _RECIPIENT_KEYS]
    query.append(("to", address))
    return urlunsplit((split.scheme, split.netloc, "", urlencode(query), ""))


def _with_timeouts(url: str, timeout: float) -> str:
    split = urlsplit(url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    query.setdefault("cto", f"{timeout:g}")
    query.setdefault("rto", f"{timeout:g}")
    return urlunsplit((split.scheme, split.netloc, split.path, urlencode(query), split.fragment))


def deliver(message: DigestMessage, url: str, redactor: Redactor, timeout: float) -> tuple[
        bool, str]:
    """Send one digest to one Apprise URL with its XLSX attached; (ok, redacted detail)."""
    import apprise

    try:
        app = apprise.Apprise()
        if not app.add(_with_timeouts(url, timeout)):
            return False, "not a valid Apprise URL"
        with tempfile.TemporaryDirectory(prefix="bookedbiz-digest-") as folder:
            attachment = Path(folder) / message.filename
            attachment.write_bytes(message.xlsx)
            with apprise.LogCapture(level=logging.WARNING) as notes:
                ok = bool(app.notify(body=redactor(message.html), title=redactor(message.subject),
                                     body_format=apprise.NotifyFormat.HTML,
                                     attach=str(attachment)))
            detail = "delivered" if ok else (notes.getvalue().strip().replace("\n", "; ")
                                             or "the service refused the message")
        return ok, redactor(detail)
    except Exception as exc:  # noqa: BLE001 - one bad target must not stop the others
        return False, redactor(f"{type(exc).__name__}: {exc}")


def secret_parts(url: str) -> list[str]:
    """The pieces of a target URL that may be credentials (the URL, its password and user,
    its path segments), so a message or an error text never carries them."""
    if not url:
        return []
    parts = [url]
    try:
        split = urlsplit(url)
        parts.append(split.password or "")
        if split.username and len(split.username) >= 8:  # short ones are words, not secrets
            parts.append(split.username)
        parts += [seg for seg in split.path.split("/") if len(seg) >= 6]
        parts += [value for key, value in parse_qsl(split.query)
                  if len(value) >= 12 and key.lower() not in _PLAIN_KEYS]
    except ValueError:
        pass
    return [part for part in parts if part]


def target_url(subscription: Subscription, user: users.User, settings: Settings) -> str:
    """Where a subscription's digest goes: the user's address through MAIL_URL, or the URL."""
    if subscription.by_email:
        if not user.email:
            raise ConfigError(f"{user.username} has no e-mail address.")
        return email_url(settings.mail_url, user.email)
    return subscription.target


def send_digests(db_path: Database | str | Path, conn: Connection, settings: Settings, kind: str,
                 compose: Composer, *, username: str | None = None,
                 force: bool = False) -> list[DigestResult]:
    """Send the ``kind`` digest to every subscription (of ``username``), each user's composed
    for their own scope; a subscription already sent for the same period is skipped unless
    ``force``. Never raises for one target: each result says what happened."""
    kind = check_kind(kind)
    subs = list_subscriptions(conn, kind=kind)
    if username is not None:
        name = username.strip().lower()
        subs = [s for s in subs if s.username == name]
        if users.get_user_by_username(conn, name) is None:
            raise NotFoundError(f"There is no user '{username[:64]}'.")
        if not subs:
            raise NotFoundError(f"{name} has no {kind} digest subscription; add one with "
                                f"'bookedbiz digest subscribe {name} {kind}'.")
    results: list[DigestResult] = []
    composed: dict[int, DigestMessage] = {}
    for sub in subs:
        shown = describe_target(sub.target)
        user = users.get_user(conn, sub.user_id)
        if user is None or not user.is_active or not permissions.can(user.role,
                                                                     "receive_digests"):
            results.append(DigestResult(sub.username, kind, shown, "skipped",
                                        "the user is disabled or may not receive digests"))
            continue
        if sub.user_id not in composed:
            composed[sub.user_id] = compose(conn, user)
        message = composed[sub.user_id]
        if sub.last_sent_for == message.period and not force:
            results.append(DigestResult(sub.username, kind, shown, "skipped",
                                        f"already sent for {message.period}"))
            continue
        try:
            url = target_url(sub, user, settings)
        except ConfigError as exc:
            results.append(DigestResult(sub.username, kind, shown, "failed", str(exc)))
            continue
        redactor = Redactor(settings, extra=[*secret_parts(url),
                                             *secret_parts(settings.mail_url or "")])
        ok, detail = deliver(message, url, redactor, settings.notify_timeout_seconds)
        if ok:
            record_sent(db_path, sub.subscription_id, message.period)
        else:
            log.warning("digest to %s for %s failed: %s", shown, sub.username, detail)
        results.append(DigestResult(sub.username, kind, shown, "sent" if ok else "failed",
                                    detail))
    return results
