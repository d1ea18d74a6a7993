"""The demo's replay schedule: which recaps and daily logs it imports, with which as-of dates.

Replaying every day would take minutes; the history is kept as validity intervals, so weekly logs
(on today's weekday, so last year's same-time dates are replayed too) followed by daily logs for
the last weeks give the same pacing answers at those dates. Months older than the previous
calendar month are closed by a recap as soon as they are, as Finance would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bookedbiz import broadcast_calendar as bc

HISTORY_YEARS = 2  # years of replayed daily logs (the rest of ``years`` comes from recaps)
DAILY_DAYS = 21  # the last weeks are replayed day by day


@dataclass
class DemoPlan:
    """What the demo imports, in order: (as-of date, kind, months) — kind 'close' or 'log'."""

    first_month: str
    last_month: str
    story_from: str
    steps: list[tuple[date, str, list[str]]] = field(default_factory=list)


def demo_plan(today: date, years: int, history_years: int = HISTORY_YEARS,
              daily_days: int = DAILY_DAYS) -> DemoPlan:
    current = bc.broadcast_month_of(today)
    replay_years = max(1, min(years, history_years))
    # two-plus years: a few extra weeks so the first replayed year has a same-time-last-year
    start = today - timedelta(days=364 * replay_years + 28)
    first_month = min(bc.shift_month(current, -12 * years),
                      bc.shift_month(bc.broadcast_month_of(start), -1))
    plan = DemoPlan(first_month, bc.shift_month(current, 12), bc.shift_month(current, -6))
    closed_until = bc.shift_month(bc.broadcast_month_of(start), -1)
    plan.steps.append((start, "close", _months(first_month, closed_until)))
    daily_from = today - timedelta(days=daily_days)
    days = [start + timedelta(days=7 * w) for w in range((daily_from - start).days // 7 + 1)]
    days = [d for d in days if d < daily_from]
    days += [daily_from + timedelta(days=n) for n in range((today - daily_from).days + 1)]
    for day in days:
        older = bc.shift_month(bc.calendar_month_of(day), -2)  # before the previous month
        if older > closed_until:
            plan.steps.append((day, "close", _months(bc.shift_month(closed_until, 1), older)))
            closed_until = older
        plan.steps.append((day, "log", []))
    return plan


def _months(first: str, last: str) -> list[str]:
    months = []
    while first <= last:
        months.append(first)
        first = bc.shift_month(first, 1)
    return months
