"""Crash safety of the webhook inbox: a receiver answers the vendor once the message is in
the inbox and runs the work in the background, so a process killed in between leaves an
inbox message ``pending`` that no vendor will redeliver. At start-up, every message still
pending from before this process started is run again (the flows are idempotent: an invoice
is tracked once, a posting is guarded by the ledger, a payment applied once)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from . import correlation
from .db.tables import InboxMessage
from .flows.crm import on_change_event
from .flows.month_end import on_invoice_created, on_invoice_finalized
from .flows.payments import on_notification
from .observability import get_logger
from .services import Services

log = get_logger("integration.inbox")
Handler = Callable[[Services, dict[str, Any]], Awaitable[None]]
STRIPE: dict[str, Handler] = {"invoice.created": on_invoice_created,
                              "invoice.finalized": on_invoice_finalized}


def _job(services: Services, message: InboxMessage) -> Callable[[], Awaitable[None]] | None:
    payload = message.payload
    if message.source == "billing":
        handler = STRIPE.get(message.event_type)
        obj = (payload.get("data") or {}).get("object") or {}
        return (lambda: handler(services, obj)) if handler else None
    if message.source == "payments":
        return lambda: on_notification(services, payload)
    if message.source == "crm":
        return lambda: on_change_event(services, payload)
    return None


async def resume_orphaned(services: Services, started_at: datetime) -> int:
    """Run again the inbox messages left pending by a previous process; returns how many."""
    with services.db.session() as session:
        orphans = list(session.scalars(select(InboxMessage).where(
            InboxMessage.status == "pending", InboxMessage.received_at < started_at)
            .order_by(InboxMessage.received_at)))
    resumed = 0
    for message in orphans:
        job = _job(services, message)
        status, error = "processed", None
        with correlation.bound(message.correlation_id):
            try:
                if job is not None:
                    await job()
            except Exception as exc:
                status, error = "failed", f"{type(exc).__name__}: {exc}"
                log.exception("resumed webhook failed", message=message.id)
        with services.db.session() as session:
            row = session.get(InboxMessage, message.id)
            if row is not None:
                row.status, row.error = status, error
        resumed += 1
        log.info("webhook resumed after restart", message=message.id, status=status)
    return resumed


__all__ = ["resume_orphaned"]
