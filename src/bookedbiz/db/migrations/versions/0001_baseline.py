"""Baseline schema: every table of schema.py version 1.

Revision ID: 0001
Revises:
"""

from alembic import op

from bookedbiz.db.schema import metadata, seed_main_station

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Baseline only: later schema changes get their own revisions with explicit operations
    # (written with IF NOT EXISTS, since this create_all uses the current table definitions).
    bind = op.get_bind()
    metadata.create_all(bind)
    # Every row defaults to station 1 (revision 0012), so it exists from the first revision on.
    seed_main_station(bind)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
