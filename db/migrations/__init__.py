"""Alembic migration environment of the store (see db/migrate.py)."""
