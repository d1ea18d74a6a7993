"""Failed sign-ins in the database, so every web worker throttles from the same count.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE IF NOT EXISTS login_failures (failure_id INTEGER PRIMARY KEY, "
               "throttle_key TEXT NOT NULL, at FLOAT NOT NULL)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_login_failures_key ON login_failures "
               "(throttle_key, at)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS login_failures")
