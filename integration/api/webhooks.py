"""Webhook receivers. Each verifies the vendor's signature, stores the message once per
event id in the inbox (duplicates are acknowledged and dropped), answers at once, and hands
the work to a background job under the flow's correlation id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from .. import correlation, records
from ..adapters import adyen, salesforce
from ..adapters.stripe import SignatureError, parse_event, verify_signature
from ..db.tables import InboxMessage
from ..flows.crm import on_change_event
from ..flows.month_end import on_invoice_created, on_invoice_finalized
from ..flows.payments import on_notification
from ..observability import get_logger
from ..services import Services

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = get_logger("integration.webhooks")


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _accept(services: Services, source: str, event_id: str, event_type: str,
            payload: dict[str, Any], job: Callable[[], Awaitable[None]]) -> bool:
    """Inbox the message; run ``job`` in the background the first time only."""
    with services.db.session() as session:
        first = records.receive(session, source, event_id, event_type, payload)
    services.metrics.webhooks.labels(source, "accepted" if first else "duplicate").inc()
    if not first:
        log.info("duplicate webhook dropped", source=source, event_id=event_id)
        return False

    async def run() -> None:
        status, error = "processed", None
        try:
            await job()
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            with services.db.session() as session:
                message = session.get(InboxMessage, f"{source}:{event_id}")
                if message is not None:
                    message.status, message.error = status, error

    services.spawn(f"{source}:{event_id}", run)
    return True


@router.post("/stripe", summary="Billing events (Stripe-Signature verified)")
async def stripe_webhook(request: Request) -> Response:
    services = _services(request)
    body = await request.body()
    secret = services.webhook_secrets.get("billing") or services.settings.billing.webhook_secret
    try:
        if not secret:
            raise SignatureError("no webhook secret configured")
        verify_signature(body, request.headers.get("stripe-signature"), secret,
                         services.settings.billing.signature_tolerance_s)
        event = parse_event(body)
    except (SignatureError, ValueError) as err:
        services.metrics.webhooks.labels("billing", "rejected").inc()
        return JSONResponse({"error": str(err)}, status_code=400)
    obj = (event.get("data") or {}).get("object") or {}
    handlers: dict[str, Callable[[Services, dict[str, Any]], Awaitable[None]]] = {
        "invoice.created": on_invoice_created, "invoice.finalized": on_invoice_finalized}
    handler = handlers.get(event["type"])

    async def job() -> None:
        if handler is not None:
            await handler(services, obj)

    _accept(services, "billing", event["id"], event["type"], event, job)
    return JSONResponse({"received": True})


@router.post("/adyen", summary="Gateway standard notifications (HMAC verified)")
async def adyen_webhook(request: Request) -> Response:
    services = _services(request)
    try:
        items = adyen.notification_items(orjson.loads(await request.body()))
    except (orjson.JSONDecodeError, ValueError, AttributeError) as err:
        return PlainTextResponse(f"invalid notification: {err}", status_code=400)
    key = services.webhook_secrets.get("payments") or services.settings.payments.hmac_key
    if not all(adyen.valid_signature(item, key) for item in items):
        services.metrics.webhooks.labels("payments", "rejected").inc()
        return PlainTextResponse("invalid HMAC signature", status_code=401)
    for item in items:
        def job(item: dict[str, Any] = item) -> Awaitable[None]:
            return on_notification(services, item)

        _accept(services, "payments", adyen.event_id(item), str(item.get("eventCode")),
                item, job)
    return PlainTextResponse(adyen.ACCEPTED)


@router.post("/salesforce", summary="CRM change events (X-Sfdc-Signature verified)")
async def salesforce_webhook(request: Request) -> Response:
    services = _services(request)
    body = await request.body()
    if not salesforce.valid_change_event_signature(
            body, request.headers.get("x-sfdc-signature"),
            services.settings.crm.change_event_secret):
        services.metrics.webhooks.labels("crm", "rejected").inc()
        return JSONResponse({"error": "invalid X-Sfdc-Signature"}, status_code=401)
    try:
        event = orjson.loads(body)
        header = event["payload"]["ChangeEventHeader"]
        event_id = f"{header.get('transactionKey')}:{event['event']['replayId']}"
    except (orjson.JSONDecodeError, KeyError, TypeError) as err:
        return JSONResponse({"error": f"not a change event: {err}"}, status_code=400)

    async def job() -> None:
        await on_change_event(services, event)

    _accept(services, "crm", event_id, str(header.get("entityName")), event, job)
    return JSONResponse({"received": True, "correlation_id": correlation.current_id()})
