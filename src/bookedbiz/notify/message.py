"""What an alert says: title, priority, tags and a size-capped body, built the same for every job.

Priorities use ntfy's own names (min, low, default, high, max); the system we replace sent
``Priority: info|error`` and every push was rejected with HTTP 400, silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

BODY_LIMIT_BYTES = 3500  # ntfy's default message limit is 4096 bytes; leave room for the title
LOG_LINE_LIMIT = 300
TAIL_LINES = 5


class Level(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"
    INFO = "info"


PRIORITY_ALIASES = {
    "1": "min", "min": "min",
    "2": "low", "low": "low",
    "3": "default", "default": "default", "normal": "default",
    "4": "high", "high": "high",
    "5": "max", "max": "max", "urgent": "max",
}
PRIORITY_CHOICES = tuple(PRIORITY_ALIASES)

DEFAULTS = {
    # level: (priority, ntfy tag, emoji)
    Level.SUCCESS: ("low", "white_check_mark", "✅"),
    Level.FAILURE: ("max", "rotating_light", "🚨"),
    Level.WARNING: ("default", "warning", "⚠️"),
    Level.INFO: ("low", "information_source", "ℹ️"),
}


def normalize_priority(value: str) -> str:
    """Map 1-5 / urgent / normal to one of ntfy's accepted names; anything else is an error."""
    try:
        return PRIORITY_ALIASES[str(value).strip().lower()]
    except KeyError:
        raise ValueError(
            f"Unknown priority {value!r}; use min, low, default, high, urgent or 1-5."
        ) from None


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    level: Level = Level.INFO
    priority: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        default_priority, tag, _emoji = DEFAULTS[self.level]
        object.__setattr__(self, "priority", normalize_priority(self.priority or default_priority))
        if not self.tags:
            object.__setattr__(self, "tags", (tag,))
        object.__setattr__(self, "body", cap_body(self.body))

    @property
    def emoji(self) -> str:
        return DEFAULTS[self.level][2]


def cap_body(text: str, limit: int = BODY_LIMIT_BYTES) -> str:
    """Keep the start (the summary) and the end (the log tail); cut the middle by UTF-8 bytes."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    marker = "\n… (truncated) …\n".encode()
    head_len = limit // 3
    tail_len = limit - head_len - len(marker)
    head = raw[:head_len].decode("utf-8", "ignore")
    tail = raw[-tail_len:].decode("utf-8", "ignore")
    return head + marker.decode() + tail


def tail_lines(lines: Iterable[str], count: int = TAIL_LINES) -> list[str]:
    """The last ``count`` non-empty lines, each shortened to a readable length."""
    kept = [line.rstrip() for line in lines if line.strip()]
    out = []
    for line in kept[-count:]:
        out.append(line if len(line) <= LOG_LINE_LIMIT else line[: LOG_LINE_LIMIT - 1] + "…")
    return out


def failure_body(summary: str, log_tail: list[str]) -> str:
    """The seeds' failure format: what failed, then the last lines of the log."""
    body = summary.strip()
    if log_tail:
        body += f"\n--- last {len(log_tail)} log lines ---\n" + "\n".join(log_tail)
    return body
