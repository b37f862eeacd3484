"""RabbitMQ publisher (aio-pika): a durable topic exchange, a durable queue bound to every
event type with a dead-letter exchange behind it, persistent messages, publisher confirms.

Topology for exchange ``X`` (declared idempotently at connect):
- ``X`` (topic, durable) — events, routing key = event type (``invoice.posted``);
- ``X.dlx`` (fanout, durable) → queue ``X.dead`` — what consumers reject;
- queue ``X.all`` (durable, ``x-dead-letter-exchange = X.dlx``) bound with ``#``.

A publish returns only once the broker confirmed it (``mandatory``: unroutable is an error).
Any failure drops the connection; the next publish reconnects. Each message carries the event
id as ``message_id``, the correlation id and the business key, so consumers dedupe.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from harness.canonical import Event

from ..observability import get_logger

log = get_logger("integration.bus")


class RabbitPublisher:
    def __init__(self, url: str, exchange: str,
                 subscribers: list[Callable[[Event], Awaitable[None]]] | None = None,
                 timeout_s: float = 10.0,
                 connection_name: str = "o2c-integration-layer") -> None:
        self.url = url
        self.connection_name = connection_name  # shown by the broker (rabbitmqctl, UI)
        self.exchange_name = exchange
        self.timeout_s = timeout_s
        self.subscribers = subscribers or []  # in-process subscribers also see each event
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> AbstractExchange:
        if self._exchange is not None and self._connection is not None \
                and not self._connection.is_closed:
            return self._exchange
        await self._drop()
        connection = await aio_pika.connect(
            self.url, timeout=self.timeout_s,
            client_properties={"connection_name": self.connection_name})
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await declare_topology(channel, self.exchange_name)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel, self._exchange = connection, channel, exchange
        log.info("connected to the event broker", exchange=self.exchange_name)
        return exchange

    async def _drop(self) -> None:
        connection, self._connection, self._channel, self._exchange = \
            self._connection, None, None, None
        if connection is not None and not connection.is_closed:
            # already broken: nothing to close cleanly
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    async def publish(self, event: Event) -> None:
        async with self._lock:
            try:
                exchange = await self._connect()
                message = aio_pika.Message(
                    body=event.model_dump_json().encode(), message_id=event.id,
                    correlation_id=event.correlation_id, type=event.type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    timestamp=event.occurred_at,
                    headers={"business_key": event.business_key})
                await asyncio.wait_for(exchange.publish(message, routing_key=event.type,
                                                        mandatory=True),
                                       timeout=self.timeout_s)
            except BaseException:
                await self._drop()
                raise
        for subscriber in self.subscribers:
            try:
                await subscriber(event)
            except Exception:
                log.exception("event subscriber failed", event_id=event.id)

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()


async def declare_topology(channel: AbstractChannel, name: str) -> AbstractExchange:
    """Declare the exchange, its catch-all queue and the dead-letter exchange + queue."""
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(f"{name}.dlx", aio_pika.ExchangeType.FANOUT,
                                         durable=True)
    dead = await channel.declare_queue(f"{name}.dead", durable=True)
    await dead.bind(dlx)
    arguments: dict[str, Any] = {"x-dead-letter-exchange": f"{name}.dlx"}
    queue = await channel.declare_queue(f"{name}.all", durable=True, arguments=arguments)
    await queue.bind(exchange, routing_key="#")
    return exchange


def event_from_message(body: bytes) -> Event:
    return Event.model_validate_json(body)


__all__ = ["RabbitPublisher", "declare_topology", "event_from_message"]
