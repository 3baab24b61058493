"""Persistence: SQLAlchemy Core over SQLite (default) or PostgreSQL, one schema for both."""

from __future__ import annotations

from adamas.store.database import migrate, normalize_url, open_engine
from adamas.store.schema import SCHEMA_VERSION, metadata

__all__ = ["SCHEMA_VERSION", "metadata", "migrate", "normalize_url", "open_engine"]
