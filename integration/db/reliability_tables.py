"""The layer's reliability records (issue 8): the transactional outbox, the dead-letter queue
and the audit of its replays. Same ``Base`` (and naming convention) as :mod:`.tables`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, utcnow


class OutboxEntry(Base):
    """One event to publish, written in the transaction of the state change that caused it.
    ``id`` is the publication order; the relay keeps it per business key."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    business_key: Mapped[str] = mapped_column(String(128), index=True)
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """Work the layer will not retry on its own: a permanent refusal (or a parked failure
    that outlived its retries), with the reason, what to replay and the correlation id.
    ``status``: open → replayed | compensated | discarded (open again if a replay fails)."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(String(128), index=True)
    operation: Mapped[str] = mapped_column(String(60))  # what a replay re-runs
    reason: Mapped[str] = mapped_column(String(60), index=True)  # the exception kind
    system: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    correlation_id: Mapped[str] = mapped_column(String(128))
    exception_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    replays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeadLetterReplay(Base):
    """Audit: who replayed (or compensated) which dead letter, when, and what came of it."""

    __tablename__ = "dead_letter_replays"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dead_letter_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(20))  # replay | compensate
    actor: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))  # replayed | failed | compensated
    detail: Mapped[str] = mapped_column(Text, default="")
    correlation_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)
