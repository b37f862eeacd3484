"""Data residency (issue 15, S1-A): EU customers' data goes only to endpoints the settings
declare EU-hosted. A violation is refused before anything is sent (every vendor call of the
layer goes through one recording transport here: it records none), answered as a 409
problem naming the system, and audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from integration import Settings, create_app
from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET, ResidencySettings

CUSTOMER = {"crm_account_id": "001RESIDENCY000001", "name": "Müller Maschinenbau GmbH",
            "legal_entity": "DE01", "country": "DE", "currency": "EUR"}


class Recorder(httpx.AsyncBaseTransport):
    """Every request the layer sends to a vendor; answers 503 (nothing is really there)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(503, json={"error": "recorded"})

    def hosts(self) -> set[str]:
        return {f"{r.url.host}:{r.url.port}" for r in self.requests}


def _app(tmp: Path, recorder: Recorder, **over: Any) -> Any:
    settings: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'residency.db'}", "register_webhooks": False,
        "log_level": "warning", "sweep_interval_s": 60, "crm": {"poll_interval_s": 0},
        "retry": {"attempts": 1, "wait_initial_s": 0, "wait_max_s": 0, "wait_jitter_s": 0},
        "auth": {"signing_key": "r" * 40},
    }
    for key, value in over.items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    return create_app(Settings(**settings), transport=recorder)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        token = client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": HARNESS_CLIENT_ID,
            "client_secret": HARNESS_CLIENT_SECRET}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _audit(client: TestClient, **params: str) -> list[dict[str, Any]]:
    r = client.get("/audit", params=params)
    assert r.status_code == 200, r.text
    return r.json()["entries"]  # type: ignore[no-any-return]


def test_eu_customer_is_refused_when_billing_is_us_hosted_and_nothing_is_sent(
        tmp_path: Path, recorder: Recorder) -> None:
    for client in _client(_app(tmp_path, recorder, billing={"region": "us"})):
        r = client.post("/customers", json=CUSTOMER)
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["title"] == "Data residency violation"
        assert (body["system"], body["endpoint_region"], body["data_region"]) == \
            ("billing", "us", "eu")
        assert recorder.requests == []  # not one byte of the customer left the layer
        refused = _audit(client, action="residency.refused")
        assert len(refused) == 1
        entry = refused[0]
        assert entry["client_id"] == HARNESS_CLIENT_ID and entry["outcome"] == "refused"
        assert entry["target"] == f"customer {CUSTOMER['crm_account_id']}"
        assert entry["correlation_id"] == r.headers["x-correlation-id"]
        assert "billing (us)" in entry["detail"]
        # the command itself is audited too, with the answer it got
        command = _audit(client, action="customer.onboard")
        assert [(c["status"], c["outcome"]) for c in command] == [(409, "refused")]
        # and the customer does not exist: nothing half-onboarded to clean up
        assert client.get(f"/customers/{CUSTOMER['crm_account_id']}").status_code == 404


def test_the_routed_erp_counts_too(tmp_path: Path, recorder: Recorder) -> None:
    # DE01 posts to the cloud ERP (default wave plan): a US-hosted cloud ERP is refused
    for client in _client(_app(tmp_path, recorder, cloud_erp={"region": "us"})):
        r = client.post("/customers", json=CUSTOMER)
        assert r.status_code == 409 and r.json()["system"] == "cloud_erp", r.text
        assert recorder.requests == []
        # a US customer of the US legal entity (legacy ERP) is not restricted
        us = {**CUSTOMER, "crm_account_id": "001RESIDENCY000002", "legal_entity": "US01",
              "country": "US", "currency": "USD", "name": "Acme Inc"}
        assert client.post("/customers", json=us).status_code != 409
        assert recorder.requests, "the allowed customer's onboarding calls its vendors"


def test_an_eu_legal_entity_makes_the_data_eu_whatever_the_country(
        tmp_path: Path, recorder: Recorder) -> None:
    us_customer_of_de01 = {**CUSTOMER, "country": "US", "currency": "USD"}
    for client in _client(_app(tmp_path, recorder, tax={"region": "us"})):
        r = client.post("/customers", json=us_customer_of_de01)
        assert r.status_code == 409 and r.json()["system"] == "tax", r.text
        assert recorder.requests == []


def test_allowed_when_every_endpoint_is_eu_hosted(tmp_path: Path,
                                                  recorder: Recorder) -> None:
    for client in _client(_app(tmp_path, recorder)):
        r = client.post("/customers", json=CUSTOMER)
        assert r.status_code == 502, r.text  # refused by nobody; the vendor (503) is down
        assert recorder.requests  # it went out: to the EU-hosted endpoints
        assert _audit(client, action="residency.refused") == []


def test_policy_can_be_switched_off(tmp_path: Path, recorder: Recorder) -> None:
    for client in _client(_app(tmp_path, recorder, billing={"region": "us"},
                               residency={"enforce": False})):
        assert client.post("/customers", json=CUSTOMER).status_code == 502
        assert recorder.requests


def test_a_wave_plan_routing_eu_data_to_a_non_eu_erp_is_refused(
        tmp_path: Path, recorder: Recorder) -> None:
    us_entry = {"legal_entity": "US01", "erp": "legacy_erp", "company_code": "1000",
                "effective_at": "2000-01-01T00:00:00Z"}
    for client in _client(_app(tmp_path, recorder, legacy_erp={"region": "us"})):
        before = client.get("/routing").json()
        move = {"entries": [us_entry, {"legal_entity": "DE01", "erp": "legacy_erp",
                                       "company_code": "1010",
                                       "effective_at": "2030-01-01T00:00:00Z"}]}
        r = client.put("/routing", json=move)
        assert r.status_code == 409, r.text
        assert r.json()["system"] == "legacy_erp" and "legal entity DE01" in r.json()["detail"]
        assert client.get("/routing").json() == before  # the plan is unchanged
        refused = _audit(client, action="residency.refused")
        assert [e["target"] for e in refused] == ["legal entity DE01"]
        change = _audit(client, action="routing.change")
        assert [(c["status"], c["outcome"]) for c in change] == [(409, "refused")]
        # the US legal entity may stay on the US-hosted legacy ERP, DE01 on the EU cloud ERP
        ok = {"entries": [us_entry, {"legal_entity": "DE01", "erp": "cloud_erp",
                                     "company_code": "1010",
                                     "effective_at": "2000-01-01T00:00:00Z"}]}
        assert client.put("/routing", json=ok).status_code == 200
        assert [c["outcome"] for c in _audit(client, action="routing.change")] == \
            ["refused", "ok"]


def test_policy_regions() -> None:
    policy = ResidencySettings()
    assert policy.region_of_country("de") == "eu" and policy.region_of_country("US") == "us"
    assert policy.region_of_legal_entity("FR01") == "eu"
    assert ResidencySettings(legal_entity_regions={"XX01": "eu"}).region_of_legal_entity(
        "XX01") == "eu"
    assert policy.allows("eu", "eu") and not policy.allows("eu", "us")
    assert policy.allows("us", "eu")  # no rule for US data
    assert policy.allows(None, "us")  # unknown country: no rule
