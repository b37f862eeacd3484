"""The one HTTP client factory and the one retry policy of every adapter.

Errors (one tree):
- :class:`AdapterError` — root; carries the system and the correlation id.
  - :class:`TransientError` — timeouts, connection failures, 5xx, 429 (``retry_after`` when
    the vendor said so): retried by :class:`RetryPolicy`.
  - :class:`InDoubt` — a non-idempotent request was sent but its answer was lost; resolved
    by looking the outcome up later, never by a blind retry.
  - :class:`VendorError` — the vendor refused the request for good (4xx validation, business
    rule): never retried unchanged; carries the vendor's code and message.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import stamina

from .. import correlation
from ..observability import Metrics, get_logger
from ..settings import HttpTransport, RetrySettings
from .transport import AiohttpTransport

T = TypeVar("T")
log = get_logger("integration.adapters")


class AdapterError(Exception):
    def __init__(self, system: str, message: str) -> None:
        super().__init__(f"{system}: {message}")
        self.system = system
        self.message = message
        self.correlation_id = correlation.current_id()


class TransientError(AdapterError):
    def __init__(self, system: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(system, message)
        self.status = status
        self.retry_after = retry_after


class InDoubt(AdapterError):
    """The request may or may not have been processed (timeout or dropped connection after
    it was sent). Never retried blindly: the caller must look the outcome up first."""


class VendorError(AdapterError):
    def __init__(self, system: str, status: int, code: str, message: str,
                 body: Any = None) -> None:
        super().__init__(system, f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.vendor_message = message
        self.body = body


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def is_transient_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


class RetryPolicy:
    """Exponential backoff with jitter, honouring ``Retry-After`` (capped), bounded by
    attempts and total time. ``before_retry`` runs before every retry and may return a
    result that ends the loop — how the legacy ERP's postings look themselves up."""

    def __init__(self, settings: RetrySettings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics

    def _backoff(self, exc: Exception) -> bool | float:
        if isinstance(exc, TransientError):
            if exc.retry_after is not None:
                return min(exc.retry_after, self.settings.max_retry_after_s)
            return True
        return isinstance(exc, httpx.TransportError)

    async def run(self, system: str, call: Callable[[], Awaitable[T]], *,
                  before_retry: Callable[[], Awaitable[T | None]] | None = None) -> T:
        try:
            return await self._run(system, call, before_retry)
        except httpx.TransportError as exc:  # still failing after the last retry
            raise TransientError(system, f"{type(exc).__name__}: {exc}") from exc

    async def _run(self, system: str, call: Callable[[], Awaitable[T]],
                   before_retry: Callable[[], Awaitable[T | None]] | None) -> T:
        s = self.settings
        first = True
        async for attempt in stamina.retry_context(
                on=self._backoff, attempts=s.attempts, timeout=s.timeout_s,
                wait_initial=s.wait_initial_s, wait_max=s.wait_max_s,
                wait_jitter=s.wait_jitter_s):
            with attempt:
                if not first:
                    if self.metrics is not None:
                        self.metrics.retries.labels(system).inc()
                    log.info("retrying", system=system, attempt=attempt.num)
                    if before_retry is not None:
                        found = await before_retry()
                        if found is not None:
                            return found
                first = False
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover - stamina re-raises


def make_client(system: str, base_url: str, *, settings: RetrySettings,
                metrics: Metrics | None = None, auth: httpx.Auth | None = None,
                headers: Mapping[str, str] | None = None,
                transport: httpx.AsyncBaseTransport | None = None,
                http_transport: HttpTransport = "aiohttp") -> httpx.AsyncClient:
    """The client every adapter uses: correlation headers on every request, metrics on
    every response, the policy's request timeout; carried by ``transport`` when given
    (tests), else by aiohttp's connections (:mod:`.transport`) or httpx's own."""

    async def add_correlation(request: httpx.Request) -> None:
        for name, value in correlation.current().headers().items():
            request.headers.setdefault(name, value)

    async def count(response: httpx.Response) -> None:
        if metrics is not None:
            metrics.outbound.labels(system, str(response.status_code)).inc()

    return httpx.AsyncClient(
        base_url=base_url, auth=auth, headers=dict(headers or {}),
        timeout=httpx.Timeout(settings.request_timeout_s, connect=5.0),
        event_hooks={"request": [add_correlation], "response": [count]},
        transport=transport or (AiohttpTransport() if http_transport == "aiohttp" else None),
    )


class Adapter:
    """Base of the vendor adapters: a client, the retry policy, the vendor's error parsing."""

    system = "system"

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy) -> None:
        self.client = client
        self.policy = policy

    async def aclose(self) -> None:
        await self.client.aclose()

    def vendor_error(self, response: httpx.Response) -> VendorError:
        """The vendor's error body as a :class:`VendorError` (overridden per dialect)."""
        return VendorError(self.system, response.status_code, str(response.status_code),
                           response.text[:500])

    def check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        if is_transient_status(response.status_code):
            raise TransientError(self.system, f"HTTP {response.status_code}: "
                                 f"{response.text[:200]}", status=response.status_code,
                                 retry_after=parse_retry_after(
                                     response.headers.get("retry-after")))
        raise self.vendor_error(response)

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request with the retry policy (only for requests safe to repeat)."""

        async def once() -> httpx.Response:
            return self.check(await self.client.request(method, url, **kwargs))

        return await self.policy.run(self.system, once)
