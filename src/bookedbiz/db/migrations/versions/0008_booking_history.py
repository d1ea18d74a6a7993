"""Booking history as validity intervals and as-of dates on import batches (placeholder: filled in by the change that needs it; no-op until then).

Revision ID: 0008
Revises: 0007
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
