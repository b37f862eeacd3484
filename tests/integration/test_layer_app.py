"""The app without the landscape: correlation, JSON logs, routing (wave plan), idempotency
and validation of the domain API, the OpenAPI contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from o2c_landscape import layer_auth

from integration import Settings, create_app
from integration.correlation import bound, current_id, start
from integration.observability import configure_logging
from integration.openapi import DEFAULT_PATH, render, spec

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        register_webhooks=False, log_level="warning",
                        crm={"poll_interval_s": 0}, sweep_interval_s=60)
    with TestClient(create_app(settings)) as test_client:
        test_client.auth = layer_auth(str(test_client.base_url))  # the harness' test client
        yield test_client


def test_committed_openapi_matches_the_code() -> None:
    assert DEFAULT_PATH.read_text(encoding="utf-8") == render(spec()), (
        "contracts/openapi/integration.json drifted: run `python -m integration.openapi`")


def test_correlation_id_is_echoed_or_created(client: TestClient) -> None:
    given = client.get("/health", headers={"X-Correlation-ID": "order-42", "traceparent": TRACE})
    assert given.status_code == 200
    assert given.headers["x-correlation-id"] == "order-42"
    fresh = client.get("/health")
    assert len(fresh.headers["x-correlation-id"]) == 36
    bad = client.get("/health", headers={"X-Correlation-ID": "no spaces allowed"})
    assert bad.headers["x-correlation-id"] != "no spaces allowed"


def test_traceparent_continues_the_trace() -> None:
    trace = start("c-1", TRACE)
    assert trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    outbound = trace.headers()
    assert outbound["X-Correlation-ID"] == "c-1"
    version, trace_id, span, flags = outbound["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", trace.trace_id, "01")
    assert span != "00f067aa0ba902b7"  # a new span for the outbound hop
    assert start(None, "00-" + "0" * 32 + "-00f067aa0ba902b7-01").trace_id != "0" * 32


def test_every_log_line_is_json_with_the_correlation_id(capsys: pytest.CaptureFixture[str]) \
        -> None:
    configure_logging("info")
    with bound("flow-7"):
        structlog.get_logger("t").info("invoice posted", invoice="in_1")
        assert current_id() == "flow-7"
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["correlation_id"] == "flow-7"
    assert line["event"] == "invoice posted" and line["level"] == "info"


def test_wave_plan_routing(client: TestClient) -> None:
    plan = client.get("/routing").json()
    assert {"legal_entity": "DE01", "erp": "cloud_erp", "company_code": "1010"}.items() <= \
        next(e for e in plan if e["legal_entity"] == "DE01").items()
    new = {"entries": [
        {"legal_entity": "FR01", "erp": "legacy_erp", "company_code": "3000",
         "effective_at": "2020-01-01T00:00:00Z"},
        {"legal_entity": "FR01", "erp": "cloud_erp", "company_code": "1210",
         "effective_at": "2027-01-01T00:00:00Z"}]}
    r = client.put("/routing", json=new)
    assert r.status_code == 200, r.text
    assert [(e["erp"], e["company_code"]) for e in r.json()] == [
        ("legacy_erp", "3000"), ("cloud_erp", "1210")]
    bad = client.put("/routing", json={"entries": [{"legal_entity": "FR01", "erp": "sap_r3",
                                                     "company_code": "3000"}]})
    assert bad.status_code == 422
    # two routes for one legal entity at one instant (found by fuzzing: a 500 from the
    # database's unique constraint): refused, and the plan in force is untouched
    twice = {"entries": [new["entries"][0], {**new["entries"][0], "erp": "cloud_erp",
                                             "company_code": "1210"}]}
    r = client.put("/routing", json=twice)
    assert r.status_code == 422, r.text
    assert "one route per legal entity and instant" in r.json()["detail"]
    assert [(e["erp"], e["company_code"]) for e in client.get("/routing").json()
            if e["legal_entity"] == "FR01"] == [("legacy_erp", "3000"), ("cloud_erp", "1210")]


def test_route_follows_the_effective_date(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from integration.db import Database
    from integration.routing import RoutingError, replace_wave_plan, route
    from integration.settings import WavePlanEntry

    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    db.migrate()
    with db.session() as s:
        replace_wave_plan(s, [
            WavePlanEntry(legal_entity="FR01", erp="legacy_erp", company_code="3000"),
            WavePlanEntry(legal_entity="FR01", erp="cloud_erp", company_code="1210",
                          effective_at=datetime(2027, 1, 1, tzinfo=UTC))])
    with db.session() as s:
        assert route(s, "FR01", datetime(2026, 12, 31, 23, 59, tzinfo=UTC)).erp == "legacy_erp"
        assert route(s, "FR01", datetime(2027, 1, 1, tzinfo=UTC)).company_code == "1210"
        with pytest.raises(RoutingError):
            route(s, "XX01", datetime(2027, 1, 1, tzinfo=UTC))
    db.dispose()


def test_domain_api_validates_and_reports_unknowns(client: TestClient) -> None:
    assert client.post("/customers", json={"name": "no anchor"}).status_code == 422
    assert client.get("/customers/cus_unknown").status_code == 404
    assert client.get("/invoices/in_unknown").status_code == 404
    assert client.get("/payments/psp_unknown").status_code == 404
    r = client.post("/subscriptions", json={"customer_id": "cus_x", "items": [{"plan": "p"}]})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/timeline/nothing").json() == {"business_key": "nothing",
                                                      "correlation_ids": [], "steps": []}
    unroutable = client.post("/customers", json={
        "crm_account_id": "001X", "name": "Nowhere Ltd", "legal_entity": "ZZ99",
        "country": "DE", "currency": "EUR"})
    assert unroutable.status_code == 409 and "ZZ99" in unroutable.json()["detail"]
    assert client.get("/customers/001X").status_code == 404  # nothing half-created
    assert client.get("/exceptions").json() == []
    assert "o2c_webhooks_total" in client.get("/metrics").text


def test_webhooks_with_bad_signatures_are_refused(client: TestClient) -> None:
    assert client.post("/webhooks/stripe", content=b"{}", headers={
        "Stripe-Signature": "t=1,v1=00"}).status_code == 401
    assert client.post("/webhooks/adyen", json={"live": "false", "notificationItems": [
        {"NotificationRequestItem": {"pspReference": "X", "eventCode": "AUTHORISATION",
                                     "success": "true", "amount": {"value": 1,
                                                                   "currency": "EUR"},
                                     "additionalData": {"hmacSignature": "bad"}}}]}
    ).status_code == 401
    assert client.post("/webhooks/salesforce", content=b"{}", headers={
        "X-Sfdc-Signature": "bad"}).status_code == 401


def test_every_error_is_a_documented_problem(client: TestClient) -> None:
    invalid = client.post("/usage", json={})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert {"title", "status", "detail", "errors"} <= invalid.json().keys()
    # Starlette's 405 lists the first matching route's methods; the resource has two
    assert client.options("/routing").headers["allow"] == "GET, PUT"
    garbled = client.put("/routing", content=b"\xff", headers={"content-type": "application/json"})
    assert garbled.status_code == 400 and garbled.json()["status"] == 400
    # ids bounded to what the database stores (no OverflowError, no 500)
    assert client.post(f"/dlq/{2**70}/replay").status_code == 422
    assert client.put("/routing", json={"entries": [{
        "legal_entity": "FR01", "erp": "cloud_erp", "company_code": "1210",
        "effective_at": 0}]}).status_code == 422
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if code[0] in "45" and path == "/oauth/token":  # RFC 6749 §5.2 errors
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith(
                        "/OAuthErrorOut"), (method, path)
                elif code[0] in "45":
                    assert "application/problem+json" in response["content"], (method, path)
