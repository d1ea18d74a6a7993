"""``bookedbiz explore``: Datasette over the reporting tables, read-only, loopback by default.

Datasette opens the database with a ``?mode=ro`` URI, so it can never write; ``--immutable`` (for
a snapshot that does not change) skips locking altogether. Only the reporting tables are served
(:mod:`bookedbiz.deploy.explore_guard` enforces it inside SQLite); the canned queries below work
for everyone, ad-hoc SQL only when the operator passes ``--allow-sql``; the whole database is
never offered for download; requests must name one of the allowed host names. The seeds'
settings are kept (5-minute SQL limit, 10,000 rows); metadata explains the units so nobody reads
micro-dollars as dollars.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

SQL_TIME_LIMIT_MS = 300_000
MAX_RETURNED_ROWS = 10_000

MONEY = "integer micro-dollars: divide by 1e6 for dollars (e.g. gross_rate_micros / 1e6)"
RANGE = ("(:from_month = '' OR s.broadcast_month >= :from_month) "
         "AND (:to_month = '' OR s.broadcast_month <= :to_month)")

CANNED_QUERIES = {
    "revenue_by_month": {
        "title": "Revenue by broadcast month (Trade excluded)",
        "description": "Gross and station net in dollars per YYYY-MM month; is_trade = 0 only.",
        "sql": (
            "SELECT s.broadcast_month AS month, COUNT(*) AS spots, "
            "ROUND(SUM(s.gross_rate_micros) / 1e6, 2) AS gross_dollars, "
            "ROUND(SUM(s.station_net_micros) / 1e6, 2) AS net_dollars "
            f"FROM spots s WHERE s.is_trade = 0 AND {RANGE} "
            "GROUP BY s.broadcast_month ORDER BY s.broadcast_month"
        ),
    },
    "revenue_by_ae": {
        "title": "Revenue by account executive (Trade excluded)",
        "description": "Gross dollars per AE for an optional month range (YYYY-MM).",
        "sql": (
            "SELECT a.name AS ae, COUNT(*) AS spots, "
            "ROUND(SUM(s.gross_rate_micros) / 1e6, 2) AS gross_dollars, "
            "ROUND(SUM(s.station_net_micros) / 1e6, 2) AS net_dollars "
            f"FROM spots s JOIN aes a ON a.ae_id = s.ae_id WHERE s.is_trade = 0 AND {RANGE} "
            "GROUP BY a.ae_id, a.name ORDER BY gross_dollars DESC"
        ),
    },
    "revenue_by_language": {
        "title": "Revenue by assigned language (Trade excluded)",
        "description": "Gross dollars per reporting language bucket from language_assignments "
                       "(the bucket the reports use: a language code or a ~special bucket); "
                       "'Unassigned' when a spot has no assignment.",
        "sql": (
            "SELECT COALESCE(l.name, la.report_bucket, 'Unassigned') AS language, "
            "COUNT(*) AS spots, ROUND(SUM(s.gross_rate_micros) / 1e6, 2) AS gross_dollars "
            "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
            "LEFT JOIN languages l ON l.code = la.report_bucket "
            f"WHERE s.is_trade = 0 AND {RANGE} "
            "GROUP BY 1 ORDER BY gross_dollars DESC"
        ),
    },
}

TABLES = {
    "spots": {
        "description": "One row per aired or booked spot from the commercial log. Money columns "
                       "are " + MONEY + "; broadcast_month is YYYY-MM; is_trade = 1 marks Trade "
                       "spots, which revenue reports exclude.",
        "columns": {
            "gross_rate_micros": "gross rate, " + MONEY,
            "station_net_micros": "station net, " + MONEY,
            "spot_value_micros": "spot value, " + MONEY,
            "broker_fees_micros": "broker fees, " + MONEY,
            "broadcast_month": "broadcast month as YYYY-MM",
            "is_trade": "1 = Trade (excluded from revenue), 0 = cash",
            "ae_id": "account executive, see aes.ae_id",
            "customer_id": "customer, see customers.customer_id",
            "import_batch_id": "the import that loaded this row, see import_batches",
            "language_code": "language code as written in the log (see language_assignments)",
        },
    },
    "aes": {"description": "Account executives; spots.ae_id points here."},
    "customers": {"description": "Customers (advertisers); merged_into links merges."},
    "agencies": {"description": "Agencies; spots.agency_id points here (the agency that bought)."},
    "languages": {"description": "Language codes and their groups."},
    "language_assignments": {
        "description": "The language decided for each spot (join on spot_id), with status and "
                       "confidence; report_bucket is what reports group by; requires_review = 1 "
                       "needs a human.",
    },
    "import_batches": {
        "description": "Every import run: status running/completed/failed, started_at and "
                       "finished_at in UTC, months_affected as a JSON list of YYYY-MM.",
    },
    "month_closures": {"description": "Closed broadcast months (YYYY-MM): imports never change "
                                      "them."},
    "spot_summary": {"description": "Per-month rollup of non-Trade spots; money in " + MONEY},
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_metadata(db_name: str, *, allow_sql: bool = False) -> dict[str, object]:
    database: dict[str, object] = {"tables": TABLES, "queries": CANNED_QUERIES}
    if not allow_sql:
        database["allow_sql"] = False
    return {
        "title": "BookedBiz explorer (read-only)",
        "description": "Money columns ending in _micros are integer micro-dollars "
                       "(divide by 1e6); months are YYYY-MM; Trade is is_trade = 1.",
        "databases": {db_name: database},
    }


def explore_settings(*, allow_sql: bool) -> dict[str, object]:
    return {
        "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
        "max_returned_rows": MAX_RETURNED_ROWS,
        "allow_download": False,  # the file holds the credential tables too
        "default_allow_sql": allow_sql,
    }


def host_name(header: str) -> str:
    """The name part of a Host header: 'Example.com:8001' -> 'example.com', '[::1]:80' -> '::1'."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_host_names(bind_host: str, extra: Iterable[str]) -> frozenset[str]:
    """Loopback names, the bound address (unless a wildcard) and the configured names."""
    names = set(LOOPBACK_NAMES) | {host_name(h) for h in extra if h.strip()}
    if bind_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(bind_host))
    return frozenset(names)


