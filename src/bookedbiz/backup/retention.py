"""Which nightly backups to keep: N daily, M weekly, K monthly (grandfather-father-son).

Pure functions over parsed backup times, so the policy is testable without any storage. The
caller adds the protections that need state: the newest verified backup is always kept, and
nothing is pruned after a failed backup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RetentionPlan:
    keep: tuple[str, ...]
    delete: tuple[str, ...]
    reasons: dict[str, tuple[str, ...]]


def _bucket_keep(
    items: list[tuple[str, datetime]], count: int, bucket: Callable[[datetime], object]
) -> list[str]:
    """The newest backup of each of the ``count`` newest buckets that have a backup."""
    seen: set[object] = set()
    kept: list[str] = []
    for name, at in items:  # newest first
        key = bucket(at)
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.add(key)
        kept.append(name)
    return kept


def plan_retention(
    backups: Iterable[tuple[str, datetime]],
    *,
    keep_daily: int,
    keep_weekly: int,
    keep_monthly: int,
    protected: Iterable[str] = (),
) -> RetentionPlan:
    """Split nightly backups into keep/delete; ``protected`` names are always kept."""
    items = sorted(backups, key=lambda item: item[1], reverse=True)
    reasons: dict[str, list[str]] = {}
    rules = (
        ("daily", keep_daily, lambda at: at.date()),
        ("weekly", keep_weekly, lambda at: at.isocalendar()[:2]),
        ("monthly", keep_monthly, lambda at: (at.year, at.month)),
    )
    for label, count, bucket in rules:
        for name in _bucket_keep(items, count, bucket):
            reasons.setdefault(name, []).append(label)
    for name in protected:
        if any(name == n for n, _ in items):
            reasons.setdefault(name, []).append("newest verified")
    keep = tuple(n for n, _ in items if n in reasons)
    delete = tuple(n for n, _ in items if n not in reasons)
    return RetentionPlan(keep, delete, {k: tuple(v) for k, v in reasons.items()})
