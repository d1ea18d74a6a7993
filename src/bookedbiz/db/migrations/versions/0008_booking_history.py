"""Booking history as validity intervals and as-of dates on import batches.

Idempotent: revision 0001 creates the tables of the current schema.py, so a fresh database
already has them. An existing database starts with an empty history (the next import records
the months it replaces; ``bookedbiz history backfill`` adds archived logs); its batches keep
``as_of`` NULL, which no check reads.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: revision 0001 built the current schema and there is no old data
    bind = op.get_bind()
    columns = {row[1] for row in bind.exec_driver_sql("PRAGMA table_info(import_batches)")}
    if "as_of" not in columns:
        op.execute("ALTER TABLE import_batches ADD COLUMN as_of TEXT")
    op.execute(
        "CREATE TABLE IF NOT EXISTS booking_history (history_id INTEGER PRIMARY KEY, "
        "broadcast_month VARCHAR(7) NOT NULL, customer_id INTEGER NOT NULL, agency_id INTEGER, "
        "ae_id INTEGER NOT NULL, market_code TEXT NOT NULL, revenue_type TEXT NOT NULL, "
        "language_group TEXT NOT NULL, contract TEXT DEFAULT '' NOT NULL, "
        "gross_micros INTEGER NOT NULL, net_micros INTEGER NOT NULL, spots INTEGER NOT NULL, "
        "valid_from TEXT NOT NULL, valid_to TEXT, record_id INTEGER)"
    )
    op.execute("DROP INDEX IF EXISTS ix_booking_history_month_to")  # an earlier draft's
    op.execute("CREATE INDEX IF NOT EXISTS ix_booking_history_as_of ON booking_history "
               "(broadcast_month, valid_to, valid_from, customer_id, agency_id, ae_id, "
               "market_code, revenue_type, language_group, contract, gross_micros, net_micros, "
               "spots)")
    op.execute(
        "CREATE TABLE IF NOT EXISTS history_records (record_id INTEGER PRIMARY KEY, "
        "as_of TEXT NOT NULL, kind VARCHAR(16) NOT NULL, batch_id INTEGER, source_file TEXT, "
        "source_sha256 VARCHAR(64), months TEXT, rows_opened INTEGER DEFAULT '0' NOT NULL, "
        "rows_closed INTEGER DEFAULT '0' NOT NULL, recorded_at TEXT NOT NULL, "
        "CONSTRAINT history_record_kind CHECK "
        "(kind IN ('import', 'backfill', 'close', 'reopen', 'merge')))"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_history_records_as_of ON history_records (as_of)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS history_records")
    op.execute("DROP TABLE IF EXISTS booking_history")
