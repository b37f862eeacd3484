"""The domain API: commands with idempotency keys, reads of the layer's records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from .. import records, residency
from ..adapters.http import AdapterError, VendorError
from ..db.tables import CustomerRow, InvoiceRow, PaymentRow, utcnow
from ..flows.month_end import invoice_view
from ..flows.onboarding import CustomerRequest, OnboardingError, customer_view, onboard_customer
from ..flows.payments import payment_view
from ..flows.subscriptions import (
    KeyReused,
    NotFound,
    NotReady,
    SubscriptionRequest,
    UsageRequest,
    create_subscription,
    report_usage,
)
from ..routing import RoutingError, route
from ..services import Services
from .problems import problem
from .schemas import PROBLEM, CustomerOut, InvoiceOut, PaymentOut, SubscriptionOut, UsageOut
from .security import refuse_residency, scoped

router = APIRouter(tags=["domain"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return problem(status, title, detail)


def _refused(err: AdapterError) -> bool:
    """A vendor's answer blaming the request: a 4xx, or a SOAP 1.1 Client fault (on 500)."""
    if not isinstance(err, VendorError):
        return False
    body = err.body if isinstance(err.body, dict) else {}
    return err.status < 500 or str(body.get("faultcode", "")).endswith("Client")


async def _idempotent(services: Services, scope: str, key: str | None, payload: Any) -> \
        JSONResponse | None:
    if key is None:
        return None
    try:
        with services.db.session() as session:
            saved = records.idempotent_result(session, scope, key, payload)
    except records.IdempotencyConflict:
        return _problem(422, "Idempotency key reused",
                        "this Idempotency-Key was used with a different request")
    if saved is None:
        return None
    return JSONResponse(saved.response, status_code=saved.status_code,
                        headers={"Idempotent-Replayed": "true"})


