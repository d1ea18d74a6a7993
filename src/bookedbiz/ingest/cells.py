"""Converting one spreadsheet cell into a typed value.

Cells arrive from python-calamine as str, float, int, bool, date, datetime, time or timedelta,
and real logs mix them: text dates, ``$1,234.00`` text money, 12-hour text times. Each converter
returns the typed value or raises :class:`CellError` with the reason, so a row can be rejected
with file, sheet, row, column, value and reason.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from bookedbiz.money import AmountError, parse_micros

EXCEL_EPOCH = date(1899, 12, 30)


class CellError(ValueError):
    """A cell that cannot be read as the type its column needs."""


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str | None:
    """Trimmed text; numbers that are whole print without '.0' (contract 12345, not 12345.0)."""
    if value is None:
        return None
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    result = str(value).strip()
    return result or None


def money_micros(value: object) -> int | None:
    """Money as integer micro-dollars (the rule is :func:`bookedbiz.money.parse_micros`)."""
    try:
        return parse_micros(value)
    except AmountError as exc:
        raise CellError(str(exc)) from None


_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%Y-%m-%d", "%Y/%m/%d", "%d-%b-%Y", "%d-%b-%y",
                 "%b %d, %Y", "%B %d, %Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                 "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y")


def to_date(value: object) -> date | None:
    """A date cell, an Excel serial number, or date text (US ``11/25/2024`` first)."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError("not a date")
    if isinstance(value, int | float):
        if 1 <= value < 2_958_466:
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise CellError("not a date")
    raw = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CellError("not a date")


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?$")


def to_time_text(value: object) -> str | None:
    """``HH:MM:SS`` 24-hour text from a time cell, a fraction of a day, or text like ``7:00 PM``."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if isinstance(value, timedelta):
        seconds = int(round(value.total_seconds()))
        if seconds == 86400:
            seconds = 86399
        if not 0 <= seconds < 86400:
            raise CellError("not a time of day")
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if isinstance(value, bool):
        raise CellError("not a time of day")
    if isinstance(value, int | float):
        fraction = float(value) % 1.0 if value >= 1 else float(value)
        seconds = min(int(round(fraction * 86400)), 86399)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    match = _TIME_RE.match(str(value).strip())
    if not match:
        raise CellError("not a time of day")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    meridiem = (match[4] or "").replace(".", "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise CellError("not a time of day")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour == 24 and minute == 0 and second == 0:
        hour, minute, second = 23, 59, 59
    if hour > 23 or minute > 59 or second > 59:
        raise CellError("not a time of day")
    return f"{hour:02d}:{minute:02d}:{second:02d}"


_LENGTH_RE = re.compile(r"^(?:(\d+):)?(?:(\d{1,2}):)?(\d{1,2})(?:\.\d+)?$")


def to_seconds(value: object) -> int | None:
    """A spot length in seconds from ``0:00:30``, ``:30``, a duration/time cell, a fraction of a
    day, or a plain number of seconds."""
    if is_blank(value):
        return None
    if isinstance(value, timedelta):
        return int(round(value.total_seconds()))
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, bool):
        raise CellError("not a length")
    if isinstance(value, int | float):
        if value < 0:
            raise CellError("not a length")
        return int(round(value * 86400)) if value < 1 else int(round(value))
    raw = str(value).strip()
    if raw.startswith(":"):
        raw = "0" + raw
    if raw.isdigit():
        return int(raw)
    match = _LENGTH_RE.match(raw)
    if not match:
        raise CellError("not a length")
    parts = [int(p) for p in match.groups() if p is not None]
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def seconds_text(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def to_int(value: object) -> int | None:
    """Whole numbers (units, line, priority); ``3.0`` and ``"3"`` are 3, ``2.5`` is an error."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError("not a whole number")
    raw = str(value).strip().replace(",", "")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise CellError("not a whole number") from None
    if number != number.to_integral_value():
        raise CellError("not a whole number")
    return int(number)
