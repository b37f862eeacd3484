"""Dead letters end to end (issue 8): the cloud ERP rejects a posting for good → the invoice
is in the DLQ with reason, payload and correlation id → the data is fixed → a bulk replay
posts it exactly once, audited with who replayed it; a second rejected invoice is compensated
(voided in billing) and the timeline shows it; a 429 storm on the ERP fails nothing. Each on
SQLite and on PostgreSQL (a fresh schema; skipped with the reason when 5432 does not
answer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from o2c_actors import billing_catalog, billing_client
from o2c_landscape import Landscape, landscape, wait_for
from o2c_postgres import POSTGRES_SKIP, postgres_schema

JOURNAL = "*/API_O2C_JOURNALENTRY_SRV/A_JournalEntry"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scape(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    """The landscape with the layer on SQLite, and on a fresh PostgreSQL schema."""
    with postgres_schema() if request.param == "postgresql" else nullcontext(None) as pg:
        if request.param == "postgresql" and pg is None:
            pytest.skip(POSTGRES_SKIP)
        with landscape(tmp_path_factory.mktemp("dlq"), database_url=pg) as running:
            database = running.layer.get("/health").json()["database"]
            assert database == request.param
            yield running


def _customer(scape: Landscape, n: int) -> dict[str, Any]:
    r = scape.layer.post("/customers", headers={"Idempotency-Key": f"dlq-{n}"}, json={
        "crm_account_id": f"001DLQ{n:012d}", "name": f"Ablehnung {n} GmbH",
        "legal_entity": "DE01", "country": "DE", "currency": "EUR",
        "address": {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117",
                    "country": "DE"}})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _first_invoice(scape: Landscape, customer: dict[str, Any], plan: str) -> Any:
    subs = scape.layer.post("/subscriptions", json={"customer_id": customer["id"],
                                                    "items": [{"plan": plan}]})
    assert subs.status_code == 201, subs.text
    return wait_for(lambda: next(iter(billing_client(scape).v1.invoices.list(params={
        "customer": customer["references"]["billing"]}).data), None), timeout=30,
        message="the subscription's first invoice")


def _letter(scape: Landscape, invoice_id: str) -> dict[str, Any] | None:
    letters = scape.layer.get("/dlq", params={"business_key": invoice_id}).json()
    return letters[0] if letters else None


def _reject_postings(scape: Landscape) -> None:
    r = scape.sim("cloud_erp").put("/_sim/faults", json={"seed": 1, "rules": [{
        "kind": "error", "route": JOURNAL, "methods": ["POST"], "status": 400}]})
    assert r.status_code == 200, r.text


def test_rejected_posting_dead_lettered_fixed_replayed_once(scape: Landscape) -> None:
    keys = billing_catalog(scape, "EUR")
    customer = _customer(scape, 1)
    _reject_postings(scape)
    invoice = _first_invoice(scape, customer, keys["plan"])
    letter = wait_for(lambda: _letter(scape, invoice.id), timeout=40,
                      message="the rejected posting in the DLQ")
    assert letter["reason"] == "erp_posting_rejected" and letter["system"] == "cloud_erp"
    assert letter["operation"] == "erp.post_invoice" and letter["status"] == "open"
    assert letter["correlation_id"] == customer["correlation_id"]
    assert letter["payload"]["billing_invoice_id"] == invoice.id
    assert letter["payload"]["company_code"] == "1010"
    exceptions = scape.layer.get("/exceptions", params={"business_key": invoice.id}).json()
    assert [e["kind"] for e in exceptions] == ["erp_posting_rejected"]
    # not retried unchanged: the sweep leaves a permanent rejection alone
    assert scape.layer.get(f"/invoices/{invoice.id}").json()["status"] == "finalized"

    scape.sim("cloud_erp").delete("/_sim/faults")  # the data is fixed
    r = scape.layer.post("/dlq/replay", params={"reason": "erp_posting_rejected"},
                         headers={"X-Actor": "ar-clerk@o2c.test"})
    assert r.status_code == 200, r.text
    replayed = {d["id"]: d for d in r.json()}[letter["id"]]
    assert replayed["status"] == "replayed"
    assert [(a["action"], a["actor"], a["outcome"]) for a in replayed["audit"]] == [
        ("replay", "ar-clerk@o2c.test", "replayed")]
    number = scape.layer.get(f"/invoices/{invoice.id}").json()["number"]
    assert scape.await_fact("cloud_erp", "invoice.posted", number)["count"] == 1
    assert scape.layer.get(f"/invoices/{invoice.id}").json()["status"] == "posted"
    assert not scape.layer.get("/exceptions", params={"business_key": invoice.id}).json()
    again = scape.layer.post(f"/dlq/{letter['id']}/replay", json={"actor": "someone"})
    assert again.status_code == 409  # replayed already: never posted twice
    steps = [s["step"] for s in scape.layer.get(f"/timeline/{invoice.id}").json()["steps"]]
    assert "dlq.filed" in steps and "dlq.replay_replayed" in steps


def test_rejected_for_good_is_compensated_in_billing(scape: Landscape) -> None:
    keys = billing_catalog(scape, "EUR")
    customer = _customer(scape, 2)
    _reject_postings(scape)
    try:
        invoice = _first_invoice(scape, customer, keys["plan"])
        letter = wait_for(lambda: _letter(scape, invoice.id), timeout=40,
                          message="the rejected posting in the DLQ")
    finally:
        scape.sim("cloud_erp").delete("/_sim/faults")
    r = scape.layer.post(f"/dlq/{letter['id']}/compensate",
                         headers={"X-Actor": "controller@o2c.test"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "compensated"
    billed = billing_client(scape).v1.invoices.retrieve(invoice.id)
    if invoice.status == "open":
        assert billed.status == "void"
    assert scape.layer.get(f"/invoices/{invoice.id}").json()["status"] == "void"
    steps = [s["step"] for s in scape.layer.get(
        f"/timeline/{customer['id']}").json()["steps"]]
    assert {"billing.invoice_voided", "billing.credit_note_created"} & set(steps)
    assert not scape.layer.get("/exceptions", params={"business_key": invoice.id}).json()
    # compensated, so never posted afterwards, even by the sweep
    number = scape.layer.get(f"/invoices/{invoice.id}").json()["number"]
    late = scape.sim("cloud_erp").get("/_sim/await", params={
        "kind": "invoice.posted", "key": number, "timeout": 1}, timeout=10).json()
    assert not late["matched"], (number, late)


def test_rate_limit_storm_fails_nothing(scape: Landscape, request: pytest.FixtureRequest) -> None:
    """A 429 storm on the cloud ERP during a run (60 % of its requests, Retry-After on each):
    every invoice is posted once, none dead-lettered, and every retry of a refused request
    came no sooner than its Retry-After said (the S/4 simulator sends whole seconds, >= 1)."""
    if request.node.callspec.params["scape"] == "postgresql":
        pytest.skip("the storm exercises the retry policy, not the database: SQLite only")
    keys = billing_catalog(scape, "EUR")
    customers = [_customer(scape, n) for n in (3, 4)]  # onboarded before the storm
    since = scape.sim("cloud_erp").get("/_sim/clock").json()["now"]
    r = scape.sim("cloud_erp").put("/_sim/faults", json={"seed": 7, "rules": [{
        "kind": "rate_limit", "route": "*", "probability": 0.6, "status": 429,
        "retry_after_s": 0.1}]})
    assert r.status_code == 200, r.text
    try:
        invoices = [_first_invoice(scape, c, keys["plan"]) for c in customers]
        for invoice in invoices:
            posted = wait_for(lambda i=invoice: (lambda v: v if v["status"] == "posted"
                              else None)(scape.layer.get(f"/invoices/{i.id}").json()),
                              timeout=60, message="posted through the 429 storm")
            assert scape.await_fact("cloud_erp", "invoice.posted",
                                    posted["number"])["count"] == 1
            assert not scape.layer.get("/dlq", params={"business_key": invoice.id}).json()
    finally:
        scape.sim("cloud_erp").delete("/_sim/faults")
    metrics = scape.layer.get("/metrics").text
    retried = [line for line in metrics.splitlines()
               if line.startswith('o2c_outbound_retries_total{system="cloud_erp"}')]
    assert retried and float(retried[0].split()[-1]) > 0  # the storm was met, and waited out
    journal = scape.sim("cloud_erp").get("/_sim/journal", params={"limit": 5000}).json()
    entries = sorted((e for e in (journal["data"] if isinstance(journal, dict) else journal)
                      if e["at"] >= since), key=lambda e: e["at"])
    refused = [e for e in entries if e["status"] == 429]
    assert refused, "the storm refused nothing"
    waited = []
    for e in refused:  # the retry: the next same request of the same flow
        retry = next((n for n in entries if n["at"] > e["at"] and n["method"] == e["method"]
                      and n["path"] == e["path"] and n["query"] == e["query"]
                      and n["correlation_id"] == e["correlation_id"]), None)
        if retry is not None:
            waited.append(retry["at"] - e["at"])
    assert waited and min(waited) >= 0.95, sorted(waited)[:5]  # Retry-After: 1 honoured
