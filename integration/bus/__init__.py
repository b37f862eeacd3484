"""Where the outbox relay publishes business events: in-process subscribers by default, a
RabbitMQ exchange when ``bus_url = "amqp://..."`` is set.

A :class:`Publisher` either delivers an event (returns) or raises; the relay keeps the event
in the outbox and tries again later, so delivery is at least once and every event carries
its id (the AMQP ``message_id``) for consumers to drop duplicates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from harness.canonical import Event

from .local import LocalPublisher

Subscriber = Callable[[Event], Awaitable[None]]


class Publisher(Protocol):
    async def publish(self, event: Event) -> None:
        """Deliver ``event`` (confirmed), or raise."""

    async def aclose(self) -> None: ...


def make_publisher(bus_url: str | None, exchange: str,
                   subscribers: list[Subscriber]) -> Publisher:
    """The publisher ``bus_url`` names (None: in-process)."""
    if not bus_url:
        return LocalPublisher(subscribers)
    if bus_url.startswith(("amqp://", "amqps://")):
        from .rabbitmq import RabbitPublisher  # aio-pika only when a broker is configured

        return RabbitPublisher(bus_url, exchange, subscribers)
    raise ValueError(f"unsupported bus_url scheme: {bus_url.split('://', 1)[0]!r} "
                     "(expected amqp:// or amqps://, or none for in-process)")


__all__ = ["LocalPublisher", "Publisher", "Subscriber", "make_publisher"]
