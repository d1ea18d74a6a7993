"""Forecasts: the expected gross per AE × month, entered by the AE for their own book or by a
manager; every change kept with who, when and a note; closed months refuse new forecasts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, bindparam, text

from bookedbiz import broadcast_calendar as bc
from bookedbiz.db.access import Database, writing_to
from bookedbiz.db.connection import utc_now
from bookedbiz.errors import BookedBizError, ConfigError
from bookedbiz.money import AmountError, micros_to_dollars, parse_micros
from bookedbiz.planning.aes import ae_name, month_is_closed, require_ae

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


def is_closed(conn: Connection, month: str) -> bool:
    return month_is_closed(conn, month)


def set_forecast(db: Database | str | Path, *, month: str, micros: int | None, by: str,
                 ae: str | None = None, ae_id: int | None = None, note: str | None = None,
                 own_ae_id: int | None = None) -> ForecastSet:
    """Store (``micros``) or clear (None) the forecast of one AE × month.

    ``own_ae_id`` is set when the writer may forecast only that AE's book (an ``ae`` user).
    """
    by = " ".join((by or "").split())
    if not by:
        raise ConfigError("Say who is setting the forecast (--by NAME).")
    note = (note or "").strip()[:MAX_NOTE] or None
    with writing_to(db) as conn:
        if ae_id is None:
            ae_id = require_ae(conn, ae or "")
        name = ae_name(conn, ae_id)
        if own_ae_id is not None and ae_id != own_ae_id:
            raise ForecastRefused(f"You may forecast only your own book, not {name}'s.")
        if is_closed(conn, month):
            raise ForecastRefused(f"{bc.label(month)} is closed, so its forecast can no "
                                  "longer be changed.")
        key = {"ae": int(ae_id), "m": month}
        row = conn.execute(text("SELECT gross_micros FROM forecasts WHERE ae_id = :ae AND "
                                "broadcast_month = :m"), key).first()
        old = int(row[0]) if row else None
        if old == micros:
            return ForecastSet(name, month, old, micros)
        values = {**key, "new": micros, "old": old, "by": by, "at": utc_now(), "note": note}
        if micros is None:
            conn.execute(text("DELETE FROM forecasts WHERE ae_id = :ae AND "
                              "broadcast_month = :m"), key)
        else:
            conn.execute(text(
                "INSERT INTO forecasts (ae_id, broadcast_month, gross_micros, updated_at, "
                "updated_by, note) VALUES (:ae, :m, :new, :at, :by, :note) ON CONFLICT "
                "(ae_id, broadcast_month) DO UPDATE SET gross_micros = excluded.gross_micros, "
                "updated_at = excluded.updated_at, updated_by = excluded.updated_by, "
                "note = excluded.note"), values)
        conn.execute(text(
            "INSERT INTO forecast_changes (ae_id, broadcast_month, old_micros, new_micros, "
            "changed_by, changed_at, note) VALUES (:ae, :m, :old, :new, :by, :at, :note)"),
            values)
    return ForecastSet(name, month, old, micros)


def forecast_history(conn: Connection, *, ae_id: int | None = None,
                     month: str | None = None, limit: int = 200,
                     ae_ids: list[int] | None = None, first: str | None = None,
                     last: str | None = None) -> list[dict[str, object]]:
    """Forecast changes, newest first; ``ae_id`` (or ``ae_ids``) limits them to those AEs'
    books, ``month`` or ``first``..``last`` to those months."""
    parts, params = ["1 = 1"], {"limit": int(limit)}
    for condition, name, value in (("c.ae_id = :ae", "ae", ae_id),
                                   ("c.broadcast_month = :m", "m", month),
                                   ("c.broadcast_month >= :first", "first", first),
                                   ("c.broadcast_month <= :last", "last", last)):
        if value is not None:
            parts.append(condition)
            params[name] = value
    if ae_ids is not None:
        parts.append("c.ae_id IN :ae_ids" if ae_ids else "1 = 0")
        params["ae_ids"] = [int(a) for a in ae_ids]
    statement = text(
        "SELECT c.change_id, a.name, c.broadcast_month, c.old_micros, c.new_micros, "
        "c.changed_by, c.changed_at, c.note FROM forecast_changes c "
        f"JOIN aes a ON a.ae_id = c.ae_id WHERE {' AND '.join(parts)} "
        "ORDER BY c.change_id DESC LIMIT :limit")
    if ae_ids:
        statement = statement.bindparams(bindparam("ae_ids", expanding=True))
    else:
        params.pop("ae_ids", None)
    keys = ("change_id", "ae", "month", "old_micros", "new_micros", "changed_by", "changed_at",
            "note")
    return [dict(zip(keys, row, strict=True)) for row in conn.execute(statement, params)]
