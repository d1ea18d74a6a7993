"""Report indexes on spot_summary: a covering index by month, and AE/market/revenue-type
indexes for the filter bar and filtered reports (cold page views at 6 M spots).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_spot_summary_month_cover": "broadcast_month, customer_id, ae_id, market_code, "
    "revenue_type, language_bucket, spot_type, agency_id, gross_micros, net_micros, spots",
    "ix_spot_summary_ae": "ae_id, broadcast_month",
    "ix_spot_summary_market": "market_code, broadcast_month",
    "ix_spot_summary_revenue_type": "revenue_type, broadcast_month",
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON spot_summary ({columns})")
    op.execute("DROP INDEX IF EXISTS ix_spot_summary_month")  # the covering index leads with it


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_spot_summary_month ON spot_summary "
               "(broadcast_month)")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
