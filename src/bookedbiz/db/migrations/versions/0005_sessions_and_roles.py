"""Session versions, finance role, users linked to AEs (placeholder: filled in by the change that needs it; no-op until then).

Revision ID: 0005
Revises: 0004
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
