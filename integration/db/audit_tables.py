"""The audit trail (issue 15): who (client id) did what (a command, a DLQ replay, a routing
change, a refusal) to which target, with what outcome, when, under which correlation id.
Append-only: the code has no UPDATE or DELETE path, and migration 0003 installs triggers
that make the database refuse both (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_client_at", "client_id", "at"),
                      Index("ix_audit_log_action_at", "action", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    client_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    method: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    correlation_id: Mapped[str] = mapped_column(String(128), index=True)
