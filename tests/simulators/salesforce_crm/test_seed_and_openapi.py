"""Deterministic seeding, the served OpenAPI document, and bad input never being a 500."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

from simulators._kit import build_app
from simulators.salesforce_crm import SalesforceSimulator

from .conftest import Org

_VOLATILE = {"CreatedDate", "LastModifiedDate", "SystemModstamp", "CloseDate"}


def _seeded(org: Org, seed: int, size: int = 12, dirtiness: float = 0.0) -> dict[str, Any]:
    org.admin.post("/_sim/reset").raise_for_status()
    created = org.admin.post("/_sim/seed", json={
        "seed": seed, "size": size, "dirtiness": dirtiness,
        "locales": ["en_US", "de_DE", "fr_FR", "en_GB", "ja_JP"]}).json()["created"]
    assert created["Account"] == size
    state = org.admin.get("/_sim/snapshot").json()["state"]
    return {kind: [{k: v for k, v in doc.items() if k not in _VOLATILE}
                   for doc in state[kind].values()]
            for kind in ("Account", "Contact", "Opportunity")}


def test_seed_is_deterministic_per_seed(org: Org) -> None:
    first, again, other = _seeded(org, 5), _seeded(org, 5), _seeded(org, 6)
    assert first == again
    assert first != other


def test_seeded_org_is_realistic_and_dirty(org: Org) -> None:
    state = _seeded(org, 11, size=60, dirtiness=0.6)
    sf = org.sdk()  # after the reset in _seeded
    accounts = state["Account"]
    assert {a["BillingCountry"] for a in accounts} == {"US", "DE", "FR", "GB", "JP"}
    assert {a["Legal_Entity__c"] for a in accounts} == {"US01", "DE01", "FR01", "GB01", "JP01"}
    assert any(a["BillingPostalCode"] is None for a in accounts)
    assert any(len(a["Name"]) > 40 for a in accounts)
    assert all(a["VAT_Number__c"] for a in accounts)
    assert {o["StageName"] for o in state["Opportunity"]} == {
        "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
        "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
        "Negotiation/Review", "Closed Won", "Closed Lost"}
    # seeded history does not fire Closed Won events or facts
    assert org.admin.get("/_sim/facts").json()["data"] == []
    won = sf.query("SELECT Id, Account.Name FROM Opportunity WHERE IsWon = true "
                   "AND CloseDate < TODAY")
    assert won["totalSize"] == sum(1 for o in state["Opportunity"] if o["IsWon"])


def test_openapi_documents_every_served_route(org: Org) -> None:
    spec = org.admin.get("/openapi.json").json()
    app = build_app(SalesforceSimulator())
    served = [(r.path, m.lower()) for r in app.routes if isinstance(r, Route)
              for m in (r.methods or set()) if m != "HEAD" and r.path != "/openapi.json"]
    assert len(served) > 40
    for path, method in served:
        assert method in spec["paths"].get(path, {}), f"{method.upper()} {path} undocumented"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    token = spec["paths"]["/services/oauth2/token"]["post"]
    assert token["security"] == []
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    query = spec["paths"]["/services/data/{version}/query"]["get"]
    assert {"200", "400", "401", "403"} <= set(query["responses"])
    assert spec["paths"]["/_sim/crm/subscriptions"]["post"]["tags"] == ["admin"]
    text = org.admin.get("/openapi.json").text
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in spec["components"]["schemas"], name


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/services/data/v59.0/sobjects/Account", b"not json"),
    ("POST", "/services/data/v59.0/sobjects/Account", b"[1, 2]"),
    ("POST", "/services/data/v59.0/sobjects/Account", b'{"Name": {"a": 1}}'),
    ("POST", "/services/data/v59.0/sobjects/Opportunity",
     b'{"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-13-45"}'),
    ("POST", "/services/data/v59.0/sobjects/Opportunity",
     b'{"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "Amount": 1e300}'),
    ("PATCH", "/services/data/v59.0/sobjects/Account/001000000000000AAA", b""),
    ("PATCH", "/services/data/v59.0/sobjects/Account/Name/x", b"{}"),
    ("GET", "/services/data/v59.0/query", b""),
    ("GET", "/services/data/v59.0/query?q=SELECT+%27", b""),
    ("GET", "/services/data/v59.0/query/garbage", b""),
    ("GET", "/services/data/v1.0/sobjects", b""),
    ("GET", "/services/data/v59.0/sobjects/Account/x/y/z", b""),
    ("POST", "/services/data/v59.0/composite", b'{"compositeRequest": "x"}'),
    ("POST", "/services/data/v59.0/composite/sobjects", b'{"records": [1, "x", null]}'),
    ("PUT", "/services/data/v59.0/sobjects/Account", b"{}"),
])
def test_bad_input_gets_a_salesforce_error_not_a_500(org: Org, method: str, path: str,
                                                     body: bytes) -> None:
    token = org.token()["access_token"]
    resp = org.admin.request(method, path, content=body,
                             headers={"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/json"})
    assert 400 <= resp.status_code < 500, resp.text
    assert {"message", "errorCode"} <= set(resp.json()[0])


def test_composite_subrequest_to_an_unknown_url_fails_alone(org: Org) -> None:
    token = org.token()["access_token"]
    resp = org.admin.post("/services/data/v59.0/composite", json={"compositeRequest": [
        {"method": "GET", "url": "/nowhere", "referenceId": "a"}]},
        headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert resp.json()["compositeResponse"][0]["httpStatusCode"] == 404


def test_token_endpoint_rejects_garbage(org: Org) -> None:
    resp = org.admin.post("/services/oauth2/token", content=b"\xff\xfe",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"
    soap = org.admin.post("/services/Soap/u/59.0", content=b"<not-xml",
                          headers={"Content-Type": "text/xml", "SOAPAction": "login"})
    assert soap.status_code == 500 and b"INVALID_LOGIN" in soap.content
