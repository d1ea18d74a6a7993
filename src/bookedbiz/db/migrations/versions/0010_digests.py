"""Digest subscriptions and user contact addresses (placeholder: filled in by the change that needs it; no-op until then).

Revision ID: 0010
Revises: 0009
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
