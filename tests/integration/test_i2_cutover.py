"""Migration cut-over rules (issue 8), on the running landscape:

- an invoice is posted to the ERP that owns its legal entity when billing FINALIZES it (its
  ``finalized_at``), whatever owned it when it was drafted: a cycle invoice drafted and held
  before the wave switch, finalized after it, posts to the new ERP only;
- a receivable posted to the legacy ERP stays there: its payment is cleared in the legacy ERP
  even after the legal entity moved to the cloud ERP (open items are not migrated by the
  layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from o2c_actors import billing_catalog, billing_client, pay_by_card
from o2c_landscape import Landscape, landscape, wait_for


@pytest.fixture(scope="module")
def scape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landscape]:
    with landscape(tmp_path_factory.mktemp("cutover")) as running:
        yield running


ADDRESSES = {
    "US01": ("US", "USD", {"line1": "410 Terry Ave N", "city": "Seattle",
                           "postal_code": "98109", "country": "US"}),
    "FR01": ("FR", "EUR", {"line1": "8 Rue de Rivoli", "city": "Paris", "postal_code": "75004",
                           "country": "FR"}),
}


def _customer(scape: Landscape, entity: str, name: str) -> dict[str, Any]:
    country, currency, address = ADDRESSES[entity]
    r = scape.layer.post("/customers", headers={"Idempotency-Key": f"cut-{entity}"}, json={
        "crm_account_id": f"001CUT{entity}00000000", "name": name, "legal_entity": entity,
        "country": country, "currency": currency, "address": address})
    assert r.status_code == 201, r.text
    assert r.json()["erp"] == "legacy_erp"
    return r.json()  # type: ignore[no-any-return]


def _subscribe(scape: Landscape, customer: dict[str, Any], currency: str) -> tuple[str, Any]:
    """A subscription; returns its billing id and its first invoice once the layer posted it."""
    keys = billing_catalog(scape, currency)
    subs = scape.layer.post("/subscriptions", json={"customer_id": customer["id"],
                                                    "items": [{"plan": keys["plan"]}]})
    assert subs.status_code == 201, subs.text
    first = wait_for(lambda: next(iter(billing_client(scape).v1.invoices.list(params={
        "customer": customer["references"]["billing"]}).data), None), timeout=30,
        message="the subscription's first invoice")
    _posted(scape, first.id)
    return subs.json()["billing_subscription_id"], first


def _posted(scape: Landscape, invoice_id: str, timeout: float = 40) -> dict[str, Any]:
    def posted() -> dict[str, Any] | None:
        view = scape.layer.get(f"/invoices/{invoice_id}")
        return view.json() if view.status_code == 200 and view.json()["status"] in (
            "posted", "paid") else None
    return wait_for(posted, timeout=timeout, message=f"invoice {invoice_id} posted")  # type: ignore[no-any-return]


def _switch(scape: Landscape, entity: str, erp: str, company_code: str, at: datetime) -> None:
    plan = scape.layer.get("/routing").json()
    entries = [{k: e[k] for k in ("legal_entity", "erp", "company_code", "effective_at")}
               for e in plan]
    entries.append({"legal_entity": entity, "erp": erp, "company_code": company_code,
                    "effective_at": at.isoformat().replace("+00:00", "Z")})
    r = scape.layer.put("/routing", json={"entries": entries})
    assert r.status_code == 200, r.text


def _legacy_documents(scape: Landscape, number: str) -> list[dict[str, Any]]:
    return scape.sim("legacy_erp").get("/_sim/legacy/documents", params={  # type: ignore[no-any-return]
        "external_reference": number}).json()["data"]


def _no_fact(scape: Landscape, system: str, kind: str, key: str) -> bool:
    late = scape.sim(system).get("/_sim/await", params={"kind": kind, "key": key,
                                                        "timeout": 1}, timeout=10).json()
    return not late["matched"]


def test_invoice_drafted_before_the_switch_posts_where_it_is_finalized(scape: Landscape) -> None:
    customer = _customer(scape, "US01", "Cutover Widgets Inc")
    subscription, first = _subscribe(scape, customer, "USD")
    assert _posted(scape, first.id)["erp"] == "legacy_erp"

    # the tax engine is down at month end: the cycle invoice is drafted and held in billing
    down = scape.sim("tax").put("/_sim/faults", json={"seed": 5, "rules": [{
        "kind": "error", "route": "*", "status": 503}]})
    assert down.status_code == 200, down.text
    try:
        sub = billing_client(scape).v1.subscriptions.retrieve(subscription)
        end = sub["items"]["data"][0]["current_period_end"]
        scape.sim("billing").post("/_sim/clock/advance", json={"to": end + 60})
        draft = wait_for(lambda: next((i for i in billing_client(scape).v1.invoices.list(
            params={"customer": customer["references"]["billing"]}).data
            if i.billing_reason == "subscription_cycle"), None), timeout=30,
            message="the cycle invoice drafted")
        held = wait_for(lambda: (lambda v: v if v.get("status") == "held" and any(
            e["kind"] == "tax_determination_failed" for e in scape.layer.get(
                "/exceptions", params={"business_key": draft.id}).json()) else None)(
            scape.layer.get(f"/invoices/{draft.id}").json()), timeout=40,
            message="the cycle invoice held, waiting for tax")
        assert held["erp"] is None
        assert billing_client(scape).v1.invoices.retrieve(draft.id).status == "draft"

        # the wave switch: US01 moves to S/4HANA one second (billing time) after the draft
        switch_at = datetime.fromtimestamp(draft.created + 1, UTC)
        _switch(scape, "US01", "cloud_erp", "1710", switch_at)
        # billing's clock moves past the switch before the invoice can be finalized
        scape.sim("billing").post("/_sim/clock/advance", json={"seconds": 120})
    finally:
        scape.sim("tax").delete("/_sim/faults")

    posted = _posted(scape, draft.id)
    assert datetime.fromisoformat(posted["billing_finalized_at"]) > switch_at
    assert (posted["erp"], posted["company_code"]) == ("cloud_erp", "1710")
    assert scape.await_fact("cloud_erp", "invoice.posted", posted["number"])["count"] == 1
    assert _legacy_documents(scape, posted["number"]) == []  # never in the old ERP
    assert _no_fact(scape, "legacy_erp", "invoice.posted", posted["number"])
    # the invoice posted before the switch stays where it was posted
    before = scape.layer.get(f"/invoices/{first.id}").json()
    assert (before["erp"], before["company_code"]) == ("legacy_erp", "1000")
    assert len(_legacy_documents(scape, before["number"])) == 1
    # the customer now exists in the new company code as well
    references = scape.layer.get(f"/customers/{customer['id']}").json()["references"]
    assert "cloud_erp:1710" in references and "legacy_erp:1000" in references


def test_payment_of_a_legacy_receivable_clears_in_legacy_after_the_switch(
        scape: Landscape) -> None:
    customer = _customer(scape, "FR01", "Bascule SARL")
    _, first = _subscribe(scape, customer, "EUR")
    invoice = _posted(scape, first.id)
    assert (invoice["erp"], invoice["company_code"]) == ("legacy_erp", "3000")
    [document] = _legacy_documents(scape, invoice["number"])
    assert document["Status"] == "OPEN"

    # FR01 moves to S/4HANA now; the open receivable is not migrated: it stays in legacy
    _switch(scape, "FR01", "cloud_erp", "1210", datetime.now(UTC))
    route = [e for e in scape.layer.get("/routing").json() if e["legal_entity"] == "FR01"]
    assert route[-1]["erp"] == "cloud_erp"

    psp = pay_by_card(scape, invoice_id=first.id, amount=invoice["gross_amount"],
                      currency=invoice["currency"])
    applied = wait_for(lambda: (lambda r: r.json() if r.status_code == 200 and
                                r.json()["status"] == "applied" else None)(
        scape.layer.get(f"/payments/{psp}")), timeout=40, message="the payment applied")
    assert applied["erp_clearing_document"]
    assert scape.await_fact("legacy_erp", "payment.cleared", invoice["number"])["count"] == 1
    assert _no_fact(scape, "cloud_erp", "payment.cleared", invoice["number"])
    [document] = _legacy_documents(scape, invoice["number"])
    assert document["Status"] == "CLEARED"
    assert scape.layer.get(f"/invoices/{first.id}").json()["status"] == "paid"
    steps = [(s["step"], s["system"]) for s in scape.layer.get(
        f"/timeline/{customer['id']}").json()["steps"]]
    assert ("erp.payment_cleared", "legacy_erp") in steps
