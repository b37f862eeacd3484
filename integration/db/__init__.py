"""Persistence of the integration layer: tables, engine, migrations."""

from __future__ import annotations

# registers the audit trail and the outbox/DLQ tables on Base
from . import audit_tables, reliability_tables  # noqa: F401
from .engine import Database, make_engine, migrate
from .tables import Base

__all__ = ["Base", "Database", "make_engine", "migrate"]
