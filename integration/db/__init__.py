"""Persistence of the integration layer: tables, engine, migrations."""

from __future__ import annotations

from .engine import Database, make_engine, migrate
from .tables import Base

__all__ = ["Base", "Database", "make_engine", "migrate"]
