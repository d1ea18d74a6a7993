"""The as-of date of an import: the day whose booked state it records (SPEC §1.4).

Explicit ``--as-of`` wins, then the date in a ``Commercial Log YYMMDD.xlsx`` file name, then today
in the station's time zone (a log exported just after midnight UTC is still the station's
yesterday). The date feeds the previous-month rule and the booking history.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bookedbiz.errors import ConfigError

if TYPE_CHECKING:  # the command line parses --as-of before the import loads SQLAlchemy
    from sqlalchemy import Connection

DEFAULT_TIMEZONE = "America/Los_Angeles"
_FILE_DATE = re.compile(r"commercial log (\d{2})(\d{2})(\d{2})\b", re.IGNORECASE)


class AsOfError(ConfigError):
    """An as-of date that cannot be used (malformed, in the future, older than the history)."""


def station_timezone() -> str:
    """The configured STATION_TIMEZONE (the default when settings cannot be read)."""
    try:
        from bookedbiz.config import cached_settings

        return cached_settings().station_timezone or DEFAULT_TIMEZONE
    except Exception:  # noqa: BLE001 - a broken env file is reported elsewhere
        return DEFAULT_TIMEZONE


def station_today(timezone: str | None = None) -> date:
    name = timezone or station_timezone()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"STATION_TIMEZONE '{name}' is not a time zone; use a name like America/Los_Angeles."
        ) from None
    return datetime.now(zone).date()


def parse_as_of(text: str | None, option: str = "--as-of") -> date | None:
    """``YYYY-MM-DD`` → date; None stays None; anything else is one clear sentence."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise AsOfError(f"{option} '{text[:30]}' is not a date; write it as YYYY-MM-DD.") from None


def date_in_file_name(path: str | Path | None) -> date | None:
    """The date of a ``Commercial Log YYMMDD.xlsx`` name (2000–2099), else None."""
    if path is None:
        return None
    match = _FILE_DATE.search(Path(path).name)
    if not match:
        return None
    yy, mm, dd = (int(g) for g in match.groups())
    try:
        return date(2000 + yy, mm, dd)
    except ValueError:
        return None


def resolve_as_of(explicit: date | None, file_path: str | Path | None,
                  today: date | None = None) -> date:
    """The import's as-of date; refuses a date after the station's today."""
    today = today or station_today()
    as_of = explicit or date_in_file_name(file_path) or today
    if as_of > today:
        raise AsOfError(
            f"The as-of date {as_of.isoformat()} is in the future (today is "
            f"{today.isoformat()} at the station); nothing was imported."
        )
    return as_of


def newest_recorded_as_of(conn: Connection, station_id: int | None = None) -> date | None:
    """The latest as-of date any completed import (or backfill) recorded: of one station (and
    the records of every station, e.g. a merge) when ``station_id`` is given, else of all."""
    from sqlalchemy import text

    if station_id is None:
        newest = conn.execute(text("SELECT MAX(as_of) FROM history_records")).scalar()
    else:
        newest = conn.execute(text(
            "SELECT MAX(as_of) FROM history_records WHERE station_id = :sid "
            "OR station_id IS NULL"), {"sid": int(station_id)}).scalar()
    return date.fromisoformat(newest) if newest else None


def refuse_older_than_history(conn: Connection, as_of: date,
                              station_id: int | None = None) -> None:
    """An import may not rewrite the past: its date must be on or after the newest one its
    station recorded (stations keep their own history)."""
    newest = newest_recorded_as_of(conn, station_id)
    if newest is not None and as_of < newest:
        raise AsOfError(
            f"The as-of date {as_of.isoformat()} is older than the booking history, which "
            f"already runs to {newest.isoformat()}; import logs in date order (use 'bookedbiz "
            "history backfill' for archived logs)."
        )
