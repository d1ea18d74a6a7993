"""AE names as managers write them, resolved the way imports resolve a sales person."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, text

from bookedbiz.db.connection import utc_now
from bookedbiz.errors import NotFoundError
from bookedbiz.vocab import name_key


def find_ae(conn: Connection, name: str) -> int | None:
    """The AE for ``name``: its own name first, then an alias; None when unknown."""
    key = name_key(name or "")
    row = conn.execute(text("SELECT ae_id FROM aes WHERE name_key = :k"), {"k": key}).first()
    if row is None:
        row = conn.execute(text("SELECT ae_id FROM ae_aliases WHERE alias_key = :k"),
                           {"k": key}).first()
    return int(row[0]) if row else None


def require_ae(conn: Connection, name: str) -> int:
    ae_id = find_ae(conn, name)
    if ae_id is None:
        raise NotFoundError(f"There is no AE named '{(name or '').strip()[:100]}'; use a name "
                            "from the AEs report or an AE alias.")
    return ae_id


def create_ae(conn: Connection, name: str) -> int:
    """A new AE (caller holds the write transaction and has checked it is unknown)."""
    display = " ".join(name.split())
    return int(conn.execute(
        text("INSERT INTO aes (name, name_key, created_at) VALUES (:n, :k, :at) "
             "RETURNING ae_id"),
        {"n": display, "k": name_key(display), "at": utc_now()}).scalar_one())


def ae_name(conn: Connection, ae_id: int) -> str:
    row = conn.execute(text("SELECT name FROM aes WHERE ae_id = :id"), {"id": ae_id}).first()
    if row is None:
        raise NotFoundError(f"There is no AE number {ae_id}.")
    return str(row[0])


def month_is_closed(conn: Connection, month: str) -> bool:
    """A plan's month is closed when every station with data in it has closed it (plans are
    per AE, across the stations); with one station, exactly when that station closed it."""
    return month in closed_months(conn, month, month)


def closed_months(conn: Connection, first: str, last: str) -> set[str]:
    """The months in ``first``..``last`` that some station closed and no other station has
    spots in (as ``months list`` counts a month closed). One indexed probe per such month, and
    none at all while every station closed it (one station: no probe)."""
    closed: dict[str, set[int]] = {}
    for month, station_id in conn.execute(text(
            "SELECT broadcast_month, station_id FROM month_closures "
            "WHERE broadcast_month BETWEEN :a AND :b"), {"a": first, "b": last}):
        closed.setdefault(str(month), set()).add(int(station_id))
    if not closed:
        return set()
    every = {int(s) for s in conn.execute(text("SELECT station_id FROM stations")).scalars()}
    probe = text("SELECT 1 FROM spots WHERE broadcast_month = :m AND station_id IN :others "
                 "LIMIT 1").bindparams(bindparam("others", expanding=True))
    out = set()
    for month, stations in closed.items():
        others = sorted(every - stations)
        if not others or conn.execute(probe, {"m": month, "others": others}).first() is None:
            out.add(month)
    return out
