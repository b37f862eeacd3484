"""One business written into the whole landscape: reproducible, and consistent across systems
(checked through the simulators' own APIs, never through the generator's word alone)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from harness.business import (
    BusinessOptions,
    Dirtiness,
    SeedResult,
    in_process_clients,
    seed_landscape,
)
from harness.business.records import legacy_number

OPTIONS = BusinessOptions(seed=42, customers=300, dirtiness=Dirtiness.uniform(0.15))
TAX_AUTH = {"Authorization": "Basic " + base64.b64encode(b"2000000001:o2c-test-license").decode()}


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[SeedResult, dict[str, httpx.Client]]]:
    with in_process_clients() as clients:
        yield seed_landscape(clients, OPTIONS, freeze_clock=True), clients


def state(clients: dict[str, httpx.Client], name: str) -> dict[str, dict[str, Any]]:
    return orjson.loads(clients[name].get("/_sim/snapshot").content)["state"]  # type: ignore[no-any-return]


def test_same_seed_gives_identical_snapshots_another_seed_does_not(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    first, clients = seeded
    assert set(first.checksums) == {"crm", "billing", "tax", "payments", "cloud_erp",
                                    "legacy_erp"}
    # the manifest's checksums are those of the snapshot bytes GET /_sim/snapshot serves
    for name, client in clients.items():
        assert hashlib.sha256(client.get("/_sim/snapshot").content).hexdigest() == \
            first.checksums[name]
    with in_process_clients() as again:
        second = seed_landscape(again, OPTIONS)
    assert second.checksums == first.checksums
    with in_process_clients() as other:
        third = seed_landscape(other, BusinessOptions(seed=43, customers=300,
                                                      dirtiness=Dirtiness.uniform(0.15)))
    for name in ("crm", "billing", "payments", "cloud_erp", "legacy_erp"):
        assert third.checksums[name] != first.checksums[name], name


def test_every_won_opportunity_has_a_billing_customer_unless_deliberately_dropped(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    result, clients = seeded
    crm = state(clients, "crm")
    accounts = {a["Id"]: a["External_Id__c"] for a in crm["Account"].values()}
    won = {accounts[o["AccountId"]] for o in crm["Opportunity"].values()
           if o["StageName"] == "Closed Won" and o["IsWon"]}
    billing = {c["metadata"]["crm_account"] for c in state(clients, "billing")["customers"]
               .values()}
    dropped = {c.number for c in result.business.customers
               if "missing_in_billing" in c.defects}
    assert len(won) > 100 and dropped
    assert won - billing == dropped
    assert billing <= won  # and billing holds nobody the CRM did not win


def test_every_erp_customer_maps_to_a_crm_account(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    _, clients = seeded
    crm_keys = {a["External_Id__c"] for a in state(clients, "crm")["Account"].values()}
    partners = state(clients, "cloud_erp")["business_partners"].values()
    legacy = state(clients, "legacy_erp")["customers"].values()
    assert partners and legacy
    assert {p["SearchTerm1"] for p in partners} <= crm_keys
    compact = {legacy_number_of(k): k for k in crm_keys}
    assert {c["CustomerNumber"] for c in legacy} <= set(compact)


def legacy_number_of(key: str) -> str:
    return key.replace("-", "")[-10:]


def test_every_address_of_a_clean_customer_resolves_in_the_tax_engine(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    result, clients = seeded
    clean = {c.number for c in result.business.customers if c.clean}
    crm = [a for a in state(clients, "crm")["Account"].values() if a["External_Id__c"] in clean]
    billing = [c for c in state(clients, "billing")["customers"].values()
               if c["metadata"]["crm_account"] in clean]
    addresses = [{"line1": a["BillingStreet"], "city": a["BillingCity"],
                  "region": a["BillingState"] or "", "postalCode": a["BillingPostalCode"],
                  "country": a["BillingCountry"]} for a in crm]
    addresses += [{"line1": c["address"]["line1"], "city": c["address"]["city"],
                   "region": c["address"]["state"] or "", "postalCode": c["address"]["postal_code"],
                   "country": c["address"]["country"]} for c in billing]
    assert len(addresses) > 100
    for address in addresses:
        r = clients["tax"].post("/api/v2/addresses/resolve", json=address, headers=TAX_AUTH)
        assert r.status_code == 200, (address, r.text)
        body = r.json()
        assert body["resolutionQuality"] != "NotCoded", (address, body.get("messages"))
        assert body["validatedAddresses"][0]["country"] == address["country"]
    # and the dirt is real: a customer without a postal code is not resolvable to a street
    missing = next(c for c in result.business.customers if "missing_postal_code" in c.defects
                   and c.country != "US")
    r = clients["tax"].post("/api/v2/addresses/resolve", headers=TAX_AUTH, json={
        "line1": missing.address.line1, "city": missing.address.city,
        "country": missing.country})
    assert r.json()["resolutionQuality"] == "CountryCentroid"


def test_history_agrees_across_billing_gateway_and_erps(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    result, clients = seeded
    invoices = {i["number"]: i for i in state(clients, "billing")["invoices"].values()
                if i["number"]}
    assert {i["status"] for i in invoices.values()} >= {"open", "paid"}  # open items exist

    def major(inv: dict[str, Any]) -> Decimal:
        return Decimal(inv["total"]) / (1 if inv["currency"] == "jpy" else 100)

    cloud = state(clients, "cloud_erp")
    legacy = state(clients, "legacy_erp")
    invoices_posted = [d for d in cloud["journal_entries"].values()
                       if d["AccountingDocumentType"] == "DR"]
    postings = [(d["DocumentReferenceID"], Decimal(d["AmountInTransactionCurrency"]),
                 d["TransactionCurrency"]) for d in invoices_posted]
    postings += [(d["ExternalReference"], Decimal(d["GrossAmount"]), d["Currency"])
                 for d in legacy["documents"].values()]
    assert len(postings) > 100
    for number, amount, currency in postings:  # every ERP posting is a billing invoice
        inv = invoices[number]
        assert (amount, currency) == (major(inv), inv["currency"].upper())
    assert len({n for n, _, _ in postings}) == len(postings)  # posted once
    cleared = [d for d in legacy["documents"].values() if d["Status"] == "CLEARED"]
    cleared += [d for d in invoices_posted if d["IsCleared"]]
    assert cleared
    for doc in cleared:  # cleared in the ERP → paid in billing
        assert invoices[doc.get("ExternalReference") or doc["DocumentReferenceID"]][
            "status"] == "paid"
    gateway = state(clients, "payments")["payments"].values()
    assert gateway
    for payment in gateway:  # the gateway settled only what billing shows paid
        inv = invoices[payment["merchantReference"]]
        assert inv["status"] == "paid" and payment["status"] == "Captured"
        assert payment["amount"] == {"currency": inv["currency"].upper(), "value": inv["total"]}
    # routed by the wave plan: legal entities on the legacy ERP post there only
    legacy_codes = {"1000", "3000", "5000"}
    assert {d["CompanyCode"] for d in legacy["documents"].values()} <= legacy_codes
    assert {d["CompanyCode"] for d in invoices_posted} <= {"1010", "1110"}
    keys = {legacy_number(c): c for c in result.business.customers}
    assert all(keys[d["CustomerNumber"]].legal_entity in ("US01", "FR01", "JP01")
               for d in legacy["documents"].values())


def test_a_bad_record_gets_the_vendor_error_and_names_the_record() -> None:
    with in_process_clients(["billing", "crm"]) as clients:
        r = clients["billing"].post("/_sim/import", json={"kind": "customers", "records": [
            {"name": "ok"}, {"name": "bad", "colour": "red"}]})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "parameter_unknown"  # Stripe's error shape
        assert r.headers["x-sim-import-failed-at"] == "customers[1]"
        r = clients["crm"].post("/_sim/import", json={"kind": "Contact", "records": [
            {"LastName": "x", "Account": {"External_Id__c": "nope"}}]})
        assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"  # SF: an array
        r = clients["crm"].post("/_sim/import", json={"kind": "Lead", "records": []})
        assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_kind"
    with in_process_clients(["tax", "payments", "cloud_erp", "legacy_erp"]) as clients:
        r = clients["tax"].post("/_sim/import", json={"kind": "exemptions", "records": [{
            "customerCode": "C1", "companyCode": "NOPE", "exemptionNo": "X",
            "signedDate": "2025-01-01", "expirationDate": "2027-01-01"}]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "EntityNotFoundError"
        r = clients["payments"].post("/_sim/import", json={"kind": "payments", "records": [{
            "merchantAccount": "O2CHarnessECOM", "reference": "R1",
            "amount": {"currency": "EUR", "value": 100}, "returnUrl": "https://x.example",
            "paymentMethod": {"type": "scheme", "number": "4111111111111112",
                              "expiryMonth": "03", "expiryYear": "2030"}}]})
        assert r.status_code == 422 and r.json()["errorCode"] == "101"  # Invalid card number
        r = clients["cloud_erp"].post("/_sim/import", json={"kind": "A_JournalEntry", "records": [
            {"CompanyCode": "1010", "Customer": "1000001", "AmountInTransactionCurrency": "10"}]})
        assert r.status_code == 400 and "Customer 1000001" in \
            r.json()["error"]["message"]["value"]  # OData v2 error body
        r = clients["legacy_erp"].post("/_sim/import", json={"kind": "customers", "records": [
            {"Name": "x" * 36, "Country": "DE", "Currency": "EUR", "CompanyCode": "2000"}]})
        # a SOAP fault (HTTP 500 on the vendor's wire): on the admin API a 422, the caller's
        # bad record, not a server error
        assert r.status_code == 422 and b"FIELD_TOO_LONG" in r.content
        assert r.headers["x-sim-import-failed-at"] == "customers[0]"


def test_cli_seeds_a_running_landscape_and_writes_the_manifest(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    # the simulators alone: the reference layer, when served, acts on what is seeded
    env["HARNESS_INTEGRATION__SERVE"] = "false"
    ports = [f"{name}={free_port()}" for name in ("crm", "billing", "tax", "payments",
                                                   "cloud_erp", "legacy_erp")]

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=180)

    up = harness("up", "--detach", *[a for p in ports for a in ("--port", p)])
    assert up.returncode == 0, up.stderr
    try:
        seeded = harness("seed", "--seed", "7", "--customers", "120", "--dirtiness", "0.1",
                         "--locales", "en_US,de_DE,fr_FR,en_GB,ja_JP", "--freeze-clock")
        assert seeded.returncode == 0, seeded.stderr
        manifests = list((tmp_path / "reports").glob("*/landscape.json"))
        assert len(manifests) == 1
        manifest = json.loads(manifests[0].read_text())
    finally:
        harness("down")
    assert manifest["options"]["seed"] == 7 and manifest["business"]["customers"] == 120
    assert manifest["imported"]["crm"]["Account"] == 120
    # the running landscape holds exactly the state an in-process seeding builds
    with in_process_clients() as clients:
        expected = seed_landscape(clients, BusinessOptions(
            seed=7, customers=120, dirtiness=Dirtiness.uniform(0.1)))
    assert manifest["checksums"] == expected.checksums
    assert manifest["landscape_checksum"] == expected.landscape_checksum


def test_seats_follow_each_customers_usage_curve_in_billed_quantities(
        seeded: tuple[SeedResult, dict[str, httpx.Client]]) -> None:
    result, clients = seeded
    billing = state(clients, "billing")
    keys = {c["id"]: c["metadata"]["crm_account"] for c in billing["customers"].values()}
    business = result.business.by_number()
    checked, varying = 0, set()
    for inv in billing["invoices"].values():
        sub = business[keys[inv["customer"]]].subscription
        assert sub is not None
        in_effect = sub.quantity  # seats when the cycle billed the next period
        for at, seats in sub.seat_changes:
            if at <= inv["created"]:
                in_effect = seats
        assert inv["_lines"][0]["quantity"] == in_effect, inv["number"]
        checked += 1
        if sub.seat_changes and inv["billing_reason"] == "subscription_cycle":
            varying.add(inv["customer"])
    assert checked > 200 and len(varying) > 20
