"""Flows under less friendly conditions: onboarding found by SOQL polling (no change events),
an ERP outage at month end (the invoice waits, then posts once) and a payment that arrives
before its invoice is posted (buffered, then applied)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from o2c_actors import Crm, billing_catalog, billing_client, pay_by_card
from o2c_landscape import Landscape, landscape, wait_for


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    with landscape(tmp_path_factory.mktemp("polled"),
                   crm={"poll_interval_s": 0.3, "subscribe_change_events": False},
                   retry={"timeout_s": 1.5, "attempts": 3}) as running:
        yield running


def _onboarded(scape: Landscape, account: str) -> dict[str, Any]:
    r = scape.layer.get(f"/customers/{account}")
    return r.json() if r.status_code == 200 and r.json()["status"] == "onboarded" else {}


def _open_cycle_invoice(scape: Landscape, customer: str) -> dict[str, Any] | None:
    invoices = billing_client(scape).v1.invoices.list(params={"customer": customer}).data
    return next((i for i in invoices if i.billing_reason == "subscription_cycle"
                 and i.status == "open"), None)


def test_outage_and_early_payment(polled: Landscape) -> None:
    scape = polled
    keys = billing_catalog(scape, "USD")
    account, _ = Crm(scape).close_won(
        name="Polled Widgets Inc", country="US", legal_entity="US01", city="Seattle",
        street="410 Terry Ave N", postal_code="98109", vat=None, currency="USD")
    customer = wait_for(lambda: _onboarded(scape, account), timeout=30,
                        message="onboarding by SOQL polling")
    assert customer["erp"] == "legacy_erp"

    def watermarked_polls() -> list[dict[str, Any]]:
        journal = scape.sim("crm").get("/_sim/journal", params={"limit": 500}).json()
        entries = journal["data"] if isinstance(journal, dict) else journal
        return [e for e in entries if e["path"].endswith("/query")
                and "LastModifiedDate" in e["query"]]

    polls = wait_for(watermarked_polls, message="a poll from the watermark")
    assert {p["status"] for p in polls} == {200}
    subs = scape.layer.post("/subscriptions", json={"customer_id": customer["id"],
                                                    "items": [{"plan": keys["plan"]}]})
    assert subs.status_code == 201, subs.text

    # the legacy ERP is down at month end
    down = scape.sim("legacy_erp").put("/_sim/faults", json={"seed": 3, "rules": [{
        "kind": "error", "route": "/soap/LegacyErp", "status": 503}]})
    assert down.status_code == 200, down.text
    sub = billing_client(scape).v1.subscriptions.retrieve(subs.json()["billing_subscription_id"])
    end = sub["items"]["data"][0]["current_period_end"]
    scape.sim("billing").post("/_sim/clock/advance", json={"to": end + 60})
    invoice = wait_for(lambda: _open_cycle_invoice(scape, customer["references"]["billing"]),
                       timeout=30, message="the held invoice to be finalized")
    wait_for(lambda: [e for e in scape.layer.get("/exceptions", params={
        "business_key": invoice.id}).json() if e["kind"] == "erp_posting_delayed"], timeout=30,
             message="the posting to wait for the ERP")

    # the customer pays before the posting: buffered
    psp = pay_by_card(scape, invoice_id=invoice.id, amount=invoice.total,
                      currency=invoice.currency.upper())
    payment = wait_for(lambda: scape.layer.get(f"/payments/{psp}").json()
                       if scape.layer.get(f"/payments/{psp}").status_code == 200 else None,
                       timeout=30, message="the payment to reach the layer")
    assert payment["status"] == "buffered"
    assert scape.layer.get(f"/invoices/{invoice.id}").json()["status"] == "finalized"

    # the ERP comes back: posted once, then the buffered payment is applied
    scape.sim("legacy_erp").delete("/_sim/faults")
    posted = scape.await_fact("legacy_erp", "invoice.posted", invoice.number, timeout=30)
    cleared = scape.await_fact("legacy_erp", "payment.cleared", invoice.number, timeout=30)
    assert posted["count"] == 1 and cleared["count"] == 1
    assert scape.await_fact("billing", "invoice.paid", invoice.id)["count"] == 1
    docs = scape.sim("legacy_erp").get("/_sim/legacy/documents", params={
        "external_reference": invoice.number}).json()
    assert len(docs["data"]) == 1 and docs["data"][0]["Status"] == "CLEARED"
    applied = wait_for(lambda: scape.layer.get(f"/payments/{psp}").json()["status"] ==
                       "applied", message="payment applied")
    assert applied
    assert not scape.layer.get("/exceptions", params={"business_key": invoice.id}).json()


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    # the legacy ERP books postings only in a one-minute nightly window and queues the rest
    window = {"start": "00:00", "end": "00:01", "tz": "UTC", "outside": "queue"}
    with landscape(tmp_path_factory.mktemp("nightly"),
                   sim_config={"legacy_erp": {"batch_window": window}}) as running:
        yield running


def test_posting_queued_outside_the_batch_window(nightly: Landscape) -> None:
    scape = nightly
    keys = billing_catalog(scape, "EUR")
    r = scape.layer.post("/customers", json={
        "crm_account_id": "001NIGHTLY00000AAA", "name": "Nachtschicht SARL",
        "legal_entity": "FR01", "country": "FR", "currency": "EUR",
        "address": {"line1": "10 Rue de Rivoli", "city": "Paris", "postal_code": "75001",
                    "country": "FR"}})
    assert r.status_code == 201, r.text
    customer = r.json()
    assert customer["erp"] == "legacy_erp"
    subs = scape.layer.post("/subscriptions", json={"customer_id": customer["id"],
                                                    "items": [{"plan": keys["plan"]}]})
    assert subs.status_code == 201, subs.text
    first = billing_client(scape).v1.invoices.list(params={
        "customer": customer["references"]["billing"]}).data[0]
    queued = wait_for(lambda: [e for e in scape.sim("legacy_erp").get(
        "/_sim/legacy/queue").json()["data"] if e["request"]["ExternalReference"] ==
        first.number], timeout=30, message="the posting to be queued")
    assert len(queued) == 1
    wait_for(lambda: scape.layer.get(f"/invoices/{first.id}").json()["hold_reasons"] ==
             ["erp_queued"], message="the layer to know it is queued")

    # the window opens: the ERP books the queue; the layer learns the document number
    now = scape.sim("legacy_erp").get("/_sim/clock").json()["now"]
    midnight = (int(now) // 86400 + 1) * 86400
    scape.sim("legacy_erp").post("/_sim/clock/advance", json={"to": midnight + 10})
    posted = scape.await_fact("legacy_erp", "invoice.posted", first.number, timeout=30)
    invoice = wait_for(lambda: (lambda i: i if i["status"] == "posted" else None)(
        scape.layer.get(f"/invoices/{first.id}").json()), timeout=30,
        message="the layer to record the booked posting")
    assert invoice["erp_document"] == posted["data"]["DocumentNumber"]
    docs = scape.sim("legacy_erp").get("/_sim/legacy/documents", params={
        "external_reference": first.number}).json()
    assert len(docs["data"]) == 1  # queued once, booked once, never re-posted
