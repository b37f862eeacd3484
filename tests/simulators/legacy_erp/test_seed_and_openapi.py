"""Seeded history is deterministic and usable; /openapi.json documents every served route."""

from __future__ import annotations

from typing import Any

import httpx
import zeep
from starlette.routing import Route

from simulators._kit import build_app
from simulators.legacy_erp import Config, LegacyErpSimulator

_CLOCK_FIELDS = {"CreatedAt", "posted_at"}


def _books(admin: httpx.Client) -> dict[str, Any]:
    state = admin.get("/_sim/snapshot").json()["state"]

    def strip(docs: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k not in _CLOCK_FIELDS} for d in docs.values()]

    return {name: strip(state.get(name, {})) for name in ("customers", "documents",
                                                           "clearings")}


def _seed(admin: httpx.Client, seed: int) -> dict[str, int]:
    admin.post("/_sim/reset").raise_for_status()
    response = admin.post("/_sim/seed", json={"seed": seed, "size": 25, "dirtiness": 0.5,
                                              "locales": ["en_US", "de_DE", "fr_FR", "ja_JP"]})
    response.raise_for_status()
    return response.json()["created"]


def test_seeding_is_deterministic_and_mixes_open_and_cleared_items(admin: httpx.Client) -> None:
    counts = _seed(admin, 11)
    first = _books(admin)
    assert _seed(admin, 11) == counts
    assert _books(admin) == first
    _seed(admin, 12)
    assert _books(admin) != first

    assert counts["customers"] == 25 and counts["invoices"] > 0
    statuses = {d["Status"] for d in first["documents"]}
    assert {"OPEN", "CLEARED"} <= statuses
    assert all(len(c["Name"]) <= 35 for c in first["customers"])
    assert {c["CompanyCode"] for c in first["customers"]} >= {"1000", "2000"}
    # history is not traffic: no facts for seeded postings
    assert admin.get("/_sim/facts", params={"kind": "invoice.posted"}).json()["data"] == []


def test_seeded_items_are_visible_through_soap(erp: zeep.Client, admin: httpx.Client) -> None:
    _seed(admin, 11)
    docs = admin.get("/_sim/legacy/documents").json()["data"]
    open_doc = next(d for d in docs if d["Status"] == "OPEN")
    items = erp.service.GetOpenItems(CompanyCode=open_doc["CompanyCode"],
                                     CustomerNumber=open_doc["CustomerNumber"])
    assert open_doc["DocumentNumber"] in {i.DocumentNumber for i in items}
    paid = erp.service.ApplyPayment(
        CompanyCode=open_doc["CompanyCode"], CustomerNumber=open_doc["CustomerNumber"],
        DocumentNumber=open_doc["DocumentNumber"], Amount=open_doc["OpenAmount"],
        Currency=open_doc["Currency"], PaymentDate="2024-05-01", PaymentReference="pi_seed")
    assert paid.Status == "CLEARED"


def test_openapi_documents_every_served_route(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    app = build_app(LegacyErpSimulator(Config(default_latency_ms=0)))
    served = {(r.path, m.lower()) for r in app.routes if isinstance(r, Route)
              for m in (r.methods or ()) if m != "HEAD"}
    served.discard(("/openapi.json", "get"))  # the spec does not describe itself
    documented = {(p, m) for p, item in spec["paths"].items() for m in item}
    assert served <= documented, served - documented
    assert documented <= served, documented - served

    soap = spec["paths"]["/soap/LegacyErp"]["post"]
    assert set(soap["requestBody"]["content"]) == {"text/xml"}
    assert {"200", "400", "429", "500", "503", "504"} <= set(soap["responses"])
    assert all(set(r["content"]) == {"text/xml"} for r in soap["responses"].values())
    assert soap["parameters"][0]["name"] == "SOAPAction"
    assert "text/xml" in spec["paths"]["/soap/LegacyErp"]["get"]["responses"]["200"]["content"]
    assert spec["paths"]["/_sim/legacy/documents"]["get"]["tags"] == ["admin"]
    assert spec["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
