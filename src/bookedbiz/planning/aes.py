"""AE names as managers write them, resolved the way imports resolve a sales person."""

from __future__ import annotations

import sqlite3

from bookedbiz.db.connection import utc_now
from bookedbiz.errors import NotFoundError
from bookedbiz.vocab import name_key


def find_ae(conn: sqlite3.Connection, name: str) -> int | None:
    """The AE for ``name``: its own name first, then an alias; None when unknown."""
    key = name_key(name or "")
    row = conn.execute("SELECT ae_id FROM aes WHERE name_key = ?", (key,)).fetchone()
    if row is None:
        row = conn.execute("SELECT ae_id FROM ae_aliases WHERE alias_key = ?", (key,)).fetchone()
    return int(row[0]) if row else None


def require_ae(conn: sqlite3.Connection, name: str) -> int:
    ae_id = find_ae(conn, name)
    if ae_id is None:
        raise NotFoundError(f"There is no AE named '{(name or '').strip()[:100]}'; use a name "
                            "from the AEs report or an AE alias.")
    return ae_id


def create_ae(conn: sqlite3.Connection, name: str) -> int:
    """A new AE (caller holds the write transaction and has checked it is unknown)."""
    display = " ".join(name.split())
    cur = conn.execute("INSERT INTO aes (name, name_key, created_at) VALUES (?, ?, ?)",
                       (display, name_key(display), utc_now()))
    return int(cur.lastrowid)  # type: ignore[arg-type]


def ae_name(conn: sqlite3.Connection, ae_id: int) -> str:
    row = conn.execute("SELECT name FROM aes WHERE ae_id = ?", (ae_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"There is no AE number {ae_id}.")
    return str(row[0])
