from __future__ import annotations

from o2c_landscape import Landscape


def test_health_and_onboarding(scape: Landscape) -> None:
    h = scape.layer.get("/health")
    assert h.status_code == 200, h.text
    print(h.json())
    body = {"crm_account_id": "001SMOKE0000000AAA", "name": "Smoke Test GmbH",
            "legal_entity": "DE01", "country": "DE", "currency": "EUR",
            "tax_id": "DE123456789",
            "address": {"line1": "Dietmar-Hopp-Allee 16", "city": "Walldorf",
                        "postal_code": "69190", "country": "DE"}}
    r = scape.layer.post("/customers", json=body, headers={"Idempotency-Key": "k1"})
    print(r.status_code, r.text)
    assert r.status_code == 201
