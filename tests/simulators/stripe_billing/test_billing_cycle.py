"""Subscriptions on test clocks, cycle invoices, the 1-hour grace and metered usage."""

from __future__ import annotations

import httpx
import pytest
import stripe

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400


def _catalog(client: stripe.StripeClient, metered: bool = False) -> dict[str, str]:
    product = client.v1.products.create(params={"name": "Platform"})
    monthly = client.v1.prices.create(params={
        "currency": "eur", "unit_amount": 5000, "product": product.id,
        "recurring": {"interval": "month"}})
    out = {"product": product.id, "monthly": monthly.id}
    if metered:
        meter = client.v1.billing.meters.create(params={
            "display_name": "API calls", "event_name": "api_calls",
            "default_aggregation": {"formula": "sum"}})
        usage = client.v1.prices.create(params={
            "currency": "eur", "unit_amount": 2, "product": product.id,
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}})
        out |= {"meter": meter.id, "usage": usage.id}
    return out


def _clock_customer(client: stripe.StripeClient) -> tuple[str, str]:
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": T0,
                                                              "name": "cycle"})
    customer = client.v1.customers.create(params={"email": "bill@example.com",
                                                  "test_clock": clock.id})
    assert customer.test_clock == clock.id
    return clock.id, customer.id


def test_subscription_on_a_test_clock_cycles_with_grace(client: stripe.StripeClient,
                                                        admin: httpx.Client) -> None:
    cat = _catalog(client)
    clock_id, cus = _clock_customer(client)
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 19,
                                              "inclusive": False, "country": "DE"})
    sub = client.v1.subscriptions.create(params={
        "customer": cus, "items": [{"price": cat["monthly"], "quantity": 2}],
        "collection_method": "send_invoice", "days_until_due": 14,
        "default_tax_rates": [rate.id]}, options={"stripe_version": "2026-10-28.endive"})
    assert sub.status == "active"
    item = sub["items"].data[0]
    assert item.current_period_start == T0
    assert item.current_period_end == T0 + 31 * DAY
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.billing_reason == "subscription_create"
    assert first.status == "open"
    assert first.subtotal == 10000 and first.total == 11900
    assert first.total_taxes[0].amount == 1900
    assert first.due_date == T0 + 14 * DAY
    assert first.number.endswith("-0001")

    # one day past the period end: the renewal draft exists but is still in its grace hour
    client.v1.test_helpers.test_clocks.advance(clock_id, params={
        "frozen_time": T0 + 31 * DAY + 60})
    drafts = client.v1.invoices.list(params={"customer": cus, "status": "draft"}).data
    assert len(drafts) == 1
    draft = drafts[0]
    assert draft.billing_reason == "subscription_cycle"
    assert draft.auto_advance is True
    assert draft.automatically_finalizes_at == T0 + 31 * DAY + 3600
    assert draft.lines.data[0].period.start == T0 + 31 * DAY
    assert draft.lines.data[0].parent.subscription_item_details.subscription == sub.id

    clock = client.v1.test_helpers.test_clocks.advance(clock_id, params={
        "frozen_time": T0 + 31 * DAY + 3601})
    assert clock.status == "ready"
    final = client.v1.invoices.retrieve(draft.id, params={"expand": [
        "customer", "subscription", "parent.subscription_details.subscription"]})
    assert final.status == "open"
    assert final.number.endswith("-0002")
    assert final.status_transitions.finalized_at == T0 + 31 * DAY + 3600
    assert final.customer.id == cus
    assert final.parent.subscription_details.subscription.id == sub.id
    fact = admin.get("/_sim/await", params={"kind": "invoice.finalized", "key": draft.id,
                                            "timeout": 1}).json()
    assert fact["matched"] and fact["fact"]["data"]["total"] == 11900

    renewed = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice"]})
    assert renewed.latest_invoice.id == draft.id
    assert renewed["items"].data[0].current_period_start == T0 + 31 * DAY
    types = {e.type for e in client.v1.events.list(params={"limit": 100}).data}
    assert {"invoice.created", "invoice.finalized", "customer.subscription.created",
            "customer.subscription.updated", "test_helpers.test_clock.ready"} <= types


