"""Database: schema (SQLAlchemy Core), connections with the right pragmas, Alembic migrations."""
