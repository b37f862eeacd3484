"""Permanent failures of every flow reach the DLQ with the reason, the payload and the
correlation id, are not retried unchanged, and are replayed once the data is fixed (issue 8):
an ERP customer the cloud ERP refuses (onboarding), a payment clearing the ERP refuses
(payments). Posting rejections are in test_reliability_dlq.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from o2c_actors import billing_catalog, billing_client, pay_by_card
from o2c_landscape import Landscape, landscape, wait_for

from integration.adapters.http import TransientError, VendorError
from integration.retry_policy import PERMANENT_KINDS, failure_kind

BP = "*/API_BUSINESS_PARTNER/A_BusinessPartner"
PAYMENTS = "*/API_O2C_INCOMINGPAYMENT_SRV/A_IncomingPayment"


@pytest.fixture(scope="module")
def scape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    with landscape(tmp_path_factory.mktemp("dlqflows")) as running:
        yield running


def test_failures_are_classified_per_flow() -> None:
    assert failure_kind(VendorError("cloud_erp", 400, "F2/001", "bad"), "a_failed",
                        "a_rejected") == "a_rejected"
    assert failure_kind(VendorError("cloud_erp", 503, "down", "later"), "a_failed",
                        "a_rejected") == "a_failed"
    assert failure_kind(TransientError("tax", "timeout"), "a_failed", "a_rejected") == \
        "a_failed"
    assert {PERMANENT_KINDS[k] for k in ("tax_address_rejected", "billing_customer_rejected",
                                         "erp_customer_rejected")} == {"customer.onboard"}
    assert PERMANENT_KINDS["payment_rejected"] == "payment.apply"


def _refuse(scape: Landscape, route: str) -> None:
    r = scape.sim("cloud_erp").put("/_sim/faults", json={"seed": 1, "rules": [{
        "kind": "error", "route": route, "methods": ["POST"], "status": 400}]})
    assert r.status_code == 200, r.text


def _posts(scape: Landscape, suffix: str) -> list[dict[str, Any]]:
    journal = scape.sim("cloud_erp").get("/_sim/journal", params={"limit": 5000}).json()
    entries = journal["data"] if isinstance(journal, dict) else journal
    return [e for e in entries if e["method"] == "POST" and e["path"].endswith(suffix)]


def _a_while(scape: Landscape) -> None:
    """Give the layer's sweep (every 0.25 s) a few passes: a 1 s long poll on a fact that
    never comes."""
    late = scape.sim("cloud_erp").get("/_sim/await", params={
        "kind": "never.happens", "key": "x", "timeout": 1}, timeout=10).json()
    assert not late["matched"]


def _letter(scape: Landscape, key: str) -> dict[str, Any] | None:
    letters = scape.layer.get("/dlq", params={"business_key": key}).json()
    return letters[0] if letters else None


def _customer_body(n: int) -> dict[str, Any]:
    return {"crm_account_id": f"001DLQF{n:011d}", "name": f"Flow Reject {n} GmbH",
            "legal_entity": "DE01", "country": "DE", "currency": "EUR",
            "address": {"line1": "Unter den Linden 1", "city": "Berlin",
                        "postal_code": "10117", "country": "DE"}}


def test_erp_customer_refused_for_good_is_dead_lettered_and_replayed(scape: Landscape) -> None:
    body = _customer_body(1)
    _refuse(scape, BP)
    try:
        r = scape.layer.post("/customers", headers={"Idempotency-Key": "dlqf-1"}, json=body)
        assert r.status_code == 409, r.text  # refused by the ERP: nothing to retry as is
        customer = scape.layer.get(f"/customers/{body['crm_account_id']}").json()
        assert customer["status"] != "onboarded"
        letter = wait_for(lambda: _letter(scape, customer["id"]), timeout=20,
                          message="the refused ERP customer in the DLQ")
        assert (letter["reason"], letter["operation"], letter["system"], letter["status"]) == (
            "erp_customer_rejected", "customer.onboard", "cloud_erp", "open")
        assert letter["correlation_id"] == customer["correlation_id"]
        assert letter["payload"]["crm_account_id"] == body["crm_account_id"]
        assert letter["payload"]["legal_entity"] == "DE01"
        refused = len(_posts(scape, "/A_BusinessPartner"))
        _a_while(scape)  # not retried unchanged by the sweep
        assert len(_posts(scape, "/A_BusinessPartner")) == refused
    finally:
        scape.sim("cloud_erp").delete("/_sim/faults")  # the data is fixed

    r = scape.layer.post(f"/dlq/{letter['id']}/replay",
                         headers={"X-Actor": "md-steward@o2c.test"})
    assert r.status_code == 200, r.text
    replayed = r.json()
    assert replayed["status"] == "replayed"
    assert [(a["action"], a["actor"], a["outcome"]) for a in replayed["audit"]] == [
        ("replay", "md-steward@o2c.test", "replayed")]
    customer = scape.layer.get(f"/customers/{customer['id']}").json()
    assert customer["status"] == "onboarded" and customer["erp"] == "cloud_erp"
    assert "cloud_erp:1010" in customer["references"]
    created = [e for e in _posts(scape, "/A_BusinessPartner") if e["status"] == 201]
    assert len(created) == 1  # one business partner, after the replay
    events = scape.layer.get("/events", params={"business_key": customer["id"],
                                                "type": "customer.onboarded"}).json()
    assert len(events) == 1
    assert not [e for e in scape.layer.get("/exceptions", params={
        "business_key": customer["id"]}).json() if e["kind"] == "erp_customer_rejected"]
    assert scape.layer.post(f"/dlq/{letter['id']}/replay").status_code == 409


def test_payment_clearing_refused_for_good_is_dead_lettered_and_replayed(
        scape: Landscape) -> None:
    keys = billing_catalog(scape, "EUR")
    r = scape.layer.post("/customers", headers={"Idempotency-Key": "dlqf-2"},
                         json=_customer_body(2))
    assert r.status_code == 201, r.text
    customer = r.json()
    subs = scape.layer.post("/subscriptions", json={"customer_id": customer["id"],
                                                    "items": [{"plan": keys["plan"]}]})
    assert subs.status_code == 201, subs.text
    invoice = wait_for(lambda: next(iter(billing_client(scape).v1.invoices.list(params={
        "customer": customer["references"]["billing"]}).data), None), timeout=30,
        message="the first invoice")
    view = wait_for(lambda: (lambda v: v if v["status"] == "posted" else None)(
        scape.layer.get(f"/invoices/{invoice.id}").json()), timeout=40,
        message="the first invoice posted")

    _refuse(scape, PAYMENTS)
    try:
        psp = pay_by_card(scape, invoice_id=invoice.id, amount=view["gross_amount"],
                          currency=view["currency"])
        letter = wait_for(lambda: _letter(scape, invoice.id), timeout=30,
                          message="the refused payment clearing in the DLQ")
        assert (letter["reason"], letter["operation"], letter["system"]) == (
            "payment_rejected", "payment.apply", "cloud_erp")
        assert letter["correlation_id"] == customer["correlation_id"]
        [payment] = letter["payload"]["payments"]
        assert payment["psp_reference"] == psp and payment["status"] != "applied"
        refused = len(_posts(scape, "/A_IncomingPayment"))
        _a_while(scape)  # not retried unchanged
        assert len(_posts(scape, "/A_IncomingPayment")) == refused
        assert scape.layer.get(f"/payments/{psp}").json()["status"] != "applied"
    finally:
        scape.sim("cloud_erp").delete("/_sim/faults")

    r = scape.layer.post("/dlq/replay", params={"reason": "payment_rejected"},
                         headers={"X-Actor": "ar-clerk@o2c.test"})
    assert r.status_code == 200, r.text
    assert {d["id"]: d["status"] for d in r.json()}[letter["id"]] == "replayed"
    assert scape.layer.get(f"/payments/{psp}").json()["status"] == "applied"
    assert scape.await_fact("cloud_erp", "payment.cleared", view["number"][:16])["count"] == 1
    assert scape.await_fact("billing", "invoice.paid", invoice.id)["count"] == 1
    assert scape.layer.get(f"/invoices/{invoice.id}").json()["status"] == "paid"


def test_a_retried_subscription_request_replays_in_billing(scape: Landscape) -> None:
    """The first POST /subscriptions fails after billing created the subscription (billing
    refuses the follow-up update); the client's retry with the same Idempotency-Key sends
    billing the same parameters (same canonical id), so billing replays instead of refusing
    the key (found by B1's bench under load)."""
    keys = billing_catalog(scape, "EUR")
    r = scape.layer.post("/customers", headers={"Idempotency-Key": "dlqf-3"},
                         json=_customer_body(3))
    assert r.status_code == 201, r.text
    customer = r.json()
    body = {"customer_id": customer["id"], "items": [{"plan": keys["plan"]}]}
    broken = scape.sim("billing").put("/_sim/faults", json={"seed": 1, "rules": [{
        "kind": "error", "route": "/v1/subscriptions/*", "methods": ["POST"],
        "status": 500}]})
    assert broken.status_code == 200, broken.text
    try:
        first = scape.layer.post("/subscriptions", headers={"Idempotency-Key": "sub-retry-1"},
                                 json=body)
        assert first.status_code >= 500, first.text
    finally:
        scape.sim("billing").delete("/_sim/faults")
    again = scape.layer.post("/subscriptions", headers={"Idempotency-Key": "sub-retry-1"},
                             json=body)
    assert again.status_code == 201, again.text
    subscriptions = billing_client(scape).v1.subscriptions.list(params={
        "customer": customer["references"]["billing"]}).data
    assert [s.id for s in subscriptions] == [again.json()["billing_subscription_id"]]
