"""Sectors and revenue classes per customer; calendar-month summary (placeholder: filled in by the change that needs it; no-op until then).

Revision ID: 0007
Revises: 0006
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
