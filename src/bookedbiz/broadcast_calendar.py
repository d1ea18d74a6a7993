"""The standard US broadcast calendar, and month labels.

Weeks run Monday–Sunday; a broadcast month ends on the last Sunday of its calendar month and
starts the day after the previous one ends, so it has 4 or 5 whole weeks. A date therefore belongs
to the broadcast month of the Sunday that ends its week. Months are stored as ``YYYY-MM`` (sortable)
and shown as ``Jan-25``.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from datetime import date, datetime, timedelta

MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = {name.lower(): i + 1 for i, name in enumerate(MONTH_ABBR)}
_MONTH_NAMES.update(
    {name.lower(): i for i, name in enumerate(_stdlib_calendar.month_name) if name}
)
_MONTH_NAMES["sept"] = 9


def month_key(year: int, month: int) -> str:
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise ValueError(f"no such month: {year}-{month}")
    return f"{year:04d}-{month:02d}"


def split_month(key: str) -> tuple[int, int]:
    return int(key[:4]), int(key[5:7])


def broadcast_month_of(day: date) -> str:
    """The broadcast month (``YYYY-MM``) containing ``day``."""
    sunday = day + timedelta(days=6 - day.weekday())
    return month_key(sunday.year, sunday.month)


def calendar_month_of(day: date) -> str:
    return month_key(day.year, day.month)


def month_of(day: date, billing_type: str | None) -> str:
    """Month a spot belongs to when the log gives none: Calendar billing or broadcast."""
    if billing_type and billing_type.strip().lower() == "calendar":
        return calendar_month_of(day)
    return broadcast_month_of(day)


def broadcast_month_end(key: str) -> date:
    """Last Sunday of the calendar month."""
    year, month = split_month(key)
    last = date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() + 1) % 7)


def broadcast_month_start(key: str) -> date:
    """Monday of the week containing the 1st (the day after the previous month's end)."""
    year, month = split_month(key)
    first = date(year, month, 1)
    return first - timedelta(days=first.weekday())


def broadcast_weeks(key: str) -> int:
    """Number of weeks (4 or 5) in a broadcast month."""
    return ((broadcast_month_end(key) - broadcast_month_start(key)).days + 1) // 7


def broadcast_year_range(year: int) -> tuple[date, date]:
    return broadcast_month_start(month_key(year, 1)), broadcast_month_end(month_key(year, 12))


def broadcast_year_weeks(year: int) -> int:
    """52, or 53 in years like 2023 and 2028."""
    start, end = broadcast_year_range(year)
    return ((end - start).days + 1) // 7


def broadcast_year_of(day: date) -> int:
    return int(broadcast_month_of(day)[:4])


def months_of_year(year: int) -> list[str]:
    return [month_key(year, m) for m in range(1, 13)]


def shift_month(key: str, delta: int) -> str:
    year, month = split_month(key)
    index = year * 12 + (month - 1) + delta
    return month_key(index // 12, index % 12 + 1)


def label(key: str) -> str:
    """``2025-01`` → ``Jan-25``."""
    year, month = split_month(key)
    return f"{MONTH_ABBR[month - 1]}-{year % 100:02d}"


def _two_digit_year(value: int) -> int:
    return 2000 + value if value < 70 else 1900 + value


_LABEL_RE = re.compile(r"^([A-Za-z]{3,9})\.?[\s\-/']*(\d{2}|\d{4})$")
_ISO_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[ T].*)?$")
_MONTH_YEAR_RE = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_US_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?(?: .*)?$")


def parse_month(value: object) -> str | None:
    """Read a month from a cell or an argument: date, ``Jan-25``, ``January 2025``, ``2025-01``,
    ``1/2025``, ``11/1/2024``. Returns ``YYYY-MM`` or None when it is not a month."""
    if isinstance(value, datetime | date):
        return month_key(value.year, value.month)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        match = _LABEL_RE.match(text)
        if match:
            number = _MONTH_NAMES.get(match.group(1).lower())
            if number is None:
                return None
            year = int(match.group(2))
            return month_key(_two_digit_year(year) if year < 100 else year, number)
        match = _ISO_RE.match(text)
        if match:
            return month_key(int(match.group(1)), int(match.group(2)))
        match = _MONTH_YEAR_RE.match(text)
        if match:
            return month_key(int(match.group(2)), int(match.group(1)))
        match = _US_RE.match(text)
        if match:
            first, second, third = match.groups()
            if third is None:  # M/YYYY or M/YY
                year = int(second)
                return month_key(_two_digit_year(year) if year < 100 else year, int(first))
            year = int(third)
            year = _two_digit_year(year) if year < 100 else year
            month = int(first) if int(first) <= 12 else int(second)  # D/M/Y when the first is > 12
            return month_key(year, month)
    except ValueError:
        return None
    return None
