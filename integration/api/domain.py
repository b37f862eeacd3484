"""The domain API: commands with idempotency keys, reads of the layer's records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from .. import records
from ..adapters.http import AdapterError, VendorError
from ..db.tables import CustomerRow, InvoiceRow, PaymentRow
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
from ..routing import RoutingError
from ..services import Services
from .schemas import PROBLEM, CustomerOut, InvoiceOut, PaymentOut, SubscriptionOut, UsageOut

router = APIRouter(tags=["domain"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status,
                         "detail": detail}, status_code=status,
                        media_type="application/problem+json")


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


@router.post("/customers", status_code=201, summary="Onboard a customer (once)",
             response_model=CustomerOut, responses={422: PROBLEM, 502: PROBLEM})
async def post_customer(body: CustomerRequest, request: Request,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    services = services_of(request)
    payload = body.model_dump(mode="json")
    replay = await _idempotent(services, "customers", idempotency_key, payload)
    if replay is not None:
        return replay
    try:
        customer_id = await onboard_customer(services, body)
    except OnboardingError as err:
        return _problem(502, "Onboarding incomplete", f"{err}; retry to resume")
    except RoutingError as err:
        return _problem(422, "No ERP for this legal entity", f"{err}; see GET /routing")
    with services.db.session() as session:
        view = customer_view(session.get_one(CustomerRow, customer_id),
                             records.references(session, "customer", customer_id))
        if idempotency_key:
            records.remember(session, "customers", idempotency_key, payload, 201, view)
    return JSONResponse(view, status_code=201)


@router.get("/customers/{customer_id}", summary="A customer and its ids in every system",
            response_model=CustomerOut, responses={404: {"description": "unknown customer"}})
async def get_customer(customer_id: str, request: Request) -> dict[str, Any]:
    with services_of(request).db.session() as session:
        row = session.get(CustomerRow, customer_id) or session.scalar(
            select(CustomerRow).where(CustomerRow.crm_account_id == customer_id))
        if row is None:
            raise HTTPException(404, f"no customer {customer_id}")
        return customer_view(row, records.references(session, "customer", row.id))


@router.post("/subscriptions", status_code=201, summary="Subscribe an onboarded customer",
             response_model=SubscriptionOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM, 502: PROBLEM})
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
    except AdapterError as err:
        status = 422 if isinstance(err, VendorError) and err.status < 500 else 502
        return _problem(status, "Billing refused the subscription", str(err))
    if idempotency_key:
        with services.db.session() as session:
            records.remember(session, "subscriptions", idempotency_key, payload, 201, view)
    return JSONResponse(view, status_code=201)


@router.post("/usage", status_code=202, summary="Report metered usage (once per key)",
             response_model=UsageOut,
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
        return _problem(502, "Billing unavailable", f"{err}; retry with the same key")
    return JSONResponse(view, status_code=202)


@router.get("/invoices/{invoice_id}", summary="An invoice (canonical or billing id)",
            response_model=InvoiceOut, responses={404: {"description": "unknown invoice"}})
async def get_invoice(invoice_id: str, request: Request) -> JSONResponse:
    with services_of(request).db.session() as session:
        row = session.get(InvoiceRow, invoice_id) or session.scalar(
            select(InvoiceRow).where(InvoiceRow.billing_invoice_id == invoice_id))
        if row is None:
            raise HTTPException(404, f"no invoice {invoice_id}")
        view = invoice_view(row, records.references(session, "invoice", row.id))
    return JSONResponse(_jsonable(view))


@router.get("/payments/{payment_id}", summary="A payment (canonical id or pspReference)",
            response_model=PaymentOut, responses={404: {"description": "unknown payment"}})
async def get_payment(payment_id: str, request: Request) -> JSONResponse:
    with services_of(request).db.session() as session:
        row = session.get(PaymentRow, payment_id) or session.scalar(
            select(PaymentRow).where(PaymentRow.psp_reference == payment_id))
        if row is None:
            raise HTTPException(404, f"no payment {payment_id}")
        return JSONResponse(_jsonable(payment_view(row)))


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in view.items()}