def _links(**links: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI links of a response (schemathesis' stateful phase follows them)."""
    return {"links": {name: link for name, link in links.items()}}


_CREATED_CUSTOMER = _links(
    get_customer={"operationId": "get_customer",
                  "parameters": {"path.customer_id": "$response.body#/id"}},
    get_customer_by_crm_id={"operationId": "get_customer",
                            "parameters": {"path.customer_id": "$response.body#/crm_account_id"}},
    create_subscription={"operationId": "post_subscription",
                         "requestBody": {"customer_id": "$response.body#/id"}},
    report_usage={"operationId": "post_usage",
                  "requestBody": {"customer_id": "$response.body#/id"}},
)
_CREATED_SUBSCRIPTION = _links(
    get_customer={"operationId": "get_customer",
                  "parameters": {"path.customer_id": "$response.body#/customer_id"}},
    report_usage={"operationId": "post_usage",
                  "requestBody": {"customer_id": "$response.body#/customer_id"}},
)


@router.post("/customers", status_code=201, summary="Onboard a customer (once)",
             dependencies=scoped("customers:write"), response_model=CustomerOut,
             operation_id="post_customer",
             responses={201: _CREATED_CUSTOMER, 409: PROBLEM, 422: PROBLEM, 502: PROBLEM})
async def post_customer(body: CustomerRequest, request: Request,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    services = services_of(request)
    request.state.audit_target = f"customer {body.crm_account_id}"
    payload = body.model_dump(mode="json")
    replay = await _idempotent(services, "customers", idempotency_key, payload)
    if replay is not None:
        return replay
    refused = _residency_refusal(request, body)
    if refused is not None:
        return refused
    try:
        customer_id = await onboard_customer(services, body)
    except OnboardingError as err:
        if _refused(err.cause):
            # the vendor refused what it was given (its master data or the wave plan's
            # company code): nothing to retry until that changes
            return _problem(409, f"Refused by {err.cause.system}", str(err))
        return _problem(502, "Onboarding incomplete", f"{err}; retry to resume")
    except RoutingError as err:  # well-formed, but the current wave plan has no route
        return _problem(409, "No ERP for this legal entity", f"{err}; see GET /routing")
    with services.db.session() as session:
        view = customer_view(session.get_one(CustomerRow, customer_id),
                             records.references(session, "customer", customer_id))
        if idempotency_key:
            records.remember(session, "customers", idempotency_key, payload, 201, view)
    return JSONResponse(view, status_code=201)


@router.get("/customers/{customer_id}", summary="A customer and its ids in every system",
            dependencies=scoped("customers:read"), response_model=CustomerOut,
            operation_id="get_customer",
            responses={404: {"description": "unknown customer"}})
async def get_customer(customer_id: str, request: Request) -> dict[str, Any]:
    with services_of(request).db.session() as session:
        row = session.get(CustomerRow, customer_id) or session.scalar(
            select(CustomerRow).where(CustomerRow.crm_account_id == customer_id))
        if row is None:
            raise HTTPException(404, f"no customer {customer_id}")
        return customer_view(row, records.references(session, "customer", row.id))


@router.post("/subscriptions", status_code=201, summary="Subscribe an onboarded customer",
             dependencies=scoped("subscriptions:write"), response_model=SubscriptionOut,
             operation_id="post_subscription",
             responses={201: _CREATED_SUBSCRIPTION, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM,
                        502: PROBLEM})
async def post_subscription(body: SubscriptionRequest, request: Request,
                            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    services = services_of(request)
    payload = body.model_dump(mode="json")
    replay = await _idempotent(services, "subscriptions", idempotency_key, payload)
    if replay is not None:
        return replay
    try:
        view = await create_subscription(services, body, idempotency_key or
                                         records.request_hash(payload))
    except NotFound as err:
        return _problem(404, "Unknown customer", str(err))
    except NotReady as err:
        return _problem(409, "Customer not onboarded", str(err))
    except AdapterError as err:  # refused: an unknown price in billing's current catalog
        if _refused(err):
            return _problem(409, "Billing refused the subscription", str(err))
        return _problem(502, "Billing unavailable", f"{err}; retry with the same key")
    if idempotency_key:
        with services.db.session() as session:
            records.remember(session, "subscriptions", idempotency_key, payload, 201, view)
    return JSONResponse(view, status_code=201)


@router.post("/usage", status_code=202, summary="Report metered usage (once per key)",
             dependencies=scoped("usage:write"), response_model=UsageOut,
             operation_id="post_usage",
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM, 502: PROBLEM})
async def post_usage(body: UsageRequest, request: Request) -> JSONResponse:
    try:
        view = await report_usage(services_of(request), body)
    except NotFound as err:
        return _problem(404, "Unknown customer", str(err))
    except NotReady as err:
        return _problem(409, "Customer not onboarded", str(err))
    except KeyReused as err:
        return _problem(422, "Idempotency key reused", str(err))
    except AdapterError as err:
        if _refused(err):  # e.g. no meter with that event name in billing
            return _problem(409, "Billing refused the usage", str(err))
        return _problem(502, "Billing unavailable", f"{err}; retry with the same key")
    return JSONResponse(view, status_code=202)


@router.get("/invoices/{invoice_id}", summary="An invoice (canonical or billing id)",
            dependencies=scoped("invoices:read"), response_model=InvoiceOut,
            responses={404: {"description": "unknown invoice"}})
async def get_invoice(invoice_id: str, request: Request) -> JSONResponse:
    with services_of(request).db.session() as session:
        row = session.get(InvoiceRow, invoice_id) or session.scalar(
            select(InvoiceRow).where(InvoiceRow.billing_invoice_id == invoice_id))
        if row is None:
            raise HTTPException(404, f"no invoice {invoice_id}")
        view = invoice_view(row, records.references(session, "invoice", row.id))
    return JSONResponse(_jsonable(view))


@router.get("/payments/{payment_id}", summary="A payment (canonical id or pspReference)",
            dependencies=scoped("payments:read"), response_model=PaymentOut,
            responses={404: {"description": "unknown payment"}})
async def get_payment(payment_id: str, request: Request) -> JSONResponse:
    with services_of(request).db.session() as session:
        row = session.get(PaymentRow, payment_id) or session.scalar(
            select(PaymentRow).where(PaymentRow.psp_reference == payment_id))
        if row is None:
            raise HTTPException(404, f"no payment {payment_id}")
        return JSONResponse(_jsonable(payment_view(row)))


def _residency_refusal(request: Request, body: CustomerRequest) -> JSONResponse | None:
    """409 (and an audit row) when this customer's data may not go where onboarding sends
    it: tax, billing and the ERP its legal entity is routed to now. Nothing is sent."""
    services = services_of(request)
    with services.db.session() as session:
        try:
            erp: str | None = route(session, body.legal_entity, utcnow()).erp
        except RoutingError:
            erp = None  # unroutable: onboarding refuses it (409) before sending anything
    try:
        residency.check_customer(services.settings, body.crm_account_id, body.country,
                                 body.legal_entity, erp)
    except residency.ResidencyViolation as err:
        return refuse_residency(request, err)
    return None


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in view.items()}
