"""The event bus seam. Flows call :meth:`EventBus.emit` inside their unit of work: the event
is written to the ``events`` table and to the transactional ``outbox`` in the same
transaction as the state change; :class:`integration.outbox.OutboxRelay` publishes it after
commit (in-process subscribers by default, RabbitMQ when ``bus_url`` is set)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from harness.canonical import CustomerOnboarded, Event, InvoicePosted, PaymentApplied

from . import correlation, records
from .db.reliability_tables import OutboxEntry
from .db.tables import utcnow
from .observability import get_logger

Subscriber = Callable[[Event], Awaitable[None]]
Payload = CustomerOnboarded | InvoicePosted | PaymentApplied
log = get_logger("integration.events")


class EventBus:
    """Records events in the outbox; ``subscribers`` are handed every published event (in
    order, by the relay's publisher)."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, session: Session, business_key: str, payload: Payload,
             occurred_at: datetime | None = None) -> Event:
        event = Event(id=records.new_id("evt"), type=payload.type, business_key=business_key,
                      correlation_id=correlation.current_id(),
                      occurred_at=occurred_at or utcnow(), data=payload)
        records.record_event(session, event.id, event.type, business_key, event.occurred_at,
                             _json(payload))
        records.insert_row(session, OutboxEntry, event_id=event.id,
                           event_type=event.type, business_key=business_key)
        session.info.setdefault("o2c_events", []).append(event)
        return event


def _json(model: BaseModel) -> dict[str, object]:
    return model.model_dump(mode="json")
