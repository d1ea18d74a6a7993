"""Budgets and forecasts per AE and broadcast month, with change history.

Idempotent: revision 0001 creates the tables of the current schema.py, so a fresh database
already has them; an existing one gets four empty tables (no data changes, so no totals move)
and a covering index on booking_history for the same-time-last-year reads per AE.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_MONTH = "GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: revision 0001 built the current schema and there is no old data
    for table in ("budgets", "forecasts"):
        note = ", note TEXT" if table == "forecasts" else ""
        op.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (ae_id INTEGER NOT NULL REFERENCES aes (ae_id), "
            "broadcast_month VARCHAR(7) NOT NULL, gross_micros INTEGER NOT NULL, "
            f"updated_at TEXT NOT NULL, updated_by TEXT NOT NULL{note}, "
            "PRIMARY KEY (ae_id, broadcast_month), "
            f"CONSTRAINT {table[:-1]}_month_shape CHECK (broadcast_month {_MONTH}), "
            f"CONSTRAINT {table[:-1]}_not_negative CHECK (gross_micros >= 0))"
        )
    for table, extra in (("budget_changes", "source TEXT"), ("forecast_changes", "note TEXT")):
        op.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (change_id INTEGER PRIMARY KEY, "
            "ae_id INTEGER NOT NULL, broadcast_month VARCHAR(7) NOT NULL, old_micros INTEGER, "
            "new_micros INTEGER, changed_by TEXT NOT NULL, changed_at TEXT NOT NULL, "
            f"{extra})"
        )
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_ae_month ON {table} "
                   "(ae_id, broadcast_month)")
    # same time last year per AE, read inside the index (schema.py: ix_booking_history_plan)
    op.execute("CREATE INDEX IF NOT EXISTS ix_booking_history_plan ON booking_history "
               "(broadcast_month, valid_to, valid_from, ae_id, gross_micros, net_micros, spots)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_booking_history_plan")
    for table in ("forecast_changes", "forecasts", "budget_changes", "budgets"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
