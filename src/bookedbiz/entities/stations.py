"""Stations of a group sharing one database (SPEC §4): every import, spot, summary row, history
row and month close belongs to one. Station 1 (``MAIN``) is seeded, so a single station never
has to think about them.

Codes are short upper-case identifiers (``KXYZ``, ``SEA-2``) typed on command lines and in URLs;
they are matched without regard to case and stored upper-case.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from bookedbiz.db.connection import utc_now
from bookedbiz.errors import ConfigError

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
MAX_NAME = 200


def normalize_code(code: str) -> str:
    """``kxyz `` → ``KXYZ``; anything that is not a station code is one sentence."""
    cleaned = (code or "").strip().upper()
    if not _CODE.match(cleaned):
        raise ConfigError(f"'{(code or '')[:30]}' is not a station code; use up to 16 letters, "
                          "digits, '-' or '_' (e.g. KXYZ).")
    return cleaned


def list_stations(conn: Connection) -> list[dict[str, object]]:
    """Every station, by code: ``station_id, code, name, is_active``."""
    rows = conn.execute(text(
        "SELECT station_id, code, name, is_active FROM stations ORDER BY code")).all()
    return [{"station_id": int(sid), "code": code, "name": name, "is_active": bool(active)}
            for sid, code, name, active in rows]


def _known(conn: Connection) -> str:
    codes = [s["code"] for s in list_stations(conn)]
    return ", ".join(str(c) for c in codes) or "none"


def station_id_for(conn: Connection, code: str) -> int:
    """The id of station ``code``; an unknown code is one sentence naming the known ones."""
    wanted = (code or "").strip().upper()
    found = conn.execute(text("SELECT station_id FROM stations WHERE code = :code"),
                         {"code": wanted}).scalar()
    if found is None:
        raise ConfigError(f"There is no station '{(code or '')[:30]}'; the known stations are "
                          f"{_known(conn)} (add one with 'bookedbiz stations add').")
    return int(found)


def station_code_of(conn: Connection, station_id: int) -> str:
    """The code of a station id (for messages)."""
    code = conn.execute(text("SELECT code FROM stations WHERE station_id = :sid"),
                        {"sid": int(station_id)}).scalar()
    return str(code) if code is not None else str(station_id)


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ConfigError("A station needs a name (--name TEXT).")
    if len(cleaned) > MAX_NAME:
        raise ConfigError(f"A station name has at most {MAX_NAME} characters.")
    return cleaned


def add_station(conn: Connection, code: str, name: str) -> int:
    """Add station ``code`` called ``name`` (inside the caller's write transaction); its id."""
    code = normalize_code(code)
    name = _clean_name(name)
    if conn.execute(text("SELECT 1 FROM stations WHERE code = :code"), {"code": code}).first():
        raise ConfigError(f"Station {code} already exists.")
    # The id is chosen here, under the write lock: station 1 was seeded with an explicit id,
    # which PostgreSQL's sequence does not know about.
    station_id = int(conn.execute(text(
        "SELECT COALESCE(MAX(station_id), 0) + 1 FROM stations")).scalar_one())
    conn.execute(text(
        "INSERT INTO stations (station_id, code, name, is_active, created_at) "
        "VALUES (:sid, :code, :name, :active, :now)"),
        {"sid": station_id, "code": code, "name": name, "active": True, "now": utc_now()})
    return station_id


def rename_station(conn: Connection, code: str, name: str) -> None:
    """Give station ``code`` a new display name (its code, and so its data, stay)."""
    station_id = station_id_for(conn, code)
    conn.execute(text("UPDATE stations SET name = :name WHERE station_id = :sid"),
                 {"name": _clean_name(name), "sid": station_id})
