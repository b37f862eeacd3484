"""The canonical order-to-cash records. Every record carries the correlation id of the flow
that created it; ids are the integration layer's (cross-referenced to every system's id).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, computed_field, model_validator

from ._base import (
    Canonical,
    CorrelationId,
    CountryCode,
    CurrencyCode,
    Erp,
    MinorUnits,
    NonEmpty,
    System,
)
from .identity import IdentityKey
from .states import InvoiceStatus, OnboardingStatus, PaymentStatus, SubscriptionStatus

CanonicalId = Annotated[str, StringConstraints(pattern=r"^[a-z]{3,4}_[0-9a-f]{32}$")]
LegalEntity = Annotated[str, StringConstraints(min_length=2, max_length=40)]


class Address(Canonical):
    line1: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: CountryCode


class TaxProfile(Canonical):
    """Tax identity of a customer; ``validated`` once the tax engine resolved the address."""

    country: CountryCode
    tax_id: str | None = None
    exempt: bool = False
    address: Address
    validated: bool = False
    resolution_quality: str | None = Field(
        default=None, description="the tax engine's resolution quality, when validated")


class Customer(Canonical):
    id: CanonicalId
    crm_account_id: NonEmpty
    name: NonEmpty
    legal_entity: LegalEntity
    country: CountryCode
    currency: CurrencyCode
    email: str | None = None
    tax_profile: TaxProfile
    status: OnboardingStatus = OnboardingStatus.RECEIVED
    correlation_id: CorrelationId
    created_at: AwareDatetime
    references: dict[System, str] = Field(
        default_factory=dict, description="this customer's id in every system that has it")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def identity(self) -> IdentityKey:
        return IdentityKey.of(name=self.name, country=self.country,
                              tax_id=self.tax_profile.tax_id,
                              crm_account_id=self.crm_account_id)


class BillingAccount(Canonical):
    """How a customer is billed: the billing system's customer and its terms."""

    customer_id: CanonicalId
    billing_customer_id: NonEmpty
    currency: CurrencyCode
    collection_method: Annotated[str, StringConstraints(
        pattern=r"^(send_invoice|charge_automatically)$")] = "send_invoice"
    days_until_due: Annotated[int, Field(ge=0, le=365)] = 30
    erp: Erp
    company_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{4}$")]
    erp_customer_id: str | None = None


class Subscription(Canonical):
    id: CanonicalId
    customer_id: CanonicalId
    price_id: NonEmpty
    quantity: Annotated[int, Field(ge=0)] = 1
    metered: bool = False
    status: SubscriptionStatus = SubscriptionStatus.PENDING
    billing_subscription_id: str | None = None
    correlation_id: CorrelationId
    created_at: AwareDatetime


class UsageRecord(Canonical):
    id: CanonicalId
    customer_id: CanonicalId
    meter_event_name: NonEmpty
    quantity: Annotated[int, Field(ge=0)]
    occurred_at: AwareDatetime
    idempotency_key: NonEmpty
    correlation_id: CorrelationId


class Invoice(Canonical):
    id: CanonicalId
    billing_invoice_id: NonEmpty
    number: str | None = None
    customer_id: CanonicalId
    legal_entity: LegalEntity
    erp: Erp | None = None
    company_code: str | None = None
    currency: CurrencyCode
    net_amount: MinorUnits
    tax_amount: MinorUnits = 0
    status: InvoiceStatus = InvoiceStatus.DRAFT
    tax_transaction_code: str | None = None
    erp_document: str | None = None
    hold_reasons: list[str] = Field(default_factory=list)
    finalized_at: AwareDatetime | None = None
    posted_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None
    correlation_id: CorrelationId

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gross_amount(self) -> int:
        return self.net_amount + self.tax_amount

    @model_validator(mode="after")
    def _posted_needs_document(self) -> Invoice:
        if self.status in (InvoiceStatus.POSTED, InvoiceStatus.PAID) and not self.erp_document:
            raise ValueError("a posted invoice carries its ERP document number")
        return self


class Payment(Canonical):
    id: CanonicalId
    psp_reference: NonEmpty
    merchant_reference: NonEmpty = Field(description="the billing invoice id it pays")
    invoice_id: CanonicalId | None = None
    amount: MinorUnits
    currency: CurrencyCode
    status: PaymentStatus = PaymentStatus.RECEIVED
    gateway_event_at: AwareDatetime
    applied_at: AwareDatetime | None = None
    erp_clearing_document: str | None = None
    correlation_id: CorrelationId


ALL_MODELS: tuple[type[Canonical], ...] = (Customer, BillingAccount, Subscription, Invoice,
                                           Payment, TaxProfile, UsageRecord, Address)
