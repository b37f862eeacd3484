"""The in-process publisher: subscribers awaited in order, each event id delivered once per
process (an event re-published after a crash between publish and bookkeeping is dropped)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from harness.canonical import Event

from ..observability import get_logger

log = get_logger("integration.bus")
_REMEMBERED = 10_000


class LocalPublisher:
    def __init__(self, subscribers: list[Callable[[Event], Awaitable[None]]]) -> None:
        self.subscribers = subscribers
        self.published: list[Event] = []
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def publish(self, event: Event) -> None:
        if event.id in self._seen:
            return
        self._seen[event.id] = None
        if len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
        self.published.append(event)
        for subscriber in self.subscribers:
            try:
                await subscriber(event)
            except Exception:  # a subscriber's bug must not block the outbox
                log.exception("event subscriber failed", event_id=event.id)

    async def aclose(self) -> None:
        return None
