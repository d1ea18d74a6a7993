"""Stations (SPEC §4): every import, spot, summary row, history row and month close belongs to a
station; station 1 is seeded as MAIN and keeps everything a database had before. Money columns
become BIGINT on PostgreSQL (its INTEGER stops at $2,147 in micro-dollars), and a spot's
references are no longer enforced there (schema.spot_references says why).

Idempotent: revision 0001 builds the current schema.py, so a fresh database only gets the seed.
On an existing SQLite database the columns are added when ``PRAGMA table_info`` lacks them
(without REFERENCES: SQLite refuses a REFERENCES column with a non-NULL default while foreign
keys are on; the importer writes only known station ids), ``month_closures`` is rebuilt with the
(station, month) key, the month index is widened to (month, station), and the summary's covering
indexes end in station_id. No money moves: the
test compares every total before and after.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

from bookedbiz.db.schema import seed_main_station

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

STATION_TABLES = ("import_batches", "spots", "spot_summary", "booking_history",
                  "month_closure_events")
MICROS = {"spots": ("gross_rate_micros", "spot_value_micros", "broker_fees_micros",
                    "station_net_micros"),
          "spot_summary": ("gross_micros", "net_micros"),
          "booking_history": ("gross_micros", "net_micros"),
          "budgets": ("gross_micros",), "budget_changes": ("old_micros", "new_micros"),
          "forecasts": ("gross_micros",), "forecast_changes": ("old_micros", "new_micros")}


def _sqlite_columns(bind, table: str) -> set[str]:  # noqa: ANN001
    return {row[1] for row in bind.exec_driver_sql(f"PRAGMA table_info({table})")}


def _upgrade_sqlite(bind) -> None:  # noqa: ANN001
    op.execute("CREATE TABLE IF NOT EXISTS stations (station_id INTEGER NOT NULL, "
               "code VARCHAR(16) NOT NULL, name TEXT NOT NULL, "
               "is_active BOOLEAN DEFAULT '1' NOT NULL, created_at TEXT NOT NULL, "
               "PRIMARY KEY (station_id), UNIQUE (code))")
    seed_main_station(bind)
    for table in STATION_TABLES:
        if "station_id" not in _sqlite_columns(bind, table):
            op.execute(f"ALTER TABLE {table} ADD COLUMN station_id INTEGER DEFAULT '1' "
                       "NOT NULL")
    if "station_id" not in _sqlite_columns(bind, "history_records"):
        op.execute("ALTER TABLE history_records ADD COLUMN station_id INTEGER")
        op.execute("UPDATE history_records SET station_id = 1 WHERE kind != 'merge'")
    if "station_id" not in _sqlite_columns(bind, "month_closures"):
        op.execute("CREATE TABLE month_closures_0012 (station_id INTEGER DEFAULT '1' NOT NULL, "
                   "broadcast_month VARCHAR(7) NOT NULL, closed_at TEXT NOT NULL, "
                   "closed_by TEXT NOT NULL, batch_id INTEGER, notes TEXT, "
                   "PRIMARY KEY (station_id, broadcast_month), "
                   "CONSTRAINT closure_month_shape CHECK "
                   "(broadcast_month GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'), "
                   "FOREIGN KEY(station_id) REFERENCES stations (station_id), "
                   "FOREIGN KEY(batch_id) REFERENCES import_batches (batch_id))")
        op.execute("INSERT INTO month_closures_0012 (station_id, broadcast_month, closed_at, "
                   "closed_by, batch_id, notes) SELECT 1, broadcast_month, closed_at, "
                   "closed_by, batch_id, notes FROM month_closures")
        op.execute("DROP TABLE month_closures")
        op.execute("ALTER TABLE month_closures_0012 RENAME TO month_closures")
    op.execute("CREATE INDEX IF NOT EXISTS ix_spots_month_station ON spots "
               "(broadcast_month, station_id)")
    op.execute("DROP INDEX IF EXISTS ix_spots_month")


def _upgrade_postgresql(bind) -> None:  # noqa: ANN001
    from sqlalchemy import inspect

    from bookedbiz.db.schema import stations

    stations.create(bind, checkfirst=True)
    seed_main_station(bind)
    inspector = inspect(bind)
    for table in STATION_TABLES:
        if "station_id" not in {c["name"] for c in inspector.get_columns(table)}:
            op.execute(f"ALTER TABLE {table} ADD COLUMN station_id INTEGER DEFAULT 1 NOT NULL")
    if "station_id" not in {c["name"] for c in inspector.get_columns("history_records")}:
        op.execute("ALTER TABLE history_records ADD COLUMN station_id INTEGER")
        op.execute("UPDATE history_records SET station_id = 1 WHERE kind != 'merge'")
    if "station_id" not in {c["name"] for c in inspector.get_columns("month_closures")}:
        op.execute("ALTER TABLE month_closures ADD COLUMN station_id INTEGER DEFAULT 1 NOT NULL "
                   "REFERENCES stations (station_id)")
        op.execute("ALTER TABLE month_closures DROP CONSTRAINT month_closures_pkey")
        op.execute("ALTER TABLE month_closures ADD PRIMARY KEY (station_id, broadcast_month)")
    # schema.spot_references: the spot's references are not enforced on the server
    for table, column in (("spots", "import_batch_id"), ("spots", "station_id"),
                          ("spots", "ae_id"), ("spots", "customer_id"), ("spots", "agency_id"),
                          ("language_assignments", "spot_id")):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_fkey")
    for table, columns in MICROS.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT")
    op.execute("CREATE INDEX IF NOT EXISTS ix_spots_month_station ON spots "
               "(broadcast_month, station_id)")
    op.execute("DROP INDEX IF EXISTS ix_spots_month")


# The summary's covering indexes end in station_id, so a station-filtered page reads only the
# index; the summary is small (thousands of rows a year), so rebuilding them is cheap.
COVERING_INDEXES = {
    "ix_spot_summary_month_cover": "broadcast_month, customer_id, ae_id, market_code, "
    "revenue_type, language_bucket, spot_type, agency_id, gross_micros, net_micros, spots, "
    "station_id",
    "ix_spot_summary_month_customer": "broadcast_month, customer_id, gross_micros, net_micros, "
    "spots, station_id",
}


def _covering_indexes() -> None:
    for name, columns in COVERING_INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON spot_summary ({columns})")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _upgrade_sqlite(bind)
    else:
        _upgrade_postgresql(bind)
    _covering_indexes()


def downgrade() -> None:
    raise NotImplementedError("Stations cannot be removed once imports belong to them; "
                              "restore the pre-migration snapshot instead.")
