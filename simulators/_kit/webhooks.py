"""Signed webhook delivery with retries, faults and a delivery log.

Backends call :meth:`WebhookDispatcher.enqueue` (synchronously, from a request or a clock
tick); a background task delivers. The simulator supplies how to sign (headers computed from
the body) and what counts as accepted (Stripe: any 2xx; Adyen: the body ``[accepted]``).
Failed attempts are retried on a compressed schedule; every attempt is logged for
``GET /_sim/webhooks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from .clock import Clock
from .faults import FaultPlan

log = logging.getLogger("o2c.simulators.webhooks")

Signer = Callable[[bytes, str, int], dict[str, str]]


@dataclass(frozen=True)
class WebhookResponse:
    """What the receiver answered to one delivery attempt."""

    status_code: int
    text: str


Acceptor = Callable[[WebhookResponse], bool]


def accept_2xx(response: WebhookResponse) -> bool:
    return 200 <= response.status_code < 300


@dataclass
class RetryPolicy:
    """Seconds to wait before attempt 2, 3, ...; the last value repeats up to ``max_attempts``."""

    backoff_s: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    max_attempts: int = 8
    timeout_s: float = 10.0

    def delay_before(self, attempt: int) -> float:
        return self.backoff_s[min(attempt - 2, len(self.backoff_s) - 1)]


@dataclass
class Delivery:
    id: str
    event_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    content_type: str
    created: float
    status: str = "pending"  # pending | delivered | failed
    duplicate_of: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, with_body: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "url": self.url,
            "status": self.status,
            "created": self.created,
            "duplicate_of": self.duplicate_of,
            "attempts": list(self.attempts),
        }
        if with_body:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


class WebhookDispatcher:
    max_concurrent_attempts = 32

    def __init__(
        self,
        *,
        clock: Clock,
        faults: FaultPlan,
        signer: Signer | None = None,
        accept: Acceptor = accept_2xx,
        retry: RetryPolicy | None = None,
        log_size: int = 5000,
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.signer = signer
        self.accept = accept
        self.retry = retry or RetryPolicy()
        self.log: deque[Delivery] = deque(maxlen=log_size)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._limit: asyncio.Semaphore | None = None
        self._pending = 0

    # -- producer side (sync) -------------------------------------------------------------
    def enqueue(
        self,
        *,
        url: str,
        body: bytes,
        event_id: str,
        event_type: str,
        secret: str = "",
        content_type: str = "application/json",
    ) -> Delivery:
        delivery = Delivery(
            id=f"whd_{next(self._ids):08d}",
            event_id=event_id,
            event_type=event_type,
            url=url,
            secret=secret,
            body=body,
            content_type=content_type,
            created=self.clock.now(),
        )
        self.log.append(delivery)
        fault = self.faults.webhook(url, self.clock.now())
        delay = fault.delay_s
        if fault.out_of_order:
            # hold this one back so later events overtake it
            delay += self.faults.uniform(0.2, 1.0)
        self._schedule(delivery, delay)
        if fault.duplicate:
            dup = Delivery(
                id=f"whd_{next(self._ids):08d}",
                event_id=event_id,
                event_type=event_type,
                url=url,
                secret=secret,
                body=body,
                content_type=content_type,
                created=self.clock.now(),
                duplicate_of=delivery.id,
            )
            self.log.append(dup)
            self._schedule(dup, delay + self.faults.uniform(0.0, 0.3))
        return delivery

    def _schedule(self, delivery: Delivery, delay_s: float) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._seq), delivery))
        self._pending += 1
        if self._wakeup is not None:
            self._wakeup.set()

    # -- consumer side (async) ------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return self._pending == 0

    async def start(self) -> None:
        if self._task is None:
            self._wakeup = asyncio.Event()
            # aiohttp: about a fifth of httpx's client CPU per delivery (bench/RESULTS.md); the
            # trust store is httpx's (certifi, SSL_CERT_FILE); direct, no proxy, no cookies
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=httpx.create_ssl_context()),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=self.retry.timeout_s))
            self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._inflight):
            task.cancel()
        if self._client is not None:
            await self._client.close()
            self._client = None

    def clear(self) -> None:
        self._heap.clear()
        self.log.clear()
        self._pending = 0

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, delivery = heapq.heappop(self._heap)
                task = asyncio.create_task(self._limited(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            timeout = (self._heap[0][0] - now) if self._heap else None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _limited(self, delivery: Delivery) -> None:
        # bounded concurrency: thousands of simultaneous failing connects starve the event loop
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.max_concurrent_attempts)
        async with self._limit:
            await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        headers = {"Content-Type": delivery.content_type, "User-Agent": "o2c-harness-simulator"}
        if self.signer is not None:
            # wall time, not the simulator clock: receivers check the signature's age
            # against their own clocks (e.g. Stripe's 300 s tolerance)
            headers.update(self.signer(delivery.body, delivery.secret, int(time.time())))
        started = time.perf_counter()
        attempt: dict[str, Any] = {"at": self.clock.now(), "status_code": None, "error": None}
        accepted = False
        try:
            async with self._client.post(delivery.url, data=delivery.body,
                                         headers=headers) as answer:
                response = WebhookResponse(answer.status, await answer.text(errors="replace"))
            attempt["status_code"] = response.status_code
            accepted = self.accept(response)
            if not accepted:
                attempt["error"] = (f"not accepted: HTTP {response.status_code} "
                                    f"{response.text[:200]!r}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            attempt["error"] = f"{type(exc).__name__}: {exc}"
        attempt["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        delivery.attempts.append(attempt)
        if accepted:
            delivery.status = "delivered"
        elif len(delivery.attempts) >= self.retry.max_attempts:
            delivery.status = "failed"
            log.warning("webhook %s to %s failed after %d attempts",
                        delivery.event_id, delivery.url, len(delivery.attempts))
        else:
            self._pending -= 1
            self._schedule(delivery, self.retry.delay_before(len(delivery.attempts) + 1))
            return
        self._pending -= 1

    def describe(self, limit: int = 100, event_id: str | None = None,
                 with_body: bool = False) -> list[dict[str, Any]]:
        items = [d for d in self.log if event_id is None or d.event_id == event_id]
        return [d.describe(with_body) for d in items[-limit:]]
