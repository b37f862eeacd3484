"""Flow 1, onboarding: a customer is created once (CRM account id as the anchor), its address
resolved by the tax engine, created in billing and in the ERP of its legal entity (business
partner with the company-code extension), then ``customer.onboarded`` is emitted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from harness.canonical import (
    ONBOARDING_TRANSITIONS,
    CustomerOnboarded,
    Erp,
    IdentityKey,
    OnboardingStatus,
    System,
    merge,
    transition,
)

from .. import correlation, records
from ..adapters.http import AdapterError, VendorError
from ..adapters.legacy_erp import customer_number_for
from ..codes import XML_TEXT, CountryCode, CurrencyCode
from ..db.tables import CustomerRow, ExceptionRecord, utcnow
from ..observability import get_logger
from ..retry_policy import failure_kind
from ..routing import Route, RoutingError, route
from ..services import Services

log = get_logger("integration.onboarding")


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str | None = Field(default=None, pattern=XML_TEXT, max_length=255)
    city: str | None = Field(default=None, pattern=XML_TEXT, max_length=100)
    postal_code: str | None = Field(default=None, pattern=XML_TEXT, max_length=20)
    region: str | None = Field(default=None, pattern=XML_TEXT, max_length=50)
    country: CountryCode | None = None


class CustomerRequest(BaseModel):
    """``POST /customers``: the account as the CRM knows it."""

    model_config = ConfigDict(extra="forbid")
    crm_account_id: str = Field(min_length=1, pattern=XML_TEXT, max_length=64)
    name: str = Field(min_length=1, pattern=XML_TEXT, max_length=255)
    legal_entity: str = Field(min_length=2, pattern=XML_TEXT, max_length=40)
    country: CountryCode
    currency: CurrencyCode
    email: str | None = Field(default=None, pattern=XML_TEXT, max_length=320)
    tax_id: str | None = Field(default=None, pattern=XML_TEXT, max_length=40)
    address: AddressIn = Field(default_factory=AddressIn)


class OnboardingError(Exception):
    def __init__(self, customer_id: str, step: str, cause: AdapterError) -> None:
        super().__init__(f"onboarding of {customer_id} stopped at {step}: {cause.message}")
        self.customer_id = customer_id
        self.step = step
        self.cause = cause


def customer_view(row: CustomerRow, refs: dict[str, str]) -> dict[str, Any]:
    return {"id": row.id, "crm_account_id": row.crm_account_id, "name": row.name,
            "legal_entity": row.legal_entity, "country": row.country, "currency": row.currency,
            "email": row.email, "tax_id": row.tax_id, "address": row.address,
            "tax_validated": row.tax_validated, "erp": row.erp,
            "company_code": row.company_code, "status": row.status,
            "correlation_id": row.correlation_id, "references": refs,
            "created_at": row.created_at.isoformat()}


def _move(row: CustomerRow, target: OnboardingStatus) -> None:
    row.status = transition(ONBOARDING_TRANSITIONS, OnboardingStatus(row.status), target,
                            "customer").value


async def onboard_customer(services: Services, request: CustomerRequest) -> str:
    """Onboard (or finish onboarding) the customer; returns its canonical id."""
    async with services.lock(f"customer:{request.crm_account_id}"):
        async with services.unit() as session:
            row = session.scalar(select(CustomerRow).where(
                CustomerRow.crm_account_id == request.crm_account_id))
            if row is None:
                route(session, request.legal_entity, utcnow())  # unroutable: refuse up front
                key = IdentityKey.of(name=request.name, country=request.country,
                                     tax_id=request.tax_id,
                                     crm_account_id=request.crm_account_id)
                address = {**request.address.model_dump(), "country":
                           request.address.country or request.country}
                row = CustomerRow(
                    id=records.new_id("cus"), crm_account_id=request.crm_account_id,
                    match_key=key.match_key, name=request.name,
                    legal_entity=request.legal_entity, country=request.country,
                    currency=request.currency, email=request.email, tax_id=request.tax_id,
                    address=address, status=OnboardingStatus.RECEIVED.value,
                    sources={f: System.CRM.value for f in
                             ("name", "address", "email", "tax_id", "currency")},
                    correlation_id=correlation.current_id())
                session.add(row)
                records.link(session, "customer", row.id, "crm", request.crm_account_id)
                records.step(session, row.id, "customer.received", "crm",
                             crm_account_id=request.crm_account_id)
            customer_id = row.id
            done = row.status == OnboardingStatus.ONBOARDED.value
        if done:
            return customer_id
        with correlation.bound(row.correlation_id):
            async with services.lock(f"onboarding:{customer_id}"):
                await _complete(services, customer_id)
        return customer_id


async def _complete(services: Services, customer_id: str) -> None:
    """The onboarding steps; each is idempotent, so a resumed customer redoes none."""
    await _resolve_tax_address(services, customer_id)
    await _create_in_billing(services, customer_id)
    await ensure_erp_customer(services, customer_id, utcnow())
    await _finish(services, customer_id)


# exceptions of an onboarding step that failed for a reason that may pass (a vendor down)
RESUMABLE = ("tax_address_check_failed", "billing_customer_failed")


async def resume_onboarding(services: Services, customer_id: str) -> None:
    """Finish a customer whose onboarding stopped on a transient failure (e.g. the tax engine
    was down); the sweeper calls it, so an outage delays onboarding instead of ending it."""
    async with services.lock(f"onboarding:{customer_id}"):
        await _complete(services, customer_id)
        async with services.unit() as session:
            for kind in RESUMABLE:
                records.resolve_exceptions(session, customer_id, kind)


async def _resolve_tax_address(services: Services, customer_id: str) -> None:
    async with services.unit() as session:
        row = session.get_one(CustomerRow, customer_id)
        if row.tax_validated:
            return
        address = dict(row.address)
    try:
        resolved = await services.adapters.tax.resolve_address(address)
    except AdapterError as err:
        async with services.unit() as session:
            records.exception(session, customer_id, failure_kind(
                err, "tax_address_check_failed", "tax_address_rejected"), "tax", str(err))
        raise OnboardingError(customer_id, "tax address resolution", err) from err
    validated = (resolved.get("validatedAddresses") or [None])[0]
    quality = resolved.get("resolutionQuality")
    async with services.unit() as session:
        row = session.get_one(CustomerRow, customer_id)
        row.tax_resolution = quality
        if validated and quality != "NotCoded":
            incoming = {"address": {
                "line1": validated.get("line1") or address.get("line1"),
                "city": validated.get("city") or address.get("city"),
                "postal_code": validated.get("postalCode") or address.get("postal_code"),
                "region": validated.get("region") or address.get("region"),
                "country": validated.get("country") or address.get("country")}}
            values, sources = merge({"address": row.address},
                                    {k: System(v) for k, v in row.sources.items()},
                                    incoming, System.TAX)
            row.address = values["address"]
            row.sources = {**row.sources, **{k: v.value for k, v in sources.items()}}
            row.tax_validated = True
            records.step(session, customer_id, "tax.address_resolved", "tax", quality=quality)
        else:
            messages = [m.get("summary") for m in resolved.get("messages", [])]
            records.step(session, customer_id, "tax.address_not_resolved", "tax",
                         quality=quality, messages=messages)
            records.exception(session, customer_id, "tax_address_unresolved", "tax",
                              f"address not resolved ({quality}): {messages}")
            row.tax_validated = True  # resolved once, with the CRM address kept


async def _create_in_billing(services: Services, customer_id: str) -> None:
    async with services.unit() as session:
        row = session.get_one(CustomerRow, customer_id)
        if records.external_id(session, "customer", customer_id, "billing"):
            return
        name, email, address = row.name, row.email, dict(row.address)
        metadata = {"canonical_id": customer_id, "crm_account_id": row.crm_account_id,
                    "legal_entity": row.legal_entity, "correlation_id": row.correlation_id}
    try:
        created = await services.adapters.billing.create_customer(
            key=customer_id, name=name, email=email, metadata=metadata,
            address={"line1": address.get("line1"), "city": address.get("city"),
                     "postal_code": address.get("postal_code"),
                     "state": address.get("region"), "country": address.get("country")})
    except AdapterError as err:
        async with services.unit() as session:
            records.exception(session, customer_id, failure_kind(
                err, "billing_customer_failed", "billing_customer_rejected"), "billing",
                str(err))
        raise OnboardingError(customer_id, "billing customer", err) from err
    async with services.unit() as session:
        records.link(session, "customer", customer_id, "billing", created["id"])
        _move(session.get_one(CustomerRow, customer_id), OnboardingStatus.BILLING_CREATED)
        records.step(session, customer_id, "billing.customer_created", "billing",
                     billing_customer_id=created["id"])


async def ensure_erp_customer(services: Services, customer_id: str, at: datetime) -> \
        tuple[Route, str]:
    """The customer in the ERP and company code the wave plan names at ``at`` (created or
    extended when missing). Returns the route and the ERP's customer number."""
    # onboarding, the month-end hold and a posting may all ask at once: one at a time
    async with services.lock(f"erp-customer:{customer_id}"):
        return await _ensure_erp_customer(services, customer_id, at)


