"""Everything a flow needs, built once per app and passed explicitly: settings, database,
adapters (one client factory, one retry policy), event bus, metrics, per-key locks and the
background job queue."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.orm import Session

from . import correlation
from .adapters.adyen import AdyenManagement
from .adapters.avatax import AvaTax
from .adapters.http import RetryPolicy, make_client
from .adapters.legacy_erp import LegacyErp
from .adapters.s4hana import S4Hana
from .adapters.salesforce import Salesforce
from .adapters.stripe import StripeBilling
from .bus import make_publisher
from .db import Database
from .db.tables import utcnow
from .events import EventBus
from .observability import Metrics, get_logger
from .outbox import OutboxRelay
from .settings import Settings

log = get_logger("integration.jobs")
Job = Callable[[], Awaitable[None]]


class Adapters:
    def __init__(self, settings: Settings, metrics: Metrics,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        policy = RetryPolicy(settings.retry, metrics)
        r = settings.retry

        def client(system: str, url: str, **kw: Any) -> httpx.AsyncClient:
            return make_client(system, url, settings=r, metrics=metrics, transport=transport,
                               http_transport=settings.http_transport, **kw)

        s = settings
        self.crm = Salesforce(client("crm", s.crm.url), policy, s.crm)
        self.billing = StripeBilling(client("billing", s.billing.url, headers={
            "Authorization": f"Bearer {s.billing.api_key.get_secret_value()}"}), policy)
        self.tax = AvaTax(client("tax", s.tax.url, auth=httpx.BasicAuth(
            s.tax.account_id, s.tax.license_key.get_secret_value())), policy)
        self.payments = AdyenManagement(client("payments", s.payments.url, headers={
            "X-API-Key": s.payments.api_key.get_secret_value()}), policy)
        self.cloud_erp = S4Hana(client("cloud_erp", s.cloud_erp.url, auth=httpx.BasicAuth(
            s.cloud_erp.username, s.cloud_erp.password.get_secret_value())), policy,
            sap_client=s.cloud_erp.sap_client, payment_terms=s.cloud_erp.payment_terms)
        self.legacy_erp = LegacyErp(client("legacy_erp", s.legacy_erp.url, auth=httpx.BasicAuth(
            s.legacy_erp.username, s.legacy_erp.password.get_secret_value())), policy)

    async def aclose(self) -> None:
        for adapter in (self.crm, self.billing, self.tax, self.payments, self.cloud_erp,
                        self.legacy_erp):
            await adapter.aclose()


class Services:
    def __init__(self, settings: Settings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        # work a previous process left "attempting" began before this: its outcome is unknown
        self.started_at = utcnow()
        self.metrics = Metrics()
        self.db = Database(settings.database_url)
        self.adapters = Adapters(settings, self.metrics, transport)
        self.bus = EventBus()
        self.publisher = make_publisher(settings.bus_url, settings.bus_exchange,
                                        self.bus.subscribers)
        self.relay = OutboxRelay(self.db, self.publisher)
        self.webhook_secrets: dict[str, str] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._jobs: set[asyncio.Task[None]] = set()
        # a bounded worker pool: jobs past the bound wait their turn (FIFO); the work they
        # stand for is in the inbox, so a process stopped with jobs waiting resumes them
        self._slots = asyncio.Semaphore(settings.job_concurrency)
        self._running = 0
        self.metrics.jobs_running.set_function(lambda: self._running)
        self.metrics.jobs_waiting.set_function(lambda: len(self._jobs) - self._running)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Session]:
        """A unit of work: commit; the events it emitted are in the outbox, the relay is
        nudged to publish them."""
        with self.db.session() as session:
            yield session
            events = session.info.pop("o2c_events", [])
        if events:
            self.relay.nudge()

    def lock(self, key: str) -> asyncio.Lock:
        """Serialises the work on one business key (an invoice, a customer)."""
        return self._locks[key]

    def spawn(self, name: str, job: Job, correlation_id: str | None = None) -> None:
        """Run ``job`` in the background under the current (or given) correlation id."""
        trace = correlation.start(correlation_id) if correlation_id else correlation.current()

        async def run() -> None:
            with correlation.bound(trace):
                try:
                    async with self._slots:
                        self._running += 1
                        try:
                            await job()
                        finally:
                            self._running -= 1
                except Exception as exc:
                    log.exception("background job failed", job=name)
                    self.record_failure(name, exc)

        task = asyncio.get_running_loop().create_task(run(), name=name)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def record_failure(self, business_key: str, exc: BaseException) -> None:
        """An unexpected failure of background work, listed in ``GET /exceptions``."""
        from . import records

        try:
            with self.db.session() as session:
                records.exception(session, business_key, "internal_error", "integration",
                                  f"{type(exc).__name__}: {exc}")
        except Exception:  # the database itself may be what failed
            log.exception("could not record the failure", key=business_key)

    async def drain(self, timeout: float = 10.0) -> None:
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=timeout)

    async def aclose(self) -> None:
        for task in list(self._jobs):
            task.cancel()
        await self.adapters.aclose()
        await self.publisher.aclose()
        self.db.dispose()
