"""The event bus seam. Flows call :meth:`EventBus.emit` inside their unit of work: the event
is written to the ``events`` table in the same transaction as the state change, and handed
to the in-process subscribers after commit. (Issue 8 replaces the after-commit hand-off with
a transactional-outbox relay and adds a RabbitMQ publisher behind the same interface.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from harness.canonical import CustomerOnboarded, Event, InvoicePosted, PaymentApplied

from . import correlation, records
from .db.tables import utcnow
from .observability import get_logger

Subscriber = Callable[[Event], Awaitable[None]]
Payload = CustomerOnboarded | InvoicePosted | PaymentApplied
log = get_logger("integration.events")


class EventBus:
    """In-process publisher: subscribers are awaited in order; a failing one is logged."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.published: list[Event] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def emit(self, session: Session, business_key: str, payload: Payload,
             occurred_at: datetime | None = None) -> Event:
        event = Event(id=records.new_id("evt"), type=payload.type, business_key=business_key,
                      correlation_id=correlation.current_id(),
                      occurred_at=occurred_at or utcnow(), data=payload)
        records.record_event(session, event.id, event.type, business_key, event.occurred_at,
                             _json(payload))
        session.info.setdefault("o2c_events", []).append(event)
        return event

    async def publish_committed(self, events: list[Event]) -> None:
        for event in events:
            self.published.append(event)
            log.info("event published", event_type=event.type, event_id=event.id,
                     business_key=event.business_key)
            for subscriber in self._subscribers:
                try:
                    await subscriber(event)
                except Exception:
                    log.exception("event subscriber failed", event_id=event.id)


def _json(model: BaseModel) -> dict[str, object]:
    return model.model_dump(mode="json")
