"""Remove secrets from any text before it reaches a log line, a terminal or a notification.

The system we replace pushed log tails to a public ntfy topic and kept a topic name in the repo.
Every line the job runner writes and every message we send passes through :func:`redact`.
Two layers: the exact secret values we know (settings and secret-looking environment
variables), then patterns for secrets we do not know (URL passwords, Slack hooks, tokens).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from bookedbiz.config import Settings

MASK = "***"

# Settings fields whose values are secrets (or, for ntfy, a topic that acts as a password).
SECRET_FIELDS = (
    "ntfy_topic",
    "slack_webhook_url",
    "dropbox_app_key",
    "dropbox_app_secret",
    "dropbox_refresh_token",
    "dropbox_access_token",
    "secret_key",
)
SECRET_ENV_WORDS = (
    "SECRET", "TOKEN", "PASSWORD", "PASSWD", "WEBHOOK", "TOPIC", "APP_KEY", "CREDENTIAL", "NTFY",
)
MIN_SECRET_LENGTH = 4
MIN_ENV_SECRET_LENGTH = 6

_PATTERNS = (
    # user:password@ in any URL
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://)[^\s/@:]*:[^\s/@]*@", re.I), r"\g<keep>***@"),
    # a bare token@host in notification URLs (ntfy tokens, Apprise user parts)
    (re.compile(r"(?P<keep>[a-z][a-z0-9+.-]*://)(tk_|xox[a-z]-)[^\s/@]*@", re.I), r"\g<keep>***@"),
    # Slack incoming webhooks
    (re.compile(r"(?P<keep>hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)\S+"),
     r"\g<keep>***"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"\btk_[A-Za-z0-9]{8,}"), MASK),
    (re.compile(r"(?P<keep>\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), r"\g<keep>***"),
    (re.compile(r"\bsl\.[A-Za-z0-9_-]{20,}"), MASK),  # Dropbox short-lived access tokens
    # KEY=value for secret-looking names (env dumps, command lines)
    (re.compile(r"(?P<keep>\b[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|WEBHOOK)[A-Z0-9_]*=)\S+"),
     r"\g<keep>***"),
)


def _url_parts(url: str) -> list[str]:
    """The secret pieces of a notification URL: the whole URL, its path segments, its userinfo."""
    parts = [url]
    try:
        split = urlsplit(url)
    except ValueError:
        return parts
    if split.password:
        parts.append(split.password)
    if split.username and (split.password or len(split.username) >= 8):
        parts.append(split.username)
    parts.extend(seg for seg in split.path.split("/") if len(seg) >= MIN_SECRET_LENGTH)
    if split.netloc and split.scheme not in ("http", "https", "ntfy", "ntfys", "json", "form",
                                             "jsons", "forms", "xml", "xmls"):
        # slack://TOKEN_A/..., tgram://BOT_TOKEN/...: the "host" is a credential
        host = split.hostname or ""
        if len(host) >= MIN_SECRET_LENGTH and "." not in host:
            parts.append(host)
    return parts


def secret_values(settings: Settings | None) -> list[str]:
    """Every secret string we know of, longest first so substrings do not break masking."""
    values: set[str] = set()
    if settings is not None:
        for name in SECRET_FIELDS:
            value = getattr(settings, name, None)
            if value and len(str(value)) >= MIN_SECRET_LENGTH:
                values.add(str(value))
        if settings.slack_webhook_url:
            values.update(_url_parts(settings.slack_webhook_url))
        for url in split_urls(settings.notify_urls):
            values.update(_url_parts(url))
        values.add(_database_password(settings.database_url))
    for name, value in os.environ.items():
        upper = name.upper()
        if any(word in upper for word in SECRET_ENV_WORDS) and len(value) >= MIN_ENV_SECRET_LENGTH:
            values.add(value)
        elif upper in ("NOTIFY_URLS", "SLACK_WEBHOOK_URL"):
            for url in split_urls(value):
                values.update(_url_parts(url))
    values = {v for v in values if len(v) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def _database_password(url: str | None) -> str:
    """DATABASE_URL's password alone: messages name its host and database (db/server.py)."""
    try:
        return (urlsplit(url).password or "") if url else ""
    except ValueError:
        return ""


def split_urls(raw: str | None) -> list[str]:
    """NOTIFY_URLS is comma or whitespace separated."""
    if not raw:
        return []
    return [part for part in re.split(r"[\s,]+", raw.strip()) if part]


class Redactor:
    """Secret values computed once, applied to many lines (the runner streams output)."""

    def __init__(self, settings: Settings | None = None, extra: Iterable[str] = ()):
        known = {e for e in extra if e and len(e) >= MIN_SECRET_LENGTH}
        known.update(secret_values(settings))
        self.values = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def redact(text: str, settings: Settings | None = None, extra: Iterable[str] = ()) -> str:
    """Return ``text`` with known secret values and secret-shaped strings replaced by ***."""
    return Redactor(settings, extra)(text)


def describe_url(url: str) -> str:
    """A notification target as safe to show: scheme and host only (``ntfys://ntfy.sh/***``)."""
    try:
        split = urlsplit(url)
    except ValueError:
        return MASK
    scheme = split.scheme or "?"
    host = split.hostname or ""
    if scheme in ("slack", "tgram", "discord", "msteams", "pushover") or "." not in host and (
        host not in ("localhost",) and not host.replace(".", "").isdigit()
    ):
        host = ""
    try:
        port = f":{split.port}" if host and split.port else ""
    except ValueError:
        port = ""
    return f"{scheme}://{host}{port}/{MASK}" if host else f"{scheme}://{MASK}"
