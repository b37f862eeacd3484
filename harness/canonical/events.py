"""Business events the integration layer emits (and the harness consumes): one envelope,
typed payloads. Published through the layer's event bus; consumers deduplicate by ``id``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from ._base import Canonical, CorrelationId, CurrencyCode, Erp, MinorUnits, NonEmpty


class CustomerOnboarded(Canonical):
    type: Literal["customer.onboarded"] = "customer.onboarded"
    customer_id: NonEmpty
    crm_account_id: NonEmpty
    billing_customer_id: NonEmpty
    erp: Erp
    company_code: NonEmpty
    erp_customer_id: NonEmpty


class InvoicePosted(Canonical):
    type: Literal["invoice.posted"] = "invoice.posted"
    invoice_id: NonEmpty
    billing_invoice_id: NonEmpty
    erp: Erp
    company_code: NonEmpty
    erp_document: NonEmpty
    currency: CurrencyCode
    net_amount: MinorUnits
    tax_amount: MinorUnits
    gross_amount: MinorUnits


class PaymentApplied(Canonical):
    type: Literal["payment.applied"] = "payment.applied"
    payment_id: NonEmpty
    billing_invoice_id: NonEmpty
    psp_reference: NonEmpty
    erp: Erp
    erp_clearing_document: NonEmpty
    currency: CurrencyCode
    amount: MinorUnits


EventPayload = Annotated[CustomerOnboarded | InvoicePosted | PaymentApplied,
                         Field(discriminator="type")]


class Event(Canonical):
    """The envelope of every business event."""

    id: NonEmpty
    type: Literal["customer.onboarded", "invoice.posted", "payment.applied"]
    business_key: NonEmpty
    correlation_id: CorrelationId
    occurred_at: AwareDatetime
    data: EventPayload


EVENT_MODELS: tuple[type[Canonical], ...] = (Event, CustomerOnboarded, InvoicePosted,
                                             PaymentApplied)
