"""Flow 2: subscriptions and usage. ``POST /subscriptions`` creates the subscription in
billing for an onboarded customer (send_invoice, the layer finalizes month-end invoices).
Billing finalizes the first invoice itself at creation, so the subscription is created with
the tax rate AvaTax determines for the customer's address (an estimate, cached as a billing
tax rate), which is then cleared so cycle invoices are taxed once, by the layer's hold;
``POST /usage`` reports metered usage as billing meter events, once per idempotency key."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from harness.canonical import OnboardingStatus, SubscriptionStatus

from .. import correlation, records
from ..adapters.money import to_minor
from ..db.tables import CustomerRow, SubscriptionRow, UsageRow, utcnow
from ..services import Services


class SubscriptionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, description="billing price id or price lookup key")
    quantity: int | None = Field(default=None, ge=0, le=1_000_000)


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str
    items: list[SubscriptionItem] = Field(min_length=1, max_length=20)


class UsageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str
    meter_event_name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=0, le=10**12)
    occurred_at: AwareDatetime | None = None
    idempotency_key: str = Field(min_length=1, max_length=100)


class NotFound(LookupError):
    pass


class NotReady(RuntimeError):
    """The customer exists but is not onboarded yet."""


class KeyReused(ValueError):
    """A usage idempotency key sent again with a different report."""


def _onboarded(session: Any, customer_id: str) -> tuple[CustomerRow, str]:
    customer = session.get(CustomerRow, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    billing = records.external_id(session, "customer", customer_id, "billing")
    if customer.status != OnboardingStatus.ONBOARDED.value or billing is None:
        raise NotReady(f"customer {customer_id} is {customer.status}, not onboarded")
    return customer, billing


def subscription_view(row: SubscriptionRow) -> dict[str, Any]:
    return {"id": row.id, "customer_id": row.customer_id, "price_id": row.price_id,
            "quantity": row.quantity, "metered": row.metered, "status": row.status,
            "billing_subscription_id": row.billing_subscription_id,
            "correlation_id": row.correlation_id, "created_at": row.created_at.isoformat()}


async def _tax_rates(services: Services, customer_id: str, currency: str,
                     lines: list[int]) -> list[str]:
    """The billing tax rate for the customer's address, as AvaTax determines it now (a
    ``SalesOrder`` estimate of the first period, never persisted, exemptions included), so
    billing's first invoice — finalized by billing at creation, the layer cannot hold it —
    carries the right tax. The layer records and commits that invoice's ``SalesInvoice`` when
    it is finalized and checks billing's tax against it to the cent (flows.month_end).

    The percentage is AvaTax's combined rate when billing, rounding each line once, charges
    what AvaTax does (which rounds per jurisdiction); otherwise the effective rate of the
    first period (4 decimals, as Stripe keeps them), so the first invoice matches to the cent.
    """
    amount_minor = sum(lines)
    async with services.unit() as session:
        customer = session.get_one(CustomerRow, customer_id)
        tax = services.settings.tax
        args: dict[str, Any] = dict(
            company_code=tax.company_by_country.get(customer.country, tax.default_company),
            customer_code=customer.id, currency=currency.upper(), net_minor=amount_minor,
            on=utcnow().date(), address=dict(customer.address), tax_code=tax.tax_code,
            description=f"Subscription estimate {customer.id}")
        country = customer.country
    if amount_minor <= 0:
        return []
    estimate = await services.adapters.tax.estimate_tax(**args)
    details = [d for line in estimate.get("lines") or [] for d in line.get("details") or []]
    if not estimate.get("totalTax") or not details:
        return []  # exempt, or no tax in this jurisdiction: the invoice carries none
    tax_minor = to_minor(estimate["totalTax"], currency.upper())
    percentage = round(sum(float(d.get("rate") or 0) for d in details) * 100, 4)
    if sum(round(line * percentage / 100) for line in lines) != tax_minor:
        percentage = round(tax_minor * 100 / amount_minor, 4)
    if percentage <= 0:
        return []
    jurisdiction = "/".join(sorted({str(d.get("jurisName") or d.get("jurisCode") or country)
                                    for d in details}))
    name = str(details[0].get("taxName") or "Tax")
    rate = await services.adapters.billing.tax_rate(
        percentage=percentage, inclusive=False, jurisdiction=jurisdiction,
        country=country, display_name=name)
    return [str(rate["id"])]


def subscription_id_for(customer_id: str, key: str) -> str:
    """The canonical id of the subscription a request creates: ``sub_<32 hex>``, derived from
    the customer and the request's idempotency key (stable across retries)."""
    return f"sub_{uuid.uuid5(_SUBSCRIPTIONS, f'{customer_id}:{key}').hex}"


