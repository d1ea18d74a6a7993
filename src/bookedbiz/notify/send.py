"""Deliver a :class:`Message` to every configured Apprise URL, bounded in time, never raising.

Apprise reads ntfy priority and tags from the URL query, so each message gets its own URL.
Each target is sent on its own thread with short socket timeouts and an overall deadline:
a hanging endpoint can delay a job by at most that deadline and never changes its exit code.
Apprise's own log records (which name ntfy topics) are read per call, redacted, never propagated.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bookedbiz.config import Settings
from bookedbiz.notify.message import Level, Message
from bookedbiz.notify.redact import Redactor, describe_url, split_urls

log = logging.getLogger("bookedbiz.notify")

SLACK_HOOK = re.compile(
    r"^https://hooks\.slack\.com/services/(?P<a>[^/\s]+)/(?P<b>[^/\s]+)/(?P<c>[^/\s?]+)/?$"
)
NTFY_SCHEMES = ("ntfy", "ntfys")


@dataclass(frozen=True)
class Delivery:
    target: str  # redacted description, safe to print
    ok: bool
    detail: str  # redacted


# Apprise's records name ntfy topics and webhook tokens: never let them reach the root logger.
# Each delivery reads its own records from Apprise's per-call capture and redacts them.
_apprise_logger = logging.getLogger("apprise")
_apprise_logger.addHandler(logging.NullHandler())
_apprise_logger.propagate = False


def _call_notes(result: object) -> list[str]:
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return []
    try:
        return [str(getattr(entry, "message", entry)) for entry in logs()
                if str(getattr(entry, "level", "WARNING")) not in ("DEBUG", "INFO", "TRACE")]
    except Exception:  # noqa: BLE001 - diagnostics only
        return []


def legacy_urls(settings: Settings) -> list[str]:
    """The seeds' NTFY_TOPIC and SLACK_WEBHOOK_URL as Apprise URLs."""
    urls = []
    if settings.ntfy_topic:
        urls.append(f"ntfys://ntfy.sh/{settings.ntfy_topic.strip()}")
    if settings.slack_webhook_url:
        hook = settings.slack_webhook_url.strip()
        match = SLACK_HOOK.match(hook)
        urls.append(f"slack://{match['a']}/{match['b']}/{match['c']}" if match else hook)
    return urls


def target_urls(settings: Settings) -> list[str]:
    """Every configured target, NOTIFY_URLS first, without duplicates."""
    seen: list[str] = []
    for url in [*split_urls(settings.notify_urls), *legacy_urls(settings)]:
        if url not in seen:
            seen.append(url)
    return seen


def url_for_message(url: str, message: Message, timeout: float) -> str:
    """Add this message's ntfy priority/tags and short socket timeouts to one Apprise URL."""
    try:
        split = urlsplit(url)
    except ValueError:
        return url
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    if split.scheme.lower() in NTFY_SCHEMES:
        query["priority"] = message.priority
        query["tags"] = ",".join(message.tags)
        query.pop("xtags", None)
    query.setdefault("cto", f"{timeout:g}")
    query.setdefault("rto", f"{timeout:g}")
    return urlunsplit((split.scheme, split.netloc, split.path, urlencode(query), split.fragment))


def _notify_type(level: Level) -> str:
    import apprise

    return {
        Level.SUCCESS: apprise.NotifyType.SUCCESS,
        Level.FAILURE: apprise.NotifyType.FAILURE,
        Level.WARNING: apprise.NotifyType.WARNING,
        Level.INFO: apprise.NotifyType.INFO,
    }[level]


def _deliver_one(url: str, message: Message, redactor: Redactor, timeout: float) -> Delivery:
    import apprise

    target = describe_url(url)
    try:
        app = apprise.Apprise()
        if not app.add(url_for_message(url, message, timeout)):
            return Delivery(target, False, "not a valid Apprise URL")
        ntfy = urlsplit(url).scheme.lower() in NTFY_SCHEMES
        title = message.title if ntfy else f"{message.emoji} {message.title}"
        result = app.notify(body=message.body, title=title,
                            notify_type=_notify_type(message.level))
        ok = bool(result)
        notes = _call_notes(result)
        detail = "delivered" if ok else ("; ".join(notes) or "the service refused the message")
        return Delivery(target, ok, redactor(detail))
    except Exception as exc:  # noqa: BLE001 - a notifier must never break the job
        return Delivery(target, False, redactor(f"{type(exc).__name__}: {exc}"))


def send_message(
    message: Message,
    settings: Settings,
    *,
    urls: list[str] | None = None,
    timeout: float | None = None,
) -> list[Delivery]:
    """Send to every target concurrently; returns one Delivery per target, within the deadline."""
    redactor = Redactor(settings, extra=urls or ())
    targets = target_urls(settings) if urls is None else urls
    socket_timeout = timeout if timeout is not None else settings.notify_timeout_seconds
    safe = Message(
        title=redactor(message.title),
        body=redactor(message.body),
        level=message.level,
        priority=message.priority,
        tags=message.tags,
    )
    results: list[Delivery | None] = [None] * len(targets)

    def work(index: int, url: str) -> None:
        results[index] = _deliver_one(url, safe, redactor, socket_timeout)

    threads = [
        threading.Thread(target=work, args=(i, url), name=f"notify-{i}", daemon=True)
        for i, url in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    # connect + read timeouts, plus a little for Apprise itself
    deadline = time.monotonic() + 2 * socket_timeout + 2
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    out = []
    for index, url in enumerate(targets):
        result = results[index] or Delivery(
            describe_url(url), False, f"no answer within {2 * socket_timeout + 2:g} s"
        )
        if not result.ok:
            log.warning("notification to %s failed: %s", result.target, result.detail)
        out.append(result)
    return out
