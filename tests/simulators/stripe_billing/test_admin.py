"""Faults through the admin API, seeding, snapshot/restore and the served OpenAPI."""

from __future__ import annotations

import re

import httpx
import pytest
import stripe

from simulators._kit import build_app
from simulators.stripe_billing import Config, StripeSimulator


def test_injected_server_error_raises_api_error(client: stripe.StripeClient,
                                                admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "error", "status": 503, "route": "/v1/customers*"}]}).raise_for_status()
    with pytest.raises(stripe.APIError) as err:
        client.v1.customers.create(params={"email": "x@example.com"})
    assert err.value.http_status == 503
    assert err.value.error.type == "api_error"
    client.v1.products.create(params={"name": "unaffected route"})


def test_rate_limit_with_retry_after(client: stripe.StripeClient, admin: httpx.Client,
                                     raw: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [{"kind": "rate_limit", "retry_after_s": 2}]}
              ).raise_for_status()
    with pytest.raises(stripe.RateLimitError) as err:
        client.v1.customers.list()
    assert err.value.http_status == 429
    assert err.value.error.code == "rate_limit"
    resp = raw.get("/v1/customers")
    assert resp.headers["Retry-After"] == "2"
    assert resp.json()["error"]["type"] == "invalid_request_error"
    admin.delete("/_sim/faults")
    assert client.v1.customers.list().data == []


def test_seeding_is_deterministic(admin: httpx.Client, client: stripe.StripeClient) -> None:
    def run() -> list[tuple[str, str, str]]:
        admin.post("/_sim/reset").raise_for_status()
        created = admin.post("/_sim/seed", json={"seed": 7, "size": 12, "locales": [
            "en_US", "de_DE", "fr_FR", "ja_JP"]}).json()["created"]
        assert created["customers"] == 12 and created["subscriptions"] > 0
        return [(c.id, c.name, c.address.country)
                for c in client.v1.customers.list(params={"limit": 100}).auto_paging_iter()]

    first, second = run(), run()
    assert first == second
    assert {country for _, _, country in first} == {"US", "DE", "FR", "JP"}
    prices = client.v1.prices.list(params={"limit": 100, "currency": "jpy"}).data
    assert prices and all(p.recurring.interval in ("month", "year") for p in prices)
    subs = client.v1.subscriptions.list(params={"limit": 100}).data
    assert all(s.collection_method == "send_invoice" for s in subs)
    admin.post("/_sim/reset")
    admin.post("/_sim/seed", json={"seed": 8, "size": 12, "locales": ["en_US"]})
    other = [c.name for c in client.v1.customers.list(params={"limit": 100}).data]
    assert other != [name for _, name, _ in first]


def test_snapshot_round_trip(client: stripe.StripeClient, admin: httpx.Client) -> None:
    cus = client.v1.customers.create(params={"email": "keep@example.com"})
    client.v1.invoice_items.create(params={"customer": cus.id, "amount": 700,
                                           "currency": "usd"})
    inv = client.v1.invoices.create(params={"customer": cus.id,
                                            "pending_invoice_items_behavior": "include"})
    snap = admin.get("/_sim/snapshot").json()
    admin.post("/_sim/reset")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve(cus.id)
    assert admin.put("/_sim/snapshot", json=snap).status_code == 200
    assert client.v1.customers.retrieve(cus.id).email == "keep@example.com"
    assert client.v1.invoices.retrieve(inv.id).total == 700
    nxt = client.v1.customers.create(params={"email": "after@example.com"})
    assert nxt.id != cus.id


def test_openapi_documents_every_served_route(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    app = build_app(StripeSimulator(Config()))
    served = {(ep.method.lower(), re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", ep.path))
              for ep in app.state.kit.endpoints}
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops
                  if not p.startswith("/_sim/")}
    assert served == documented
    create = spec["paths"]["/v1/customers"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["encoding"]["metadata"] == {"style": "deepObject", "explode": True}
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    for path, ops in spec["paths"].items():
        if path.startswith("/v1/"):
            for op in ops.values():
                assert {"200", "400", "401", "404", "429", "500"} <= set(op["responses"])
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "basicAuth"}
    lst = spec["paths"]["/v1/invoices"]["get"]["parameters"]
    assert {"limit", "starting_after", "customer", "status", "subscription"} <= {
        p["name"] for p in lst}
