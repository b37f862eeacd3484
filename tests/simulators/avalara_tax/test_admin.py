"""Faults, seeding and the served OpenAPI of the AvaTax simulator."""

from __future__ import annotations

import re

import httpx
from avalara import AvataxClient

from simulators._kit import build_app
from simulators.avalara_tax import AvalaraSimulator, Config

from .conftest import sales_invoice


def test_injected_server_error_is_avatax_shaped(avatax: AvataxClient,
                                                admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "error", "status": 503, "route": "/api/v2/transactions/*"}]}).raise_for_status()
    response = avatax.create_transaction(sales_invoice("INV-F"))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "ServiceNotReady" and error["details"][0]["faultCode"] == "Server"
    assert avatax.ping().status_code == 200  # the rule only covers transactions
    admin.delete("/_sim/faults")
    assert avatax.create_transaction(sales_invoice("INV-F")).status_code == 201


def test_rate_limit_sets_retry_after(avatax: AvataxClient, admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "rate_limit", "retry_after_s": 7}]}).raise_for_status()
    response = avatax.create_transaction(sales_invoice("INV-RL"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "RateLimitExceededError"
    assert response.json()["error"]["details"][0]["number"] == 1723


def test_seeding_is_deterministic(admin: httpx.Client) -> None:
    def seeded_state() -> dict:
        admin.post("/_sim/reset").raise_for_status()
        created = admin.post("/_sim/seed", json={"seed": 42, "size": 60,
                                                 "locales": ["en_US", "de_DE", "fr_FR"]}).json()
        assert created["created"]["certificates"] > 0
        state = admin.get("/_sim/snapshot").json()["state"]
        for company in state["companies"].values():
            company.pop("createdDate")  # the wall clock, not the seed
        return {k: state[k] for k in ("companies", "certificates")}

    first, second = seeded_state(), seeded_state()
    assert first == second
    admin.post("/_sim/reset")
    admin.post("/_sim/seed", json={"seed": 43, "size": 60, "locales": ["en_US", "de_DE",
                                                                       "fr_FR"]})
    other = admin.get("/_sim/snapshot").json()["state"]["certificates"]
    assert other != first["certificates"]
    companies = first["companies"]
    assert {"O2C-US", "O2C-DE", "O2C-FR"} <= set(companies)
    assert re.fullmatch(r"DE\d{9}", companies["O2C-DE"]["taxpayerIdNumber"])


def test_seeded_exemption_certificate_exempts_its_customer(avatax: AvataxClient,
                                                           admin: httpx.Client) -> None:
    admin.post("/_sim/seed", json={"seed": 7, "size": 200, "locales": ["en_US"]})
    certificates = admin.get("/_sim/snapshot").json()["state"]["certificates"].values()
    cert = next(c for c in certificates if c["country"] == "US" and c["region"] == "WA")
    model = sales_invoice("INV-CERT", companyCode=cert["companyCode"],
                          customerCode=cert["customerCode"])
    model["addresses"]["shipTo"] = {"line1": "1 Main", "postalCode": "98101", "country": "US"}
    doc = avatax.create_transaction(model).json()
    assert (doc["totalTax"], doc["totalExempt"]) == (0, 100.0)
    assert doc["lines"][0]["exemptNo"] == cert["exemptionNo"]
    assert doc["lines"][0]["exemptCertId"] == cert["id"]
    model.update(code="INV-NOCERT", customerCode="SOMEONE-ELSE")
    assert avatax.create_transaction(model).json()["totalTax"] == 10.35


def test_openapi_documents_every_served_route(admin: httpx.Client) -> None:
    spec = admin.get("/openapi.json").json()
    app = build_app(AvalaraSimulator(Config()))
    for endpoint in app.state.kit.endpoints:
        operation = spec["paths"][endpoint.path][endpoint.method.lower()]
        assert "200" in operation["responses"] or "201" in operation["responses"]
        assert {"429", "500", "503"} <= set(operation["responses"])
        if endpoint.auth:
            assert "401" in operation["responses"]
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == \
                    {"$ref": "#/components/schemas/ErrorResult"}
    assert spec["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    assert {"basicAuth": []} in spec["security"]
    assert spec["paths"]["/api/v2/utilities/ping"]["get"]["security"] == []
    create = spec["paths"]["/api/v2/transactions/create"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CreateTransactionModel")


def test_config_rejects_unknown_default_company() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Config(default_company="NOPE")
    with pytest.raises(ValidationError):
        Config(companies={"X": "ZZ"}, default_company="X")
