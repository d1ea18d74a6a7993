"""A per-process cache of report results, keyed on the data's version so it is never stale.

The data version is read once per request with a cheap query (the newest completed import, the
newest audit entry — merges and aliases are audited — and the newest month close/reopen event).
Any import, merge or close therefore changes the key, and old entries simply stop being used.
Results are shared between requests: callers must not modify what they get back.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g
from sqlalchemy import text

from bookedbiz.web.db import read_conn

T = TypeVar("T")
MAX_ENTRIES = 512
TTL_SECONDS = 600.0

_VERSION_SQL = text(
    "SELECT (SELECT MAX(batch_id) FROM import_batches WHERE status = 'completed'), "
    "(SELECT MAX(audit_id) FROM audit_log), (SELECT MAX(event_id) FROM month_closure_events), "
    "(SELECT COUNT(*) FROM month_closures), "
    # budgets and forecasts (pacing rows carry them): their change logs only grow
    "(SELECT MAX(change_id) FROM budget_changes), (SELECT MAX(change_id) FROM forecast_changes), "
    # stations (last: station_count() reads it): a new one changes the filter bar
    "(SELECT COUNT(*) FROM stations)"
)


class ReportCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS):
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: tuple, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                return found[1]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def data_version() -> tuple:
    version = g.get("_bookedbiz_data_version")
    if version is None:
        version = tuple(read_conn().execute(_VERSION_SQL).one())
        g._bookedbiz_data_version = version
    return version


def station_count() -> int:
    """How many stations the database has, from the request's data version (no query of its
    own: one station's pages cost nothing for stations)."""
    return int(data_version()[-1] or 0)


def cached(fn: Callable[..., T], *args: Any) -> T:
    """``fn(read_conn(), *args)``, remembered until the data changes (args must be hashable)."""
    if current_app.config.get("REPORT_CACHE", True) is False:
        return fn(read_conn(), *args)
    cache: ReportCache = current_app.extensions["bookedbiz.report_cache"]
    key = (fn.__module__, fn.__qualname__, args, data_version())
    return cache.get_or_compute(key, lambda: fn(read_conn(), *args))
