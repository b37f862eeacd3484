"""The app factory: ``create_app(settings)`` builds the FastAPI app of the integration layer.

Start-up: structured logging → database migrations → wave plan seeded from settings →
webhook receivers registered with the vendors (Stripe webhook endpoint, Adyen Management
API webhook + HMAC key, CRM change-event subscription) → background loops: CRM polling
(watermark) and the sweeper that moves held invoices, queued postings and buffered payments
on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from harness.canonical import OnboardingStatus

from . import correlation, dlq, inbox_replay
from .adapters.http import AdapterError
from .api import dlq as dlq_api
from .api import domain, ops, problems, security, webhooks
from .audit import AuditMiddleware
from .auth import Authority
from .correlation import CorrelationMiddleware
from .db.tables import (
    CustomerRow,
    ErpPosting,
    ExceptionRecord,
    InvoiceRow,
    PaymentRow,
    WebhookRegistration,
    utcnow,
)
from .flows.crm import poll_closed_won
from .flows.month_end import OPEN_STATES, advance_invoice, check_queued_posting, post_invoice
from .flows.onboarding import RESUMABLE, resume_onboarding
from .flows.payments import apply_buffered
from .observability import configure_logging, get_logger
from .routing import seed_wave_plan
from .services import Services
from .settings import Settings

log = get_logger("integration.app")
STRIPE_EVENTS = ["invoice.created", "invoice.finalized", "invoice.paid", "invoice.voided"]


async def register_webhooks(services: Services) -> None:
    """Register this layer's receivers with each vendor (once; kept across restarts)."""
    s = services.settings
    base = s.public_url.rstrip("/")
    regs: dict[tuple[str, str], WebhookRegistration] = {}
    with services.db.session() as session:
        for reg in session.scalars(select(WebhookRegistration)):
            regs[(reg.system, reg.url)] = reg
            services.webhook_secrets[reg.system] = reg.secret
    stripe_reg = regs.get(("billing", f"{base}/webhooks/stripe"))
    if stripe_reg is not None and s.billing.register_webhook:
        try:  # a billing system that lost our endpoint (a fresh sandbox) gets it again
            known = {e["id"] for e in await services.adapters.billing.webhook_endpoints()
                     if e.get("status") == "enabled"}
            if stripe_reg.endpoint_id not in known:
                del regs[("billing", stripe_reg.url)]
        except AdapterError as err:
            log.warning("billing webhook check failed", error=str(err))
    if s.billing.register_webhook and ("billing", f"{base}/webhooks/stripe") not in regs:
        url = f"{base}/webhooks/stripe"
        try:
            created = await services.adapters.billing.register_webhook(url, STRIPE_EVENTS)
            _remember(services, "billing", url, created["id"], created["secret"])
        except AdapterError as err:
            log.warning("billing webhook registration failed", error=str(err))
    if s.payments.register_webhook and ("payments", f"{base}/webhooks/adyen") not in regs:
        url = f"{base}/webhooks/adyen"
        try:
            for merchant in s.payments.merchant_accounts:
                hook = await services.adapters.payments.register_webhook(merchant, url)
            _remember(services, "payments", url, hook["id"], hook["hmacKey"])
        except AdapterError as err:
            log.warning("payments webhook registration failed", error=str(err))
    if s.crm.subscribe_change_events:
        url = f"{base}/webhooks/salesforce"
        try:
            subs = await services.adapters.crm.change_event_subscriptions()
            if not any(sub.get("url") == url for sub in subs):
                await services.adapters.crm.subscribe_change_events(url)
        except (AdapterError, httpx.HTTPError) as err:
            log.warning("CRM change-event subscription failed", error=str(err))


def _remember(services: Services, system: str, url: str, endpoint_id: str,
              secret: str) -> None:
    with services.db.session() as session:
        session.merge(WebhookRegistration(system=system, url=url, endpoint_id=endpoint_id,
                                          secret=secret))
    services.webhook_secrets[system] = secret


