"""Forecasts: the expected gross per AE × month, entered by the AE for their own book or by a
manager; every change kept with who, when and a note; closed months refuse new forecasts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.connection import connect, utc_now, write_transaction
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.money import AmountError, micros_to_dollars, parse_micros
from bookedbiz.planning.aes import ae_name, require_ae

MAX_NOTE = 500
MAX_FORECAST_MICROS = 10**9 * 10**6  # a billion dollars: anything above is a typing slip


class ForecastRefused(BookedBizError):
    """The forecast may not be stored (closed month, another AE's book)."""


@dataclass(frozen=True)
class ForecastSet:
    ae: str
    month: str
    old_micros: int | None
    new_micros: int | None


def parse_forecast_amount(value: object) -> int:
    """A forecast amount from the command line or a form, refused when malformed or negative."""
    try:
        micros = parse_micros(value)
    except AmountError:
        text = str(value)[:40]
        raise ConfigError(f"The forecast '{text}' is not an amount of money.") from None
    if micros is None:
        raise ConfigError("The forecast amount is missing.")
    if micros < 0 or micros > MAX_FORECAST_MICROS:
        raise ConfigError(f"The forecast {micros_to_dollars(micros):,} is out of range; give an "
                          "amount from 0 up.")
    return micros


def parse_month_arg(value: str) -> str:
    month = bc.parse_month(value or "")
    if month is None:
        raise ConfigError(f"'{(value or '')[:30]}' is not a month; write it as 2026-01 or Jan-26.")
    return month


def is_closed(conn: sqlite3.Connection, month: str) -> bool:
    return conn.execute("SELECT 1 FROM month_closures WHERE broadcast_month = ?",
                        (month,)).fetchone() is not None


def set_forecast(db_path: Path, *, month: str, micros: int | None, by: str,
                 ae: str | None = None, ae_id: int | None = None, note: str | None = None,
                 own_ae_id: int | None = None) -> ForecastSet:
    """Store (``micros``) or clear (None) the forecast of one AE × month.

    ``own_ae_id`` is set when the writer may forecast only that AE's book (an ``ae`` user).
    """
    by = " ".join((by or "").split())
    if not by:
        raise ConfigError("Say who is setting the forecast (--by NAME).")
    note = (note or "").strip()[:MAX_NOTE] or None
    conn = connect(db_path)
    try:
        with write_transaction(conn):
            if ae_id is None:
                ae_id = require_ae(conn, ae or "")
            name = ae_name(conn, ae_id)
            if own_ae_id is not None and ae_id != own_ae_id:
                raise ForecastRefused(f"You may forecast only your own book, not {name}'s.")
            if is_closed(conn, month):
                raise ForecastRefused(f"{bc.label(month)} is closed, so its forecast can no "
                                      "longer be changed.")
            row = conn.execute(
                "SELECT gross_micros FROM forecasts WHERE ae_id = ? AND broadcast_month = ?",
                (ae_id, month)).fetchone()
            old = int(row[0]) if row else None
            if old == micros:
                return ForecastSet(name, month, old, micros)
            now = utc_now()
            if micros is None:
                conn.execute("DELETE FROM forecasts WHERE ae_id = ? AND broadcast_month = ?",
                             (ae_id, month))
            else:
                conn.execute(
                    "INSERT INTO forecasts (ae_id, broadcast_month, gross_micros, updated_at, "
                    "updated_by, note) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ae_id, "
                    "broadcast_month) DO UPDATE SET gross_micros = excluded.gross_micros, "
                    "updated_at = excluded.updated_at, updated_by = excluded.updated_by, "
                    "note = excluded.note", (ae_id, month, micros, now, by, note))
            conn.execute(
                "INSERT INTO forecast_changes (ae_id, broadcast_month, old_micros, new_micros, "
                "changed_by, changed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ae_id, month, old, micros, by, now, note))
    finally:
        conn.close()
    return ForecastSet(name, month, old, micros)


def forecast_history(conn: sqlite3.Connection, *, ae_id: int | None = None,
                     month: str | None = None, limit: int = 200,
                     ae_ids: list[int] | None = None, first: str | None = None,
                     last: str | None = None) -> list[dict[str, object]]:
    """Forecast changes, newest first; ``ae_id`` (or ``ae_ids``) limits them to those AEs'
    books, ``month`` or ``first``..``last`` to those months."""
    sql = ("SELECT c.change_id, a.name, c.broadcast_month, c.old_micros, c.new_micros, "
           "c.changed_by, c.changed_at, c.note FROM forecast_changes c "
           "JOIN aes a ON a.ae_id = c.ae_id WHERE (? IS NULL OR c.ae_id = ?) "
           "AND (? IS NULL OR c.broadcast_month = ?) AND (? IS NULL OR c.broadcast_month >= ?) "
           "AND (? IS NULL OR c.broadcast_month <= ?)")
    params: list[object] = [ae_id, ae_id, month, month, first, first, last, last]
    if ae_ids is not None:
        sql += f" AND c.ae_id IN ({', '.join('?' * len(ae_ids)) or 'NULL'})"
        params.extend(ae_ids)
    keys = ("change_id", "ae", "month", "old_micros", "new_micros", "changed_by", "changed_at",
            "note")
    return [dict(zip(keys, row, strict=True))
            for row in conn.execute(sql + " ORDER BY c.change_id DESC LIMIT ?", (*params, limit))]
