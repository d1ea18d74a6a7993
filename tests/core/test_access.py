"""db/access.py on both databases: reading() is a read-only snapshot, writing() commits or rolls
back as a whole, writers take turns, and a waiting writer gets one sentence after the busy
timeout, never a password."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, insert, select, text
from tests.databases import PASSWORD

from bookedbiz.db.access import Database, open_database
from bookedbiz.db.schema import sectors, stations
from bookedbiz.errors import BookedBizError, DatabaseBusyError

NOW = "2026-01-01T00:00:00Z"


def _sector_count(db: Database) -> int:
    with db.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(sectors)).scalar_one())


def test_writing_commits_and_rolls_back_as_a_whole(database: str) -> None:
    db = open_database(database)
    try:
        before = _sector_count(db)
        with db.writing() as conn:
            conn.execute(insert(sectors).values(name="Crypto", name_key="crypto",
                                                created_at=NOW))
        assert _sector_count(db) == before + 1
        with pytest.raises(RuntimeError), db.writing() as conn:
            conn.execute(insert(sectors).values(name="Cannabis", name_key="cannabis",
                                                created_at=NOW))
            raise RuntimeError("boom")
        assert _sector_count(db) == before + 1
    finally:
        db.dispose()


def test_the_seeded_station_exists(database: str) -> None:
    db = open_database(database)
    try:
        with db.reading() as conn:
            rows = conn.execute(select(stations.c.station_id, stations.c.code)).all()
        assert [tuple(r) for r in rows] == [(1, "MAIN")]
    finally:
        db.dispose()


def test_reading_cannot_write(database: str) -> None:
    db = open_database(database)
    try:
        with pytest.raises(BookedBizError), db.reading() as conn:
            conn.execute(insert(sectors).values(name="X", name_key="x", created_at=NOW))
        assert "x" not in {r for (r,) in _keys(db)}
    finally:
        db.dispose()


def _keys(db: Database) -> list[tuple[str]]:
    with db.reading() as conn:
        return [tuple(r) for r in conn.execute(select(sectors.c.name_key))]


def test_a_waiting_writer_is_told_the_database_is_busy(database: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKEDBIZ_BUSY_TIMEOUT_MS", "300")
    holder, waiter = open_database(database), open_database(database)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.writing() as conn:
            conn.execute(insert(sectors).values(name="Held", name_key="held", created_at=NOW))
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as caught, waiter.writing() as conn:
            conn.execute(insert(sectors).values(name="Late", name_key="late", created_at=NOW))
        assert time.monotonic() - started < 5
        assert "busy" in str(caught.value) and PASSWORD not in str(caught.value)
    finally:
        release.set()
        thread.join()
        holder.dispose()
        waiter.dispose()
    keys = {k for (k,) in _keys(open_database(database))}
    assert "held" in keys and "late" not in keys


def test_a_reader_sees_one_snapshot(database: str) -> None:
    db = open_database(database)
    try:
        with db.reading() as conn:
            first = conn.execute(text("SELECT COUNT(*) FROM sectors")).scalar_one()
            with db.writing() as writer:
                writer.execute(insert(sectors).values(name="Mid", name_key="mid",
                                                      created_at=NOW))
            assert conn.execute(text("SELECT COUNT(*) FROM sectors")).scalar_one() == first
        assert _sector_count(db) == first + 1
    finally:
        db.dispose()


def test_describe_never_shows_the_password(database: str) -> None:
    db = Database(database)
    assert PASSWORD not in db.describe() and PASSWORD not in repr(db)
    assert db.dialect == ("sqlite" if "://" not in database else "postgresql")