def known_erp_customer(session: Session, customer_id: str, at: datetime) -> \
        tuple[Route, str] | None:
    """The route at ``at`` and the customer's number in that ERP and company code, when the
    customer is there already (a read: nothing is created); None otherwise, or without a
    route (``ensure_erp_customer`` then says why)."""
    try:
        target, known = _routed_number(session, session.get_one(CustomerRow, customer_id), at)
    except RoutingError:
        return None
    return (target, known) if known else None


def _routed_number(session: Session, row: CustomerRow, at: datetime) -> tuple[Route, str | None]:
    """The route of the customer's legal entity at ``at`` (RoutingError without one) and its
    number in that ERP and company code, if it has one."""
    target = route(session, row.legal_entity, at)
    return target, records.external_id(session, "customer", row.id, target.erp,
                                       target.company_code)


async def _ensure_erp_customer(services: Services, customer_id: str, at: datetime) -> \
        tuple[Route, str]:
    async with services.unit() as session:
        row = session.get_one(CustomerRow, customer_id)
        target, known = _routed_number(session, row, at)
        snapshot: dict[str, Any] = {"name": row.name, "address": dict(row.address),
                                    "country": row.country,
                    "tax_id": row.tax_id, "crm": row.crm_account_id, "currency": row.currency}
    if known:
        return target, known
    with services.db.session() as session:
        refused = session.scalar(select(ExceptionRecord.message).where(
            ExceptionRecord.business_key == customer_id,
            ExceptionRecord.kind == "erp_customer_rejected",
            ExceptionRecord.resolved.is_(False)).limit(1))
    if refused is not None:  # refused for good: not retried unchanged, replayed from the DLQ
        raise OnboardingError(customer_id, f"{target.erp} customer", VendorError(
            target.erp, 409, "rejected", f"waiting for a DLQ replay: {refused[:200]}"))
    try:
        if target.erp == "cloud_erp":
            number = await services.adapters.cloud_erp.ensure_customer(
                search_term=snapshot["crm"].upper()[:20], name=snapshot["name"],
                address=snapshot["address"], tax_id=snapshot["tax_id"],
                company_code=target.company_code)
        else:
            number = await services.adapters.legacy_erp.ensure_customer(
                number=customer_number_for(customer_id), name=snapshot["name"],
                address=snapshot["address"], country=snapshot["country"],
                currency=snapshot["currency"], tax_id=snapshot["tax_id"],
                company_code=target.company_code)
    except AdapterError as err:
        async with services.unit() as session:
            records.exception(session, customer_id, failure_kind(
                err, "erp_customer_failed", "erp_customer_rejected"), target.erp, str(err))
        raise OnboardingError(customer_id, f"{target.erp} customer", err) from err
    async with services.unit() as session:
        records.link(session, "customer", customer_id, target.erp, number, target.company_code)
        row = session.get_one(CustomerRow, customer_id)
        row.erp, row.company_code = target.erp, target.company_code
        records.step(session, customer_id, "erp.customer_created", target.erp,
                     erp_customer_id=number, company_code=target.company_code)
    return target, number


async def _finish(services: Services, customer_id: str) -> None:
    async with services.unit() as session:
        row = session.get_one(CustomerRow, customer_id)
        if row.status == OnboardingStatus.ONBOARDED.value:
            return
        billing_id = records.external_id(session, "customer", customer_id, "billing")
        erp_id = records.external_id(session, "customer", customer_id, row.erp or "",
                                     row.company_code or "")
        if not billing_id or not erp_id or not row.erp or not row.company_code:
            raise VendorError("integration", 409, "incomplete", "onboarding incomplete")
        _move(row, OnboardingStatus.ONBOARDED)
        records.step(session, customer_id, "customer.onboarded", "integration")
        services.bus.emit(session, customer_id, CustomerOnboarded(
            customer_id=customer_id, crm_account_id=row.crm_account_id,
            billing_customer_id=billing_id, erp=Erp(row.erp),
            company_code=row.company_code, erp_customer_id=erp_id))
    log.info("customer onboarded", customer_id=customer_id)
