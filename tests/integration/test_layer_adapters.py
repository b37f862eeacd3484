"""Each adapter against its simulator (served in-process) or against the vendor's own SDK's
reading of the dialect: signatures, encodings, CSRF, the retry policy, the legacy ERP's
no-idempotency guard."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import stripe
from Adyen.util import generate_notification_sig, is_valid_hmac_notification
from o2c_actors import stripe_signature
from o2c_landscape import sim_app

from integration.adapters import adyen
from integration.adapters.http import (
    InDoubt,
    RetryPolicy,
    TransientError,
    VendorError,
    make_client,
    parse_retry_after,
)
from integration.adapters.legacy_erp import LegacyErp, customer_number_for
from integration.adapters.s4hana import S4Hana, split_name
from integration.adapters.stripe import (
    SignatureError,
    StripeBilling,
    encode_form,
    verify_signature,
)
from integration.settings import RetrySettings
from simulators._kit import serve_in_thread

FAST = RetrySettings(attempts=4, timeout_s=10, wait_initial_s=0.01, wait_max_s=0.1,
                     wait_jitter_s=0.01, request_timeout_s=10)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def legacy() -> Iterator[str]:
    with serve_in_thread(sim_app("legacy_erp", default_latency_ms=0), name="legacy") as s:
        yield s.url


@pytest.fixture(scope="module")
def s4() -> Iterator[str]:
    with serve_in_thread(sim_app("cloud_erp"), name="s4") as s:
        yield s.url


# -- Stripe ---------------------------------------------------------------------------------
def test_form_encoding_uses_stripe_brackets() -> None:
    assert encode_form({"items": [{"price": "p1", "quantity": 2}], "metadata": {"k": "v"},
                        "auto_advance": False, "skip": None, "expand": ["a", "b"]}) == [
        ("items[0][price]", "p1"), ("items[0][quantity]", "2"), ("metadata[k]", "v"),
        ("auto_advance", "false"), ("expand[0]", "a"), ("expand[1]", "b")]


def test_stripe_signature_agrees_with_the_stripe_library() -> None:
    body, secret = b'{"id": "evt_1", "object": "event"}', "whsec_test"
    header = stripe_signature(body, secret)
    verify_signature(body, header, secret)
    stripe.WebhookSignature.verify_header(body.decode(), header, secret, 300)
    with pytest.raises(SignatureError):
        verify_signature(body + b" ", header, secret)
    with pytest.raises(SignatureError):
        verify_signature(body, header, "whsec_other")
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(body, header, secret, tolerance_s=300, now=time.time() + 3600)
    with pytest.raises(SignatureError):
        verify_signature(body, None, secret)


def test_stripe_adapter_is_idempotent_per_business_operation() -> None:
    async def scenario(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
        client = make_client("billing", url, settings=FAST,
                             headers={"Authorization": "Bearer sk_test_o2c_harness"})
        billing = StripeBilling(client, RetryPolicy(FAST))
        try:
            args = {"key": "cus_canonical_1", "name": "Ada Ltd", "email": "a@example.com",
                    "address": {"country": "GB", "city": "London"},
                    "metadata": {"canonical_id": "cus_canonical_1"}}
            return await billing.create_customer(**args), await billing.create_customer(**args)
        finally:
            await billing.aclose()

    with serve_in_thread(sim_app("billing"), name="billing") as server:
        first, again = run(scenario(server.url))
        assert first["id"] == again["id"]
        listed = httpx.get(f"{server.url}/v1/customers", headers={
            "Authorization": "Bearer sk_test_o2c_harness"}).json()["data"]
        assert [c["id"] for c in listed] == [first["id"]]


# -- Adyen ----------------------------------------------------------------------------------
def _item(**over: Any) -> dict[str, Any]:
    item = {"amount": {"currency": "EUR", "value": 6188}, "eventCode": "AUTHORISATION",
            "eventDate": "2026-11-25T10:00:00+00:00", "merchantAccountCode": "O2CHarnessECOM",
            "merchantReference": "in_123", "pspReference": "ABCDEF1234567890",
            "success": "true", "additionalData": {}}
    item.update(over)
    return item


def test_adyen_hmac_agrees_with_the_adyen_library() -> None:
    key = "6F2C9E0D1A7B4C3E8F5A2D9B0C7E6F1A3B8D5C2E9F0A7B4C1D6E3F8A5B2C9D0E"
    item = _item()
    item["additionalData"]["hmacSignature"] = generate_notification_sig(copy.deepcopy(item),
                                                                        key).decode()
    assert is_valid_hmac_notification(copy.deepcopy(item), key)
    assert adyen.valid_signature(item, key)
    tampered = copy.deepcopy(item)
    tampered["amount"]["value"] = 1
    assert not adyen.valid_signature(tampered, key)
    assert not adyen.valid_signature(_item(), key)  # unsigned
    assert adyen.event_id(item) == "AUTHORISATION:ABCDEF1234567890:true"


# -- retry policy ---------------------------------------------------------------------------
def test_retry_policy_honours_retry_after_and_gives_up_on_vendor_errors() -> None:
    calls: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "0.2"}, json={})
        return httpx.Response(200, json={"ok": True})

    async def scenario() -> httpx.Response:
        client = make_client("billing", "http://billing.test", settings=FAST,
                             transport=httpx.MockTransport(answer))
        billing = StripeBilling(client, RetryPolicy(FAST))
        try:
            return await billing.send("GET", "/v1/customers")
        finally:
            await billing.aclose()

    assert run(scenario()).json() == {"ok": True}
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.19 and calls[2] - calls[1] >= 0.19  # Retry-After waited
    policy = RetryPolicy(RetrySettings(max_retry_after_s=5))
    assert policy._backoff(TransientError("x", "429", retry_after=120)) == 5
    assert policy._backoff(VendorError("x", 400, "invalid", "no")) is False
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("3") == 3.0


# -- S/4HANA --------------------------------------------------------------------------------
def test_s4_deep_insert_once_and_csrf_refetched(s4: str) -> None:
    async def scenario() -> tuple[str, str]:
        client = make_client("cloud_erp", s4, settings=FAST,
                             auth=httpx.BasicAuth("O2C_COMM_USER", "o2c-password"))
        erp = S4Hana(client, RetryPolicy(FAST), sap_client="100", payment_terms="NT30")
        try:
            args = {"search_term": "001ADAPTERTEST0AAA", "name": "Adapter Test GmbH",
                    "address": {"line1": "Main St 1", "city": "Berlin", "postal_code": "10115",
                                "country": "DE"}, "tax_id": "DE123456789",
                    "company_code": "1010"}
            first = await erp.ensure_customer(**args)
            erp._csrf["/sap/opu/odata/sap/API_BUSINESS_PARTNER"] = "stale-token"
            second = await erp.ensure_customer(**{**args, "company_code": "1110"})
            return first, second
        finally:
            await erp.aclose()

    first, second = run(scenario())
    assert first == second
    fact = httpx.get(f"{s4}/_sim/await", params={
        "kind": "business_partner.created", "key": "001ADAPTERTEST0AAA", "timeout": 5}).json()
    assert fact["matched"] and fact["fact"]["count"] == 1


def test_s4_first_posting_is_sent_without_a_look_up_and_a_retry_looks_first(s4: str) -> None:
    """The month end's ledger knows whether a posting was ever sent: a first attempt goes
    straight to the POST (no journal-entry read), a later one reads first and finds it."""
    reads = "/sap/opu/odata/sap/API_O2C_JOURNALENTRY_SRV/A_JournalEntry"

    def journal_reads() -> int:
        entries = httpx.get(f"{s4}/_sim/journal", params={
            "path": reads, "method": "GET", "limit": 10_000}).json()["data"]
        return len(entries)

    async def scenario() -> tuple[dict[str, Any], int, dict[str, Any]]:
        client = make_client("cloud_erp", s4, settings=FAST,
                             auth=httpx.BasicAuth("O2C_COMM_USER", "o2c-password"))
        erp = S4Hana(client, RetryPolicy(FAST), sap_client="100", payment_terms="NT30")
        try:
            customer = await erp.ensure_customer(
                search_term="001LOOKFIRST00AAA", name="Look First GmbH", address={
                    "line1": "Main St 2", "city": "Berlin", "postal_code": "10115",
                    "country": "DE"}, tax_id=None, company_code="1010")
            args: dict[str, Any] = {
                "company_code": "1010", "customer": customer, "reference": "LOOK-0001",
                "billing_invoice_id": "in_lookfirst", "at": datetime(2026, 11, 1, tzinfo=UTC),
                "currency": "EUR", "gross": "119.00", "tax": "19.00", "net": "100.00"}
            before = journal_reads()
            first = await erp.post_invoice(**args, look_first=False)
            after_first = journal_reads() - before
            again = await erp.post_invoice(**args)  # a retry: looks first, finds the first
            return first, after_first, again
        finally:
            await erp.aclose()

    first, reads_by_first, again = run(scenario())
    assert reads_by_first == 0
    assert again["AccountingDocument"] == first["AccountingDocument"]
    fact = httpx.get(f"{s4}/_sim/await", params={
        "kind": "invoice.posted", "key": "LOOK-0001", "timeout": 5}).json()
    assert fact["matched"] and fact["fact"]["count"] == 1


def test_sap_name_split() -> None:
    assert split_name("Short") == ("Short", "")
    assert split_name("Nordwest Datenverarbeitung und Beratung Holding GmbH") == (
        "Nordwest Datenverarbeitung und Beratung", "Holding GmbH")
    assert split_name("X" * 50) == ("X" * 40, "X" * 10)


# -- legacy ERP -----------------------------------------------------------------------------
def _legacy(url: str, timeout: float = 10) -> LegacyErp:
    settings = FAST.model_copy(update={"request_timeout_s": timeout})
    client = make_client("legacy_erp", url, settings=settings,
                         auth=httpx.BasicAuth("O2C_RFC", "Legacy#2004"))
    return LegacyErp(client, RetryPolicy(settings))


def _legacy_customer(url: str, key: str, name: str) -> str:
    """A legacy ERP customer in company code 4000 (its number)."""
    number = customer_number_for(key)

    async def setup() -> None:
        erp = _legacy(url)
        try:
            await erp.ensure_customer(number=number, name=name, address={}, country="GB",
                                      currency="GBP", company_code="4000", tax_id=None)
        finally:
            await erp.aclose()

    run(setup())
    return number


def test_legacy_posting_with_a_lost_answer_is_in_doubt_not_reposted(legacy: str) -> None:
    number = _legacy_customer(legacy, "cus_in_doubt", "Doubtful Ltd")

    async def post(timeout: float) -> dict[str, str]:
        erp = _legacy(legacy, timeout)
        try:
            return await erp.post_invoice(
                company_code="4000", customer=number, reference="DOUBT-0001",
                invoice_date=date(2026, 11, 1), due_date=date(2026, 12, 1), currency="GBP",
                net="100.00", tax="20.00", gross="120.00")
        finally:
            await erp.aclose()

    async def lookup() -> dict[str, str] | None:
        erp = _legacy(legacy)
        try:
            return await erp.find_posting("4000", number, "DOUBT-0001")
        finally:
            await erp.aclose()

    r = httpx.put(f"{legacy}/_sim/faults", json={"seed": 1, "rules": [{
        "kind": "latency", "route": "/soap/LegacyErp", "latency": {"ms": 800}}]})
    assert r.status_code == 200, r.text
    with pytest.raises(InDoubt):
        run(post(timeout=0.2))  # the ERP books it after the client gave up
    fact = httpx.get(f"{legacy}/_sim/await", params={
        "kind": "invoice.posted", "key": "DOUBT-0001", "timeout": 10}).json()
    assert fact["matched"]
    httpx.delete(f"{legacy}/_sim/faults")
    found = run(lookup())
    assert found is not None and found["DocumentNumber"] == fact["fact"]["data"]["DocumentNumber"]
    docs = httpx.get(f"{legacy}/_sim/legacy/documents", params={
        "external_reference": "DOUBT-0001"}).json()
    assert len(docs["data"]) == 1


def test_legacy_posting_reset_after_sending_is_in_doubt_never_resent(legacy: str) -> None:
    """The legacy ERP has no idempotency: a connection dropped after the request was
    written (over the default transport, aiohttp) must not look like "never sent", which
    would post it again."""
    number = _legacy_customer(legacy, "cus_transport", "Transport Ltd")

    async def post() -> None:
        erp = _legacy(legacy)
        try:
            await erp.post_invoice(
                company_code="4000", customer=number, reference="RESET-0001",
                invoice_date=date(2026, 11, 1), due_date=date(2026, 12, 1), currency="GBP",
                net="100.00", tax="20.00", gross="120.00")
        finally:
            await erp.aclose()

    r = httpx.put(f"{legacy}/_sim/faults", json={"seed": 1, "rules": [{
        "kind": "reset", "route": "/soap/LegacyErp"}]})
    assert r.status_code == 200, r.text
    try:
        with pytest.raises(InDoubt) as caught:
            run(post())
    finally:
        httpx.delete(f"{legacy}/_sim/faults")
    assert isinstance(caught.value.__cause__, (httpx.ReadError, httpx.RemoteProtocolError))


def test_legacy_customer_creation_is_repeatable(legacy: str) -> None:
    async def twice() -> list[str]:
        erp = _legacy(legacy)
        try:
            return [await erp.ensure_customer(
                number=customer_number_for("cus_twice"), name="N" * 50, address={
                    "line1": "1 Long Street", "city": "Paris", "postal_code": "75001"},
                country="FR", currency="EUR", company_code="3000", tax_id="FR12345678901")
                for _ in range(2)]
        finally:
            await erp.aclose()

    first, second = run(twice())
    assert first == second == customer_number_for("cus_twice")
    fact = httpx.get(f"{legacy}/_sim/await", params={
        "kind": "customer.created", "key": first, "timeout": 5}).json()
    assert fact["fact"]["count"] == 1
    assert fact["fact"]["data"]["Name"] == "N" * 35  # the old system's 35-character column


# -- AvaTax ---------------------------------------------------------------------------------
def test_avatax_resolves_taxes_once_per_invoice_and_commits() -> None:
    from integration.adapters.avatax import AvaTax

    async def scenario(url: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        client = make_client("tax", url, settings=FAST,
                             auth=httpx.BasicAuth("2000000001", "o2c-test-license"))
        tax = AvaTax(client, RetryPolicy(FAST))
        address = {"line1": "Dietmar-Hopp-Allee 16", "city": "Walldorf",
                   "postal_code": "69190", "country": "DE"}
        try:
            resolved = await tax.resolve_address(address)
            args = {"code": "in_avatax_1", "company_code": "O2C-DE", "customer_code": "cus_1",
                    "currency": "EUR", "net_minor": 10000, "on": date(2026, 11, 30),
                    "address": address, "tax_code": "SW054000"}
            first = await tax.determine_tax(**args)
            again = await tax.determine_tax(**args)  # a replayed webhook: adjusts, not adds
            assert again["code"] == first["code"] and again["totalTax"] == first["totalTax"]
            committed = await tax.commit("O2C-DE", "in_avatax_1")
            return resolved, first, committed
        finally:
            await tax.aclose()

    with serve_in_thread(sim_app("tax"), name="tax") as server:
        resolved, first, committed = run(scenario(server.url))
        assert resolved["resolutionQuality"] != "NotCoded"
        assert resolved["validatedAddresses"][0]["city"].lower() == "walldorf"
        assert first["totalTax"] == 19.0  # German VAT on 100.00
        assert committed["status"] == "Committed"
        listed = httpx.get(f"{server.url}/api/v2/companies/O2C-DE/transactions", auth=(
            "2000000001", "o2c-test-license")).json()["value"]
        assert [t["code"] for t in listed].count("in_avatax_1") == 1
        with pytest.raises(VendorError):
            run(_bad_company(server.url))


async def _bad_company(url: str) -> None:
    from integration.adapters.avatax import AvaTax

    client = make_client("tax", url, settings=FAST,
                         auth=httpx.BasicAuth("2000000001", "o2c-test-license"))
    tax = AvaTax(client, RetryPolicy(FAST))
    try:
        await tax.commit("NO-SUCH-COMPANY", "in_x")
    finally:
        await tax.aclose()
