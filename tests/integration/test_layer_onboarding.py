"""``POST /customers`` directly (an upstream order service, not the CRM): created once per
CRM account, idempotent per key, in the ERP its legal entity is routed to."""

from __future__ import annotations

from typing import Any

from o2c_landscape import Landscape

BODY: dict[str, Any] = {
    "crm_account_id": "001DIRECT000000AAA", "name": "Direct Order GmbH", "legal_entity": "DE01",
    "country": "DE", "currency": "EUR", "tax_id": "DE123456789",
    "address": {"line1": "Dietmar-Hopp-Allee 16", "city": "Walldorf", "postal_code": "69190",
                "country": "DE"}}


def test_post_customers_is_idempotent(scape: Landscape) -> None:
    first = scape.layer.post("/customers", json=BODY, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == 201, first.text
    customer = first.json()
    assert customer["status"] == "onboarded" and customer["erp"] == "cloud_erp"
    assert customer["address"]["city"] == "Walldorf"  # resolved by the tax engine
    again = scape.layer.post("/customers", json=BODY, headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 201 and again.json() == customer
    assert again.headers["idempotent-replayed"] == "true"
    clash = scape.layer.post("/customers", json={**BODY, "name": "Other"},
                             headers={"Idempotency-Key": "order-1"})
    assert clash.status_code == 422
    other_key = scape.layer.post("/customers", json=BODY, headers={"Idempotency-Key": "order-2"})
    assert other_key.json()["id"] == customer["id"]  # the CRM account is the anchor
    billing = scape.sim("billing").get("/v1/customers", params={"limit": 100}, headers={
        "Authorization": "Bearer sk_test_o2c_harness"}).json()["data"]
    assert [c["id"] for c in billing
            if c["metadata"].get("crm_account_id") == BODY["crm_account_id"]] == \
        [customer["references"]["billing"]]
    bp = scape.await_fact("cloud_erp", "business_partner.created", "001DIRECT000000AAA")
    assert bp["count"] == 1
    assert scape.layer.get(f"/customers/{customer['id']}").json()["references"] == \
        customer["references"]
