"""The oracle is proven able to fail: a hand-written integration drives the simulators
directly — once correctly (no breach), then with each classic integration bug — and the
oracle must name the broken business key in the right check."""

from __future__ import annotations

from decimal import Decimal

from oracle_hand_layer import EXPECT, HandLayer, Sims, read_state

from harness.oracle import Reconciliation, reconcile


def breaches(result: Reconciliation, check: str) -> list[str]:
    return [f"{b.key}: {b.message}" for b in result.breaches if b.check == check]


def only(result: Reconciliation, *checks: str) -> None:
    failed = {b.check for b in result.breaches}
    assert failed == set(checks), [f"{b.check} {b.key}: {b.message}" for b in result.breaches]


def test_a_correct_order_to_cash_in_both_erps_reconciles_clean(layer: HandLayer,
                                                               sims: Sims) -> None:
    us = layer.order_to_cash("US01")
    de = layer.order_to_cash("DE01")
    assert us.tax > 0 and de.tax > 0  # both invoices really carry tax (WA sales tax, VAT)

    result = reconcile(read_state(sims), EXPECT)

    assert result.passed, [f"{b.check} {b.key}: {b.message}" for b in result.breaches]
    examined = {o.check: o.examined for o in result.outcomes}
    for check in ("customers.onboarded_once", "invoices.posted_once", "invoices.right_erp",
                  "invoices.amounts", "tax.committed", "payments.applied",
                  "correlation.end_to_end"):
        assert examined[check] >= 2, (check, examined)


def test_a_skipped_posting_is_a_breach_and_not_in_the_dlq(layer: HandLayer, sims: Sims) -> None:
    flow = layer.win("DE01")
    layer.onboard(flow)
    layer.bill(flow)  # finalized … and never posted

    result = reconcile(read_state(sims), EXPECT)

    only(result, "invoices.posted_once", "exceptions.accounted")
    [posted] = breaches(result, "invoices.posted_once")
    assert flow.invoice["id"] in posted and "not posted" in posted
    assert result.breaches[0].timeline == f"http://layer.test/timeline/{flow.invoice['id']}"
    # parked in the DLQ with a reason: still not posted, but accounted for
    parked = reconcile(read_state(sims, dlq=[{"business_key": flow.invoice["id"],
                                              "message": "ERP rejected: period closed"}]),
                       EXPECT)
    only(parked, "invoices.posted_once")


def test_an_invoice_posted_twice_is_a_breach(layer: HandLayer, sims: Sims) -> None:
    flow = layer.order_to_cash("US01", pay=False)
    layer.post(flow)  # a naive retry: the legacy ERP has no idempotency

    result = reconcile(read_state(sims), EXPECT)

    only(result, "invoices.posted_once")
    [twice] = breaches(result, "invoices.posted_once")
    assert flow.invoice["id"] in twice and "posted 2 times" in twice


def test_an_invoice_posted_to_the_wrong_erp_is_a_breach(layer: HandLayer, sims: Sims) -> None:
    flow = layer.win("DE01")
    layer.onboard(flow)
    layer.bill(flow)
    layer.post(flow, erp="legacy_erp", company="2000")  # DE01 was migrated to the cloud ERP
    layer.commit_tax(flow)

    result = reconcile(read_state(sims), EXPECT)

    assert "invoices.right_erp" in {b.check for b in result.breaches}
    [wrong] = breaches(result, "invoices.right_erp")
    assert "legacy_erp/2000" in wrong and "expected cloud_erp/1010" in wrong


def test_tax_rounded_wrong_is_a_breach_to_the_cent(layer: HandLayer, sims: Sims) -> None:
    flow = layer.win("DE01")
    layer.onboard(flow)
    layer.bill(flow, net_minor=12_345)
    layer.post(flow, tax_delta=Decimal("0.01"))  # gross right, tax one cent off
    layer.commit_tax(flow)

    result = reconcile(read_state(sims), EXPECT)

    only(result, "invoices.amounts")
    [amounts] = breaches(result, "invoices.amounts")
    assert f"tax {flow.tax + Decimal('0.01')} ≠ committed tax {flow.tax}" in amounts


def test_a_dropped_payment_is_a_breach(layer: HandLayer, sims: Sims) -> None:
    flow = layer.order_to_cash("US01", pay=False)
    layer.customer_pays(flow)  # the gateway settles it; the notification is lost

    result = reconcile(read_state(sims), EXPECT)

    only(result, "payments.applied", "exceptions.accounted")
    [dropped] = breaches(result, "payments.applied")
    assert "not paid" in dropped and "not cleared in legacy_erp" in dropped


def test_missing_tax_commit_correlation_and_duplicate_customers_are_breaches(
        layer: HandLayer, sims: Sims) -> None:
    flow = layer.win("US01")
    layer.onboard(flow)
    layer.bill(flow)
    layer.post(flow, correlated=False)  # no X-Correlation-ID on the ERP call, tax uncommitted
    again = layer.win("DE01")
    layer.onboard(again)
    layer._billing("/v1/customers", {"name": "twice", "metadata[crm_account_id]":
                                     again.account}, again)  # a second billing customer
    layer.post(flow, reference="in_nobody")  # and a posting no billing invoice explains

    result = reconcile(read_state(sims), EXPECT)

    failed = {b.check for b in result.breaches}
    assert {"tax.committed", "correlation.end_to_end", "customers.onboarded_once",
            "postings.no_orphans"} <= failed, failed
    assert any("2 billing customers" in m for m in breaches(result,
                                                           "customers.onboarded_once"))
    assert any("in_nobody" in m for m in breaches(result, "postings.no_orphans"))


def test_an_onboarding_parked_under_the_layers_canonical_id_is_accounted_for(
        layer: HandLayer, sims: Sims) -> None:
    flow = layer.win("US01")
    layer._billing("/v1/customers", {"name": "half onboarded", "metadata[crm_account_id]":
                                     flow.account, "metadata[canonical_id]": "cus_canon1"},
                   flow)  # … and the ERP customer never created

    lost = reconcile(read_state(sims), EXPECT)
    only(lost, "customers.onboarded_once", "exceptions.accounted")

    parked = reconcile(read_state(sims, dlq=[{"business_key": "cus_canon1",
                                              "message": "legacy ERP down"}]), EXPECT)
    only(parked, "customers.onboarded_once")
    assert "no customer in legacy_erp" in breaches(parked, "customers.onboarded_once")[0]
