"""Session versions, the finance role, users linked to an AE and their e-mail address.

SQLite cannot change a CHECK constraint in place, so ``users`` is rebuilt (create, copy, drop,
rename) with every row kept. Foreign keys stay on inside the migration's transaction, so dropping
the old table would cascade to the rows that point at users (``api_tokens``); those rows are set
aside first and put back after the rename. A fresh database already has the new table
(revision 0001 builds the current schema), and then this is a no-op.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NEW_USERS = (
    "CREATE TABLE users_new ("
    " user_id INTEGER NOT NULL,"
    " username TEXT NOT NULL,"
    " full_name TEXT,"
    " password_hash TEXT NOT NULL,"
    " role VARCHAR(16) NOT NULL,"
    " is_active BOOLEAN DEFAULT '1' NOT NULL,"
    " created_at TEXT NOT NULL,"
    " last_login_at TEXT,"
    " password_changed_at TEXT,"
    " session_version INTEGER DEFAULT '0' NOT NULL,"
    " ae_id INTEGER,"
    " email TEXT,"
    " PRIMARY KEY (user_id),"
    " UNIQUE (username),"
    " FOREIGN KEY(ae_id) REFERENCES aes (ae_id),"
    " CONSTRAINT user_role CHECK (role IN ('admin', 'manager', 'finance', 'ae', 'viewer'))"
    ")"
)
_NEW_COLUMNS = ("session_version", "ae_id", "email")


def _columns(conn, table: str) -> list[str]:  # noqa: ANN001 - SQLAlchemy connection
    return [row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")]


def _tables_referencing_users(conn) -> list[str]:  # noqa: ANN001
    tables = [row[0] for row in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return [t for t in tables if t != "users" and any(
        fk[2] == "users" for fk in conn.exec_driver_sql(f"PRAGMA foreign_key_list({t})"))]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL: revision 0001 built the current schema and there is no old data
    conn = op.get_bind()
    table_sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").scalar() or ""
    old_columns = _columns(conn, "users")
    if "'finance'" in table_sql and set(_NEW_COLUMNS) <= set(old_columns):
        return  # built from the current schema already
    conn.exec_driver_sql("DROP TABLE IF EXISTS users_new")
    conn.exec_driver_sql(_NEW_USERS)
    new_columns = _columns(conn, "users_new")
    copied = ", ".join(c for c in old_columns if c in new_columns)
    conn.exec_driver_sql(f"INSERT INTO users_new ({copied}) SELECT {copied} FROM users")
    children = _tables_referencing_users(conn)
    for child in children:
        conn.exec_driver_sql(f"CREATE TEMP TABLE keep_{child} AS SELECT * FROM {child}")
    conn.exec_driver_sql("DROP TABLE users")  # cascades to the children: restored below
    conn.exec_driver_sql("ALTER TABLE users_new RENAME TO users")
    for child in children:
        conn.exec_driver_sql(f"DELETE FROM {child}")
        conn.exec_driver_sql(f"INSERT INTO {child} SELECT * FROM temp.keep_{child}")
        conn.exec_driver_sql(f"DROP TABLE temp.keep_{child}")


def downgrade() -> None:
    raise NotImplementedError("Revision 0005 is not reversible; restore the pre-migration "
                              "snapshot instead.")
