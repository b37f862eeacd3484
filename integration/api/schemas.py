"""Response bodies of the domain API, as the OpenAPI contract documents them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class CustomerOut(BaseModel):
    id: str
    crm_account_id: str
    name: str
    legal_entity: str
    country: str
    currency: str
    email: str | None
    tax_id: str | None
    address: dict[str, Any]
    tax_validated: bool
    erp: str | None
    company_code: str | None
    status: str
    correlation_id: str
    references: dict[str, str]
    created_at: datetime


class SubscriptionOut(BaseModel):
    id: str
    customer_id: str
    price_id: str
    quantity: int
    metered: bool
    status: str
    billing_subscription_id: str | None
    correlation_id: str
    created_at: datetime


class UsageOut(BaseModel):
    id: str
    customer_id: str
    meter_event_name: str
    quantity: int
    occurred_at: datetime
    idempotency_key: str
    reported: bool
    correlation_id: str


class InvoiceOut(BaseModel):
    id: str
    billing_invoice_id: str
    number: str | None
    customer_id: str
    legal_entity: str
    erp: str | None
    company_code: str | None
    currency: str
    net_amount: int
    tax_amount: int
    gross_amount: int
    status: str
    hold_reasons: list[str]
    tax_transaction_code: str | None
    tax_committed: bool
    erp_document: str | None
    billing_finalized_at: datetime | None
    posted_at: datetime | None
    paid_at: datetime | None
    correlation_id: str
    references: dict[str, str]


class PaymentOut(BaseModel):
    id: str
    psp_reference: str
    merchant_reference: str
    invoice_id: str | None
    amount: int
    currency: str
    status: str
    event_code: str
    gateway_event_at: datetime
    billing_paid: bool
    erp_clearing_document: str | None
    applied_at: datetime | None
    correlation_id: str


PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
