"""Sectors and revenue classes per customer; the summary learns each group's calendar month.

Idempotent: revision 0001 builds the current schema.py, so a fresh database already has the
table and columns and this only seeds sectors. On an existing database the columns are added
when ``PRAGMA table_info`` lacks them, and ``spot_summary`` is rebuilt from ``spots`` (the same
aggregate ``refresh_summary`` writes), which moves no money: the test compares every total.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The usual broadcast sectors; admins add, rename and retire their own (entities/sectors.py).
SECTOR_SEED = (
    "Automotive", "Retail", "Financial Services", "Healthcare", "Telecom", "Restaurants/QSR",
    "Government/Public Service", "Political", "Entertainment", "Real Estate", "Education",
    "Legal", "Travel/Tourism", "Insurance", "Religious", "Media", "Home Services",
    "Consumer Packaged Goods", "Nonprofit", "Other",
)

_REBUILD_SUMMARY = (
    "INSERT INTO spot_summary (broadcast_month, ae_id, customer_id, agency_id, market_code,"
    " revenue_type, spot_type, language_bucket, calendar_month, bills_calendar, gross_micros,"
    " net_micros, spots) "
    "SELECT s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
    " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'),"
    " substr(s.air_date, 1, 7), COALESCE(s.billing_type = 'Calendar', 0),"
    " COALESCE(SUM(s.gross_rate_micros), 0), COALESCE(SUM(s.station_net_micros), 0), COUNT(*) "
    "FROM spots s LEFT JOIN language_assignments la ON la.spot_id = s.spot_id "
    "WHERE s.is_trade = 0 "
    "GROUP BY s.broadcast_month, s.ae_id, s.customer_id, s.agency_id, s.market_code,"
    " s.revenue_type, s.spot_type, COALESCE(la.report_bucket, '~review'),"
    " substr(s.air_date, 1, 7), COALESCE(s.billing_type = 'Calendar', 0)"
)


def _columns(bind, table: str) -> set[str]:  # noqa: ANN001 - SQLAlchemy connection
    return {row[1] for row in bind.exec_driver_sql(f"PRAGMA table_info({table})")}


def _seed_sectors_core(bind) -> None:  # noqa: ANN001 - SQLAlchemy connection
    """The sector seed on another dialect (PostgreSQL): the sectors that are missing."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from bookedbiz.db.schema import sectors

    have = set(bind.execute(select(sectors.c.name_key)).scalars())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [{"name": name, "name_key": name.casefold(), "created_at": now}
            for name in SECTOR_SEED if name.casefold() not in have]
    if rows:
        bind.execute(insert(sectors), rows)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        # revision 0001 built the current schema; a new server database only needs the seed
        _seed_sectors_core(bind)
        return
    op.execute(
        "CREATE TABLE IF NOT EXISTS sectors (sector_id INTEGER NOT NULL PRIMARY KEY, "
        "name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE, "
        "is_active BOOLEAN DEFAULT '1' NOT NULL, created_at TEXT NOT NULL)"
    )
    customer_columns = _columns(bind, "customers")
    if "sector_id" not in customer_columns:
        op.execute("ALTER TABLE customers ADD COLUMN sector_id INTEGER "
                   "REFERENCES sectors (sector_id)")
    if "revenue_class" not in customer_columns:
        op.execute("ALTER TABLE customers ADD COLUMN revenue_class VARCHAR(16) "
                   "DEFAULT 'regular' NOT NULL CONSTRAINT customer_revenue_class "
                   "CHECK (revenue_class IN ('regular', 'irregular', 'political'))")
    summary_columns = _columns(bind, "spot_summary")
    rebuild = False
    if "calendar_month" not in summary_columns:
        op.execute("ALTER TABLE spot_summary ADD COLUMN calendar_month VARCHAR(7) "
                   "DEFAULT '' NOT NULL")
        rebuild = True
    if "bills_calendar" not in summary_columns:
        op.execute("ALTER TABLE spot_summary ADD COLUMN bills_calendar BOOLEAN "
                   "DEFAULT '0' NOT NULL")
        rebuild = True
    if rebuild:
        op.execute("DELETE FROM spot_summary")
        op.execute(_REBUILD_SUMMARY)
    op.execute("CREATE INDEX IF NOT EXISTS ix_spot_summary_calendar "
               "ON spot_summary (calendar_month)")
    now = bind.exec_driver_sql("SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now')").scalar()
    for name in SECTOR_SEED:
        bind.exec_driver_sql(
            "INSERT OR IGNORE INTO sectors (name, name_key, created_at) VALUES (?, ?, ?)",
            (name, name.casefold(), now),
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_spot_summary_calendar")
