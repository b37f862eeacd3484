"""Persistence of the integration layer: tables, engine, migrations."""

from __future__ import annotations

from . import reliability_tables  # noqa: F401  (registers the outbox/DLQ tables on Base)
from .engine import Database, make_engine, migrate
from .tables import Base

__all__ = ["Base", "Database", "make_engine", "migrate"]
