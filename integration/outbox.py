"""The transactional outbox relay.

:meth:`integration.events.EventBus.emit` writes an event (``events``) and its outbox entry
(``outbox``) in the caller's unit of work, so an event exists if and only if its state change
committed. The relay publishes pending entries in outbox order, per business key: when an
event of a key cannot be published, later events of that key wait (other keys go on). It runs
right after every unit of work commits (in-process events arrive at once), on a timer, and
at start-up (what a killed process left pending is published then).

A crash between the publisher's confirm and the relay's bookkeeping publishes an event again:
delivery is at least once, and consumers drop duplicates by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import bindparam, func, select, update

from harness.canonical import Event

from .bus import Publisher
from .db import Database
from .db.reliability_tables import OutboxEntry
from .db.tables import EventRecord, utcnow
from .observability import get_logger
from .records import table_of

log = get_logger("integration.outbox")


class OutboxRelay:
    def __init__(self, db: Database, publisher: Publisher, batch: int = 200) -> None:
        self.db = db
        self.publisher = publisher
        self.batch = batch
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.published = 0
        self.failures = 0

    def pending(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(OutboxEntry).where(
                OutboxEntry.published_at.is_(None))) or 0

    async def flush(self) -> int:
        """Publish what is pending; returns how many events were published."""
        async with self._lock:
            done, after = 0, 0
            blocked: set[str] = set()  # keys with an unpublished event: later ones wait
            while True:
                with self.db.engine.connect() as connection:
                    rows = list(connection.execute(_PENDING, {"after": after,
                                                              "batch": self.batch}))
                if not rows:
                    return done
                for record in rows:
                    entry_id = after = record.entry_id
                    if record.business_key in blocked:
                        continue
                    try:
                        await self.publisher.publish(_event(record))
                    except Exception as exc:
                        blocked.add(record.business_key)  # keep the key's order
                        self.failures += 1
                        self._failed(entry_id, exc)
                        continue
                    self._published(entry_id, record.id)
                    done += 1
                    self.published += 1
                if len(rows) < self.batch:
                    return done

    def _published(self, entry_id: int, event_id: str) -> None:
        """Mark the entry and its event published: two UPDATEs, nothing read back (the event
        carries its whole payload)."""
        now = utcnow()
        with self.db.engine.begin() as connection:
            connection.execute(_ENTRY_PUBLISHED, {"entry": entry_id, "now": now})
            connection.execute(_EVENT_PUBLISHED, {"event": event_id, "now": now})

    def _failed(self, entry_id: int, exc: Exception) -> None:
        log.warning("event not published yet", entry=entry_id,
                    error=f"{type(exc).__name__}: {exc}")
        with self.db.session() as session:
            entry = session.get_one(OutboxEntry, entry_id)
            entry.attempts += 1
            entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]

    def nudge(self) -> None:
        """A unit of work committed events: publish them now rather than at the next tick."""
        self._wake.set()

    async def run(self, interval_s: float) -> None:
        """Publish pending events when nudged, and every ``interval_s``, until cancelled."""
        while True:
            self._wake.clear()
            failures = self.failures
            try:
                await self.flush()
            except Exception:  # the database may be briefly unavailable: try again
                log.exception("outbox relay pass failed")
                failures = -1
            if self.failures != failures:  # the bus is down: no tight loop on nudges
                await asyncio.sleep(interval_s)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval_s)


_OUT, _EVENTS = table_of(OutboxEntry), table_of(EventRecord)
# Core statements, built once: the relay runs after every unit of work that emitted an event
_PENDING = (select(_OUT.c.id.label("entry_id"), _EVENTS.c.id, _EVENTS.c.type,
                   _EVENTS.c.business_key, _EVENTS.c.correlation_id, _EVENTS.c.occurred_at,
                   _EVENTS.c.payload)
            .join(_EVENTS, _EVENTS.c.id == _OUT.c.event_id)
            .where(_OUT.c.published_at.is_(None), _OUT.c.id > bindparam("after"))
            .order_by(_OUT.c.id).limit(bindparam("batch")))
_ENTRY_PUBLISHED = update(_OUT).where(_OUT.c.id == bindparam("entry")).values(
    published_at=bindparam("now"), attempts=_OUT.c.attempts + 1)
_EVENT_PUBLISHED = update(_EVENTS).where(_EVENTS.c.id == bindparam("event")).values(
    published_at=bindparam("now"))


def _event(record: Any) -> Event:
    import orjson

    return Event.model_validate_json(orjson.dumps({
        "id": record.id, "type": record.type, "business_key": record.business_key,
        "correlation_id": record.correlation_id, "occurred_at": record.occurred_at,
        "data": record.payload}))


__all__ = ["OutboxRelay"]
