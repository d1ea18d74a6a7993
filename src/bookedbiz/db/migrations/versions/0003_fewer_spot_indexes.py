"""Drop the spots indexes on import batch and customer: nothing reads spots through them
(reports use spot_summary; imports find old rows by month and spot id), and every imported row
paid for both.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_spots_batch")
    op.execute("DROP INDEX IF EXISTS ix_spots_customer")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_spots_batch ON spots (import_batch_id)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_spots_customer ON spots (customer_id)")