class HostCheck:
    """ASGI middleware: 400 for a request whose Host header is not one of ours (DNS
    rebinding, or a proxy forwarding anything it receives)."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.hosts:
                body = b"Invalid Host header.\n"
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def explorer_file(target: Path | str) -> Path:
    """The SQLite file to serve: Datasette reads SQLite files only, so a DATABASE_URL is one
    sentence (SPEC §4: a PostgreSQL station group explores with its own SQL tools)."""
    if isinstance(target, str) and "://" in target:
        from bookedbiz.errors import ConfigError

        raise ConfigError("The explorer (Datasette) reads a SQLite file only, and DATABASE_URL "
                          "selects PostgreSQL; pass --db PATH to explore a SQLite copy.")
    return Path(target)


def build_app(db_path: Path, *, allow_sql: bool = False, hosts: frozenset[str] | None = None,
              immutable: bool = False) -> tuple[ASGIApp, Any]:
    """The explorer as an ASGI app (and its Datasette instance, for tests)."""
    from datasette.app import Datasette

    from bookedbiz.deploy.explore_guard import ServedDatabase, install, register_plugin

    register_plugin()
    name = db_path.stem
    ds = Datasette(
        files=[] if immutable else [str(db_path)],
        immutables=[str(db_path)] if immutable else [],
        metadata=build_metadata(name, allow_sql=allow_sql),
        settings=explore_settings(allow_sql=allow_sql),
    )
    install(ds, name)
    ds.remove_database(name)
    ds.add_database(ServedDatabase(ds, path=str(db_path), is_mutable=not immutable), name=name)
    return HostCheck(ds.app(), hosts or frozenset(LOOPBACK_NAMES)), ds


def serve(db_path: Path, host: str, port: int, immutable: bool = False, *,
          allow_sql: bool = False, allowed_hosts: Iterable[str] = ()) -> None:
    """Run the explorer with uvicorn in this process until interrupted."""
    import uvicorn

    app, _ = build_app(db_path, allow_sql=allow_sql, immutable=immutable,
                       hosts=allowed_host_names(host, allowed_hosts))
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False,
                server_header=False)
