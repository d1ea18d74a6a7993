"""``bookedbiz explore``: Datasette over the database, read-only, bound to loopback by default.

Datasette opens a database given on the command line with a ``?mode=ro`` URI, so it can never
write; ``--immutable`` (for a snapshot that does not change) skips locking altogether. The seeds'
settings are kept (5-minute SQL limit, 10,000 rows); metadata explains the units so nobody reads
micro-dollars as dollars.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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
    "customers": {"description": "Customers (agency-qualified names); merged_into links merges."},
    "agencies": {"description": "Agencies; customers.agency_id and spots.agency_id point here."},
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
    "job_runs": {"description": "Scheduled job outcomes: success, failed, skipped, timeout."},
}


def build_metadata(db_name: str) -> dict[str, object]:
    return {
        "title": "BookedBiz explorer (read-only)",
        "description": "Money columns ending in _micros are integer micro-dollars "
                       "(divide by 1e6); months are YYYY-MM; Trade is is_trade = 1.",
        "databases": {db_name: {"tables": TABLES, "queries": CANNED_QUERIES}},
    }


def datasette_args(db_path: Path, metadata_file: Path, host: str, port: int,
                   immutable: bool = False) -> list[str]:
    args = ["serve"]
    args += ["--immutable", str(db_path)] if immutable else [str(db_path)]
    return args + [
        "--host", host, "--port", str(port),
        "--setting", "sql_time_limit_ms", str(SQL_TIME_LIMIT_MS),
        "--setting", "max_returned_rows", str(MAX_RETURNED_ROWS),
        "--metadata", str(metadata_file),
    ]


def serve(db_path: Path, host: str, port: int, immutable: bool = False) -> None:
    """Run Datasette in this process until interrupted; the metadata file is removed after."""
    from datasette.cli import cli as datasette_cli

    handle, name = tempfile.mkstemp(prefix="bookedbiz-explore-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as fh:
            json.dump(build_metadata(db_path.stem), fh)
        datasette_cli.main(
            args=datasette_args(db_path, Path(name), host, port, immutable),
            prog_name="datasette", standalone_mode=False,
        )
    finally:
        Path(name).unlink(missing_ok=True)
