"""Digest subscriptions: per user, the weekly pacing or daily "what changed" digest and where to
send it (users.email already exists since revision 0005).

Idempotent: revision 0001 creates the tables of the current schema.py, so a fresh database
already has the table; an existing one gets it empty (no data changes, so no totals move).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE IF NOT EXISTS digest_subscriptions ("
        "subscription_id INTEGER PRIMARY KEY, "
        "user_id INTEGER NOT NULL REFERENCES users (user_id) ON DELETE CASCADE, "
        "kind VARCHAR(8) NOT NULL, target TEXT NOT NULL, created_at TEXT NOT NULL, "
        "last_sent_at TEXT, last_sent_for TEXT, "
        "CONSTRAINT digest_kind CHECK (kind IN ('weekly', 'daily')))"
    )
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS ux_digest_subscriptions "
               "ON digest_subscriptions (user_id, kind, target)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS digest_subscriptions")
