"""Best-effort writes on a request path wait less than the busy timeout (``writing(busy_ms=)``):
noting an API token's last use gives up after 200 ms while an import holds the write lock, on
SQLite and PostgreSQL alike, and the API call is not held up for the whole busy timeout."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, text
from tests.core import dbstate

from bookedbiz import users
from bookedbiz.db.access import open_database
from bookedbiz.db.schema import sectors
from bookedbiz.errors import DatabaseBusyError


def test_a_short_wait_gives_up_quickly_while_another_writer_holds_the_lock(
        database: str) -> None:
    users.create_user(database, "sheet", "sheet-password-1", "viewer")
    token_id, _ = users.create_token(database, "sheet", "workbook")
    holder = open_database(database)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # a long writer, e.g. an import (the default busy timeout is 10 s)
        with holder.writing() as conn:
            conn.execute(insert(sectors).values(name="Held", name_key="held", created_at="x"))
            held.set()
            release.wait(20)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        started = time.monotonic()
        users.touch_token(database, token_id)  # best effort: no error, no long wait
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError), open_database(database).writing(
                busy_ms=200) as conn:
            conn.execute(text("UPDATE api_tokens SET name = 'late'"))
        assert time.monotonic() - started < 3
    finally:
        release.set()
        thread.join()
        holder.dispose()
    assert dbstate.rows(database, "SELECT name, last_used_at FROM api_tokens") == [
        ("workbook", None)]
    users.touch_token(database, token_id)  # free again: recorded
    assert dbstate.scalar(database, "SELECT last_used_at FROM api_tokens") is not None
