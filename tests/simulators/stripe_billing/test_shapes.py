"""Every object carries the field set of Stripe's current API (the vendor fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stripe

FIXTURES = Path("/work/shared/vendor-specs/stripe/fixtures3.json")


@pytest.mark.skipif(not FIXTURES.exists(), reason="Stripe fixtures not available")
def test_objects_have_the_fixture_field_sets(client: stripe.StripeClient) -> None:
    want = json.loads(FIXTURES.read_text())["resources"]
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_767_225_600})
    cus = client.v1.customers.create(params={"test_clock": clock.id})
    meter = client.v1.billing.meters.create(params={
        "display_name": "m", "event_name": "m", "default_aggregation": {"formula": "sum"}})
    event = client.v1.billing.meter_events.create(params={
        "event_name": "m", "payload": {"stripe_customer_id": cus.id, "value": "1"}})
    price = client.v1.prices.create(params={"currency": "usd", "unit_amount": 100,
                                            "product_data": {"name": "p"},
                                            "recurring": {"interval": "month"}})
    product = client.v1.products.retrieve(price.product)
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 10,
                                              "inclusive": False})
    sub = client.v1.subscriptions.create(params={"customer": cus.id,
                                                 "items": [{"price": price.id}]})
    item = client.v1.invoice_items.create(params={"customer": cus.id, "amount": 5,
                                                  "currency": "usd"})
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    cn = client.v1.credit_notes.create(params={"invoice": inv.id, "amount": 10})
    we = client.v1.webhook_endpoints.create(params={"url": "https://example.com/h",
                                                    "enabled_events": ["*"]})
    evt = client.v1.events.list(params={"limit": 1}).data[0]
    objects = {
        "customer": cus, "test_helpers.test_clock": clock, "billing.meter": meter,
        "billing.meter_event": event, "price": price, "product": product, "tax_rate": rate,
        "subscription": sub, "subscription_item": sub["items"].data[0], "invoiceitem": item,
        "invoice": inv, "line_item": inv.lines.data[0], "credit_note": cn,
        "credit_note_line_item": cn.lines.data[0], "webhook_endpoint": we, "event": evt,
    }
    missing = {name: sorted(set(want[name]) - set(obj.to_dict()))
               for name, obj in objects.items()}
    assert {k: v for k, v in missing.items() if v} == {}
