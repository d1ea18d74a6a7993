"""Budgets and forecasts per AE and broadcast month, with change history (placeholder: filled in by the change that needs it; no-op until then).

Revision ID: 0009
Revises: 0008
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
