"""Schema revision 0005 on a database at 0004 with data: users rebuilt for the finance role and
the new columns, every user, API token and spot kept, foreign keys intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bookedbiz import users
from bookedbiz.db.migrate import current_version, head_version, init_database

OLD_USERS = (
    "CREATE TABLE users (user_id INTEGER NOT NULL, username TEXT NOT NULL, full_name TEXT, "
    "password_hash TEXT NOT NULL, role VARCHAR(16) NOT NULL, is_active BOOLEAN DEFAULT '1' "
    "NOT NULL, created_at TEXT NOT NULL, last_login_at TEXT, password_changed_at TEXT, "
    "PRIMARY KEY (user_id), UNIQUE (username), "
    "CONSTRAINT user_role CHECK (role IN ('admin', 'manager', 'ae', 'viewer')))"
)
OLD_COLUMNS = ("user_id, username, full_name, password_hash, role, is_active, created_at, "
               "last_login_at, password_changed_at")


def to_revision_0004(path: Path) -> None:
    """Put the users table back the way revision 0004 left it (the old CHECK, no session
    version, AE link or e-mail), keeping its rows, and mark the database 0004."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    conn.execute("UPDATE users SET role = 'viewer' WHERE role = 'finance'")
    conn.execute(OLD_USERS.replace("CREATE TABLE users", "CREATE TABLE users_old"))
    conn.execute(f"INSERT INTO users_old ({OLD_COLUMNS}) SELECT {OLD_COLUMNS} FROM users")
    conn.execute("DROP TABLE users")
    conn.execute("ALTER TABLE users_old RENAME TO users")
    conn.execute("UPDATE alembic_version SET version_num = '0004'")
    conn.execute("COMMIT")
    conn.close()


def snapshot(path: Path) -> dict[str, object]:
    conn = sqlite3.connect(path)
    try:
        return {
            "users": conn.execute(f"SELECT {OLD_COLUMNS} FROM users ORDER BY user_id").fetchall(),
            "tokens": conn.execute("SELECT * FROM api_tokens ORDER BY token_id").fetchall(),
            "spots": conn.execute("SELECT COUNT(*), SUM(gross_rate_micros), "
                                  "SUM(station_net_micros) FROM spots").fetchone(),
        }
    finally:
        conn.close()


def test_revision_0005_keeps_every_user_and_token(db_copy: Path) -> None:
    users.create_token(db_copy, "viewer", "sheet one")
    _, token = users.create_token(db_copy, "manager", "sheet two")
    to_revision_0004(db_copy)
    assert current_version(db_copy) == "0004"
    conn = sqlite3.connect(db_copy)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
    conn.close()
    assert "session_version" not in columns and "ae_id" not in columns
    before = snapshot(db_copy)
    assert len(before["users"]) == 5 and len(before["tokens"]) == 2

    init_database(db_copy, snapshot_dir=db_copy.parent / "snapshots")

    assert current_version(db_copy) == head_version()
    assert snapshot(db_copy) == before
    conn = sqlite3.connect(db_copy)
    try:
        rows = conn.execute("SELECT session_version, ae_id, email FROM users").fetchall()
        assert set(rows) == {(0, None, None)}
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert [fk[2] for fk in conn.execute("PRAGMA foreign_key_list(api_tokens)")] == ["users"]
        table_sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]
        assert "'finance'" in table_sql
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%users_new%' "
                            "OR name LIKE 'keep_%'").fetchone() == (0,)
    finally:
        conn.close()
    # the kept token still works, and the new role and columns can be used
    from bookedbiz.db.connection import create_db_engine

    engine = create_db_engine(db_copy, readonly=True)
    with engine.connect() as read:
        assert users.verify_token(read, token) is not None
    engine.dispose()
    users.create_user(db_copy, "fran", "finance-password-1", "finance", email="f@example.com")
    # a second run (e.g. init again) changes nothing
    again = snapshot(db_copy)
    init_database(db_copy)
    assert snapshot(db_copy) == again


def test_a_fresh_database_gets_the_new_users_table(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    init_database(path)
    users.create_user(path, "fran", "finance-password-1", "finance")
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
    finally:
        conn.close()
    assert {"session_version", "ae_id", "email"} <= set(columns)
