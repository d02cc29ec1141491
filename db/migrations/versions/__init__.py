"""Alembic revision files of the store."""