async def sweep(services: Services) -> None:
    """One pass over unfinished work: held invoices, finalized-but-unposted ones, queued
    legacy postings, buffered payments whose invoice is posted."""
    doubt = utcnow() - timedelta(seconds=services.settings.legacy_erp.in_doubt_after_s)
    with services.db.session() as session:
        held = list(session.execute(select(InvoiceRow.billing_invoice_id,
                                           InvoiceRow.correlation_id).where(
            InvoiceRow.status.in_(OPEN_STATES), InvoiceRow.net_amount > 0)))
        unposted = list(session.execute(
            select(InvoiceRow.billing_invoice_id, InvoiceRow.correlation_id)
            .outerjoin(ErpPosting, ErpPosting.billing_invoice_id ==
                       InvoiceRow.billing_invoice_id)
            .where(InvoiceRow.status == "finalized",
                   (ErpPosting.status.is_(None)) | (ErpPosting.status == "attempting")
                   | ((ErpPosting.status == "in_doubt") & (ErpPosting.updated_at <= doubt)))))
        queued = list(session.execute(select(ErpPosting.billing_invoice_id,
                                             ErpPosting.correlation_id).where(
            ErpPosting.status == "queued")))
        buffered = list(session.execute(
            select(PaymentRow.merchant_reference, PaymentRow.correlation_id)
            .join(InvoiceRow, InvoiceRow.billing_invoice_id == PaymentRow.merchant_reference)
            # received: its application failed earlier (e.g. billing was down) — retry it
            .where(PaymentRow.status.in_(["buffered", "received"]),
                   InvoiceRow.status == "posted")))
        stalled = list(session.execute(
            select(CustomerRow.id, CustomerRow.correlation_id).distinct()
            .join(ExceptionRecord, ExceptionRecord.business_key == CustomerRow.id)
            .where(CustomerRow.status != OnboardingStatus.ONBOARDED.value,
                   ExceptionRecord.kind.in_(RESUMABLE), ExceptionRecord.resolved.is_(False))))
    services.metrics.held.set(len(held))
    services.metrics.buffered.set(len(buffered))
    for action, rows in ((advance_invoice, held), (post_invoice, unposted),
                         (check_queued_posting, queued), (apply_buffered, buffered),
                         (resume_onboarding, stalled)):
        for key, flow in rows:
            with correlation.bound(flow):
                try:
                    await action(services, key)
                except Exception as exc:
                    log.exception("sweep step failed", key=key, action=action.__name__)
                    services.record_failure(key, exc)
    await dlq.sweep(services)  # dead letters filed, compensations due, parked work retried


async def _every(seconds: float, name: str, job: Any) -> None:
    while True:
        await asyncio.sleep(seconds)
        with correlation.bound(correlation.start()):
            try:
                await job()
            except Exception:
                log.exception("periodic job failed", job=name)


def create_app(settings: Settings | None = None, *,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The integration layer's ASGI app (``app.state.services`` holds its services)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    services = Services(settings, transport)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.db.migrate()
        with services.db.session() as session:
            seed_wave_plan(session, settings.wave_plan)
        if settings.register_webhooks:
            await register_webhooks(services)
        started = utcnow()  # inbox messages pending from before: a killed process left them
        async def resume() -> None:
            await inbox_replay.resume_orphaned(services, started)

        services.spawn("inbox-resume", resume)
        loops = [asyncio.create_task(_every(settings.sweep_interval_s, "sweep",
                                            lambda: sweep(services))),
                 # what a killed process left in the outbox is published first
                 asyncio.create_task(services.relay.run(
                     settings.reliability.outbox_interval_s))]
        if settings.crm.poll_interval_s > 0:
            loops.append(asyncio.create_task(_every(settings.crm.poll_interval_s, "crm-poll",
                                                    lambda: poll_closed_won(services))))
        log.info("integration layer started", public_url=settings.public_url,
                 database=services.db.engine.dialect.name)
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await services.drain(timeout=5)
            await services.aclose()

    app = FastAPI(title="o2c reference integration layer", version="0.1.0",
                  description="Order-to-cash integration: CRM → billing → tax → ERP → "
                              "payments, with a canonical model, idempotent commands, "
                              "verified webhooks and a timeline per business key.",
                  lifespan=lifespan)
    app.state.services = services
    app.state.authority = Authority(settings.auth)  # OAuth2 tokens and their validation
    app.add_middleware(CorrelationMiddleware)
    # outermost: it sees the correlation id of the answer; audits before the answer is sent
    app.add_middleware(AuditMiddleware, db=services.db, audit_reads=settings.auth.audit_reads)
    problems.install(app)  # every error a problem+json the OpenAPI documents
    security.install(app)  # 401/403 problems with their RFC 6750 challenge, audited
    app.include_router(security.router)
    app.include_router(domain.router)
    app.include_router(webhooks.router)
    app.include_router(ops.router)
    app.include_router(dlq_api.router)
    return app
