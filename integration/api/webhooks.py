"""Webhook receivers. Each verifies the vendor's signature, stores the message once per
event id in the inbox (duplicates are acknowledged and dropped), answers at once, and hands
the work to a background job under the flow's correlation id.

Replay protection per vendor scheme (a refused message is answered 401 and leaves nothing
behind: no inbox row, no job):

- Stripe: ``Stripe-Signature: t=..,v1=..`` over ``"<t>." + body``; any ``v1`` may match
  (secret rotation); ``t`` further than ``billing.signature_tolerance_s`` from now, in the past
  *or the future*, is refused (Stripe's own library only refuses the past); event ids dedupe.
- Salesforce change events (this project's scheme): ``X-Sfdc-Signature`` over
  ``"<X-Sfdc-Timestamp>." + body``, same window (``crm.signature_tolerance_s``); the
  transaction key + replay id dedupe.
- Adyen: each item's ``additionalData.hmacSignature`` (Adyen's signing string); one bad item
  refuses the whole batch. No timestamp window: Adyen signs no delivery time and its
  ``eventDate`` is *not* in the signing string (a window on it could be sidestepped by editing
  it, and would refuse Adyen's legitimate retries, which go on for days). A replayed item is
  caught by the inbox instead: ``eventCode:pspReference:success`` is acknowledged once and a
  repeat is answered ``[accepted]`` and dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from harness.canonical.secrets import reveal

from .. import correlation, records
from ..adapters import adyen, salesforce
from ..adapters.stripe import SignatureError, parse_event, verify_signature
from ..flows.crm import on_change_event
from ..flows.month_end import on_invoice_created, on_invoice_finalized
from ..flows.payments import on_notification
from ..observability import get_logger
from ..services import Services
from .problems import problem

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = get_logger("integration.webhooks")


def _contract(header: str, header_doc: str, body: dict[str, Any],
              accepted: dict[str, Any]) -> dict[str, Any]:
    """What a receiver documents: the signature header and the body it verifies and parses
    (read raw, so FastAPI cannot infer them), its answer, and 400/401 as problems."""
    return {"openapi_extra": {
        "parameters": [{"name": header, "in": "header", "required": True,
                        "description": header_doc, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}}},
        "responses": {200: accepted,
                      400: {"description": "Not a message of this vendor"},
                      401: {"description": "The signature does not verify"}}}


_RECEIVED = {"description": "Stored in the inbox (or a duplicate, dropped)",
             "content": {"application/json": {"schema": {
                 "type": "object", "required": ["received"],
                 "properties": {"received": {"type": "boolean"},
                                "correlation_id": {"type": "string"}}}}}}
_STRIPE_EVENT = {"type": "object", "required": ["id", "object", "type", "data"],
                 "properties": {"id": {"type": "string", "minLength": 1},
                                "object": {"type": "string", "enum": ["event"]},
                                "type": {"type": "string"},
                                "data": {"type": "object", "properties": {
                                    "object": {"type": "object"}}}}}
_ADYEN_NOTIFICATION = {
    "type": "object", "required": ["notificationItems"],
    "properties": {"live": {"type": "string", "enum": ["true", "false"]},
                   "notificationItems": {"type": "array", "minItems": 1, "items": {
                       "type": "object", "required": ["NotificationRequestItem"],
                       "properties": {"NotificationRequestItem": {"type": "object"}}}}}}
_CHANGE_EVENT = {"type": "object", "required": ["event", "payload"],
                 "properties": {"event": {"type": "object", "required": ["replayId"],
                                          "properties": {"replayId": {"type": "integer"}}},
                                "payload": {"type": "object",
                                            "required": ["ChangeEventHeader"],
                                            "properties": {"ChangeEventHeader": {
                                                "type": "object"}}}}}


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
                records.inbox_outcome(session, f"{source}:{event_id}", status, error)

    services.spawn(f"{source}:{event_id}", run)
    return True


@router.post("/stripe", summary="Billing events (Stripe-Signature verified)",
             **_contract("Stripe-Signature", "t=<unix time>,v1=<HMAC-SHA256 hex>",
                         _STRIPE_EVENT, _RECEIVED))
async def stripe_webhook(request: Request) -> Response:
    services = _services(request)
    body = await request.body()
    secret = (services.webhook_secrets.get("billing")
              or reveal(services.settings.billing.webhook_secret))
    try:
        if not secret:
            raise SignatureError("no webhook secret configured")
        header = request.headers.get("stripe-signature")
        if header is not None and not header.isascii():  # compare_digest takes ASCII only
            raise SignatureError("Stripe-Signature is not ASCII")
        verify_signature(body, header, secret,
                         services.settings.billing.signature_tolerance_s)
    except SignatureError as err:
        services.metrics.webhooks.labels("billing", "rejected").inc()
        return problem(401, "Invalid signature", str(err))
    try:
        event = parse_event(body)
    except ValueError as err:
        return problem(400, "Not a Stripe event", str(err))
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    handlers: dict[str, Callable[[Services, dict[str, Any]], Awaitable[None]]] = {
        "invoice.created": on_invoice_created, "invoice.finalized": on_invoice_finalized}
    handler = handlers.get(str(event.get("type")))

    async def job() -> None:
        if handler is not None:
            await handler(services, obj)

    _accept(services, "billing", str(event["id"]), str(event.get("type")), event, job)
    return JSONResponse({"received": True})


@router.post("/adyen", summary="Gateway standard notifications (HMAC verified)",
             response_class=PlainTextResponse, responses={
                 200: {"description": "Accepted (Adyen's answer text)",
                       "content": {"text/plain": {"schema": {"type": "string",
                                                             "enum": [adyen.ACCEPTED]}}}},
                 400: {"description": "Not an Adyen notification"},
                 401: {"description": "An item's HMAC signature does not verify"}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": _ADYEN_NOTIFICATION}}}})
async def adyen_webhook(request: Request) -> Response:
    services = _services(request)
    try:
        body = orjson.loads(await request.body())
        items = adyen.notification_items(body if isinstance(body, dict) else {})
    except (orjson.JSONDecodeError, ValueError) as err:
        return problem(400, "Not an Adyen notification", str(err))
    key = (services.webhook_secrets.get("payments")
           or services.settings.payments.hmac_key.get_secret_value())
    if not items or not all(adyen.valid_signature(item, key) for item in items):
        services.metrics.webhooks.labels("payments", "rejected").inc()
        return problem(401, "Invalid signature", "an item's HMAC signature does not verify")
    for item in items:
        def job(item: dict[str, Any] = item) -> Awaitable[None]:
            return on_notification(services, item)

        _accept(services, "payments", adyen.event_id(item), str(item.get("eventCode")),
                item, job)
    return PlainTextResponse(adyen.ACCEPTED)


@router.post("/salesforce", summary="CRM change events (X-Sfdc-Signature verified)",
             **_contract("X-Sfdc-Signature",
                         'base64 HMAC-SHA256 of "<X-Sfdc-Timestamp>." + body; the timestamp '
                         "(unix seconds, also required) must be within the replay window",
                         _CHANGE_EVENT, _RECEIVED))
async def salesforce_webhook(request: Request) -> Response:
    services = _services(request)
    body = await request.body()
    crm = services.settings.crm
    try:
        salesforce.verify_change_event(
            body, request.headers.get("x-sfdc-signature"),
            request.headers.get("x-sfdc-timestamp"), crm.change_event_secret.get_secret_value(),
            crm.signature_tolerance_s)
    except salesforce.ChangeEventSignatureError as err:
        services.metrics.webhooks.labels("crm", "rejected").inc()
        return problem(401, "Invalid signature", str(err))
    try:
        event = orjson.loads(body)
        header = event["payload"]["ChangeEventHeader"]
        event_id = f"{header.get('transactionKey')}:{event['event']['replayId']}"
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        return problem(400, "Not a change event", f"{type(err).__name__}: {err}")

    async def job() -> None:
        await on_change_event(services, event)

    _accept(services, "crm", event_id, str(header.get("entityName")), event, job)
    return JSONResponse({"received": True, "correlation_id": correlation.current_id()})
