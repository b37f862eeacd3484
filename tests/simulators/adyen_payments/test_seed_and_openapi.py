"""Deterministic seeding and the served OpenAPI document."""

from __future__ import annotations

from typing import Any

import Adyen
import httpx

from simulators._kit.testing import wait_for
from simulators.adyen_payments import AdyenSimulator

from .conftest import MERCHANT, Receiver


def _seeded(sim: httpx.Client, seed: int) -> dict[str, Any]:
    sim.post("/_sim/reset").raise_for_status()
    created = sim.post("/_sim/seed", json={"seed": seed, "size": 6}).json()["created"]
    assert created == {"payments": 6}
    return sim.get("/_sim/snapshot").json()["state"]["payments"]


def test_seed_is_deterministic_per_seed(sim: httpx.Client) -> None:
    first, again, other = _seeded(sim, 7), _seeded(sim, 7), _seeded(sim, 8)
    assert first == again
    assert first != other
    accounts = {p["merchantAccount"] for p in first.values()}
    assert accounts == {"O2CHarnessECOM", "O2CHarnessEU"}


def test_seeded_payment_can_be_refunded(sim: httpx.Client, adyen: Adyen.Adyen,
                                        receiver: Receiver) -> None:
    payments = _seeded(sim, 3)
    captured = next(p for p in payments.values()
                    if p["status"] == "Captured" and p["merchantAccount"] == MERCHANT)
    refund = adyen.checkout.modifications_api.refund_captured_payment(
        {"merchantAccount": MERCHANT, "amount": captured["amount"]}, captured["pspReference"])
    item = wait_for(lambda: receiver.items("REFUND"))[0]
    assert (item["pspReference"], item["success"]) == (refund.message["pspReference"], "true")


def test_openapi_documents_every_served_route(sim: httpx.Client) -> None:
    spec = sim.get("/openapi.json").json()
    endpoints = AdyenSimulator().endpoints()
    assert len(endpoints) == 14
    for endpoint in endpoints:
        operation = spec["paths"][endpoint.path][endpoint.method.lower()]
        assert "200" in operation["responses"] or "201" in operation["responses"]
        assert "401" in operation["responses"]
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "name": "X-API-Key", "in": "header"}
    assert spec["security"] == [{"ApiKeyAuth": []}]
    for version in ("v71", "v72"):
        assert f"/{version}/payments/{{paymentPspReference}}/captures" in spec["paths"]
    # every $ref resolves
    text = sim.get("/openapi.json").text
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in spec["components"]["schemas"], name