_SUBSCRIPTIONS = uuid.UUID("6f1c2a52-3d1e-5b7a-9c44-0b2e8f3a7d10")


async def create_subscription(services: Services, request: SubscriptionRequest,
                              key: str) -> dict[str, Any]:
    async with services.unit() as session:
        customer, billing_customer = _onboarded(session, request.customer_id)
        flow = customer.correlation_id
    with correlation.bound(flow):
        items: list[dict[str, Any]] = []
        prices: list[dict[str, Any]] = []
        metered = False
        for item in request.items:
            price = await services.adapters.billing.resolve_price(item.plan)
            prices.append(price)
            usage_type = (price.get("recurring") or {}).get("usage_type", "licensed")
            metered = metered or usage_type == "metered"
            entry: dict[str, Any] = {"price": price["id"]}
            if usage_type != "metered":
                entry["quantity"] = item.quantity if item.quantity is not None else 1
            items.append(entry)
        first_period = [int(p.get("unit_amount") or 0) * int(e.get("quantity", 0))
                        for p, e in zip(prices, items, strict=True) if "quantity" in e]
        rates = await _tax_rates(services, request.customer_id, str(prices[0]["currency"]),
                                 first_period)
        # the same request (same key) names the same subscription: a retried POST sends billing
        # the very parameters of the first attempt, and billing replays its answer
        sub_id = subscription_id_for(request.customer_id, key)
        created = await services.adapters.billing.create_subscription(
            key=key, customer=billing_customer, items=items,
            days_until_due=services.settings.billing.days_until_due,
            metadata={"canonical_id": sub_id, "customer_id": request.customer_id,
                      "correlation_id": flow}, default_tax_rates=rates)
        if rates and created.get("default_tax_rates"):
            # the rate was for the first invoice only (finalized at creation): cycle
            # invoices are held and taxed by the layer (flows.month_end), never twice
            await services.adapters.billing.clear_default_tax_rates(created["id"])
        async with services.unit() as session:
            existing = session.scalar(select(SubscriptionRow).where(
                SubscriptionRow.billing_subscription_id == created["id"]))
            if existing is not None:  # the same request again: billing replayed its answer
                return subscription_view(existing)
            row = SubscriptionRow(id=sub_id, customer_id=request.customer_id,
                                  price_id=",".join(i["price"] for i in items),
                                  quantity=sum(i.get("quantity", 0) for i in items),
                                  metered=metered, status=SubscriptionStatus.ACTIVE.value,
                                  billing_subscription_id=created["id"], correlation_id=flow)
            session.add(row)
            records.link(session, "subscription", sub_id, "billing", created["id"])
            records.step(session, request.customer_id, "billing.subscription_created",
                         "billing", subject=sub_id, billing_subscription_id=created["id"])
            return subscription_view(row)


async def report_usage(services: Services, request: UsageRequest) -> dict[str, Any]:
    async with services.unit() as session:
        existing = session.scalar(select(UsageRow).where(
            UsageRow.idempotency_key == request.idempotency_key))
        customer, billing_customer = _onboarded(session, request.customer_id)
        flow = customer.correlation_id
        if existing is not None and (existing.customer_id, existing.meter_event_name,
                                     existing.quantity) != (request.customer_id,
                                                            request.meter_event_name,
                                                            request.quantity):
            raise KeyReused(f"usage key {request.idempotency_key} was reported with other "
                            "values")
        if existing is None:
            existing = UsageRow(id=records.new_id("use"), customer_id=request.customer_id,
                                meter_event_name=request.meter_event_name,
                                quantity=request.quantity,
                                occurred_at=request.occurred_at or utcnow(),
                                idempotency_key=request.idempotency_key, correlation_id=flow)
            session.add(existing)
        usage_id, occurred = existing.id, existing.occurred_at
        reported = existing.reported
    if not reported:
        with correlation.bound(flow):
            await services.adapters.billing.record_meter_event(
                identifier=request.idempotency_key, event_name=request.meter_event_name,
                customer=billing_customer, value=request.quantity,
                timestamp=int(request.occurred_at.timestamp()) if request.occurred_at
                else None)  # without a time given, billing stamps it with its own clock
            async with services.unit() as session:
                row = session.get_one(UsageRow, usage_id)
                row.reported = True
                records.step(session, request.customer_id, "billing.usage_reported",
                             "billing", subject=usage_id, quantity=request.quantity,
                             meter=request.meter_event_name)
    return {"id": usage_id, "customer_id": request.customer_id,
            "meter_event_name": request.meter_event_name, "quantity": request.quantity,
            "occurred_at": occurred.isoformat(), "idempotency_key": request.idempotency_key,
            "reported": True, "correlation_id": flow}