def test_charge_automatically_without_payment_method_fails_attempt(
        client: stripe.StripeClient) -> None:
    cat = _catalog(client)
    _, cus = _clock_customer(client)
    sub = client.v1.subscriptions.create(params={"customer": cus,
                                                 "items": [{"price": cat["monthly"]}]})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert inv.status == "open" and inv.attempted is True and inv.attempt_count == 1
    failed = client.v1.events.list(params={"type": "invoice.payment_failed"}).data
    assert failed and failed[0].data.object.id == inv.id


def test_metered_usage_appears_on_the_cycle_invoice(client: stripe.StripeClient) -> None:
    cat = _catalog(client, metered=True)
    clock_id, cus = _clock_customer(client)
    sub = client.v1.subscriptions.create(params={
        "customer": cus, "collection_method": "send_invoice", "days_until_due": 30,
        "items": [{"price": cat["monthly"]}, {"price": cat["usage"]}]})
    for i, value in enumerate((100, 250, 50)):
        client.v1.billing.meter_events.create(params={
            "event_name": "api_calls", "identifier": f"evt-{i}",
            "timestamp": T0 + (i + 1) * DAY,
            "payload": {"stripe_customer_id": cus, "value": str(value)}})
    with pytest.raises(stripe.InvalidRequestError) as err:  # identifiers deduplicate
        client.v1.billing.meter_events.create(params={
            "event_name": "api_calls", "identifier": "evt-0", "timestamp": T0 + DAY,
            "payload": {"stripe_customer_id": cus, "value": "999"}})
    assert err.value.param == "identifier"
    client.v1.test_helpers.test_clocks.advance(clock_id, params={
        "frozen_time": T0 + 31 * DAY + 7200})
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    cycle = next(i for i in invoices if i.billing_reason == "subscription_cycle")
    assert cycle.status == "open"
    lines = client.v1.invoices.line_items.list(cycle.id).data
    metered = [ln for ln in lines if ln.pricing.price_details.price == cat["usage"]]
    assert metered[0].quantity == 400
    assert metered[0].amount == 800
    assert metered[0].period.start == T0 and metered[0].period.end == T0 + 31 * DAY
    assert cycle.total == 5000 + 800


def test_subscription_errors(client: stripe.StripeClient) -> None:
    cat = _catalog(client)
    _, cus = _clock_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.create(params={"customer": cus, "items": [{"quantity": 1}]})  # type: ignore[typeddict-item]
    assert err.value.code == "parameter_missing"
    assert err.value.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.create(params={"customer": cus,
                                               "items": [{"price": "price_nope"}]})
    assert err.value.code == "resource_missing"
    assert err.value.param == "items[0][price]"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.create(params={
            "customer": cus, "items": [{"price": cat["monthly"]}],
            "collection_method": "by_pigeon"})  # type: ignore[typeddict-item]
    assert err.value.param == "collection_method"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.subscriptions.create(params={
            "customer": cus, "items": [{"price": cat["monthly"], "quantity": "two"}]})  # type: ignore[typeddict-item]
    assert err.value.code == "parameter_invalid_integer"
    assert err.value.param == "items[0][quantity]"


def test_cancel_and_list_subscriptions(client: stripe.StripeClient) -> None:
    cat = _catalog(client)
    _, cus = _clock_customer(client)
    sub = client.v1.subscriptions.create(params={
        "customer": cus, "items": [{"price": cat["monthly"]}],
        "collection_method": "send_invoice", "days_until_due": 7})
    items = client.v1.subscription_items.list(params={"subscription": sub.id}).data
    assert items[0].id == sub["items"].data[0].id
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled"
    assert client.v1.subscriptions.list(params={"customer": cus}).data == []
    listed = client.v1.subscriptions.list(params={"customer": cus, "status": "all",
                                                  "expand": ["data.customer"]}).data
    assert listed[0].customer.id == cus
