"""What the explorer may show: an allow-list of reporting tables, enforced inside SQLite.

The live database also holds password hashes, API token hashes, typed user names with client
addresses, the audit log and application state. Hiding those from Datasette's pages is not
enough (ad-hoc SQL, row URLs, JSON and CSV all reach any table), so every connection Datasette
opens gets an SQLite *authorizer*: a statement that reads any table outside the allow-list does
not even compile, whichever route sent it, and the few personal columns of allowed tables (who
started an import, who closed a month) read as NULL. Datasette's own permission hook then hides
every other table from listings and answers 403 for its pages.

It is an allow-list on purpose: a table added later (or ``sqlite_dbpage``, which would hand out
raw pages) stays unreachable until someone decides it is a reporting table.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

from datasette import hookimpl
from datasette.database import Database

REPORTING_TABLES = frozenset({
    "spots", "customers", "agencies", "aes", "markets", "languages", "language_assignments",
    "spot_summary", "month_closures", "import_batches", "stations",
    # reporting tables that exist or may come: served once they are in the schema
    "booking_history", "history_records", "budgets", "forecasts", "sectors", "revenue_classes",
})
# Personal fields of allowed tables: they read as NULL (also in WHERE, so no guessing).
MASKED_COLUMNS = {
    "import_batches": frozenset({"started_by", "closed_by"}),
    "month_closures": frozenset({"closed_by"}),
}
# What SQLite and Datasette read to describe the schema (names and column lists only).
SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master",
                           "sqlite_temp_schema"})
TABLE_FUNCTIONS = frozenset({"json_each", "json_tree", "generate_series"})
DENIED_ACTIONS = frozenset({
    sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE, sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_VIEW,
    sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_DROP_VIEW, sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TRIGGER,
    sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_VTABLE,
    sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ANALYZE,
})
GUARD_ATTRIBUTE = "_bookedbiz_explore_guard"


def table_is_served(name: str) -> bool:
    return name in REPORTING_TABLES


def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None,
              _source: str | None) -> int:
    """The SQLite authorizer: allow-listed reads only, personal columns as NULL, no writes."""
    if action in DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action != sqlite3.SQLITE_READ:
        return sqlite3.SQLITE_OK
    table = arg1 or ""
    if table in SCHEMA_TABLES or table in TABLE_FUNCTIONS or table.startswith("pragma_"):
        return sqlite3.SQLITE_OK
    if table not in REPORTING_TABLES:
        return sqlite3.SQLITE_DENY
    if arg2 and arg2 in MASKED_COLUMNS.get(table, ()):
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


def install(datasette: Any, database: str) -> None:
    """Mark a Datasette instance as the BookedBiz explorer for ``database``."""
    setattr(datasette, GUARD_ATTRIBUTE, database)


def _guarded(datasette: Any) -> str | None:
    return getattr(datasette, GUARD_ATTRIBUTE, None)


class ServedDatabase(Database):
    """The database as Datasette sees it: only the served tables exist (no listing, no row
    counts, no foreign-key hints of the others). The authorizer stays the real boundary."""

    async def table_exists(self, table: str) -> bool:
        return table_is_served(table) and bool(await super().table_exists(table))

    async def table_names(self) -> list[str]:
        return [t for t in await super().table_names() if table_is_served(t)]

    async def view_names(self) -> list[str]:
        return [v for v in await super().view_names() if table_is_served(v)]

    async def get_all_foreign_keys(self) -> dict[str, Any]:
        keys = await super().get_all_foreign_keys()
        return {
            table: {direction: [k for k in links if table_is_served(k["other_table"])]
                    for direction, links in value.items()}
            for table, value in keys.items() if table_is_served(table)
        }


# Datasette hooks (this module is the plugin); inert for an instance install() did not mark.

@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    # Only the served file: Datasette also opens throwaway in-memory connections (version
    # probes) and its own _internal catalog, which only the root actor may see.
    if database == _guarded(datasette):
        conn.set_authorizer(authorize)


@hookimpl
def permission_allowed(datasette: Any, actor: Any, action: str, resource: Any) -> bool | None:
    served = _guarded(datasette)
    if served is None:
        return None
    if action == "view-database" and resource != served:
        return False
    if action == "view-table":
        database, table = resource
        if database != served or not table_is_served(table):
            return False
    if action in ("view-query", "execute-sql"):
        database = resource[0] if isinstance(resource, tuple) else resource
        if database != served:
            return False
    return None


PLUGIN_NAME = "bookedbiz-explore-guard"


def register_plugin() -> None:
    """Register the hooks with Datasette's plugin manager once per process."""
    import datasette.handle_exception as exception_handler
    from datasette.plugins import pm

    # Datasette prints every 403/404 as a rich traceback *with locals* (the request's headers)
    # to stderr, i.e. the journal: slow, noisy and a needless copy of client data. Off.
    exception_handler.rich = None
    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(sys.modules[__name__], name=PLUGIN_NAME)
