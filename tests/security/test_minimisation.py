"""Payload minimisation: the reference layer sends each system only the fields it needs.

Evidence, twice:
- the Pact consumer contracts of ``integration-layer`` (``contracts/pacts/``, written by
  ``tests/contracts/consumers`` driving the real adapters against Pact's mock server, which
  refuses a request body with a key the contract does not declare): every field the layer
  sends each provider is in that provider's list below, and no personal data goes where it is
  not needed (no phone anywhere, e-mail only to billing for its invoices, tax ids only to the
  ERPs, nothing about the customer to the payment gateway, card data nowhere);
- the adapters themselves, handed a customer record with more than each system needs (phone,
  e-mail, contact person, a second address line), against the simulators in-process: what
  leaves is only what the vendor call takes.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

import simulators
from harness.canonical.redact import CARD, CVC, EMAIL, PHONE, TAX_ID, redact
from integration.adapters.avatax import AvaTax
from integration.adapters.http import RetryPolicy
from integration.adapters.legacy_erp import LegacyErp
from integration.adapters.s4hana import S4Hana
from integration.adapters.stripe import StripeBilling
from integration.settings import RetrySettings
from simulators._kit import build_app

ROOT = Path(__file__).resolve().parents[2]
PACTS = ROOT / "contracts" / "pacts"

# What the layer may send each system (request-body fields, flattened): its minimum.
ALLOWED: dict[str, set[str]] = {
    "stripe-billing": {  # invoices are e-mailed by billing: name, e-mail, billing address
        "name", "email", "address.line1", "address.line2", "address.city",
        "address.postal_code", "address.state", "address.country", "preferred_locales[]",
        "metadata.canonical_id", "metadata.crm_account_id", "metadata.legal_entity",
        "metadata.correlation_id", "metadata.kind", "metadata.tax_transaction",
        "metadata.o2c_key", "customer", "items[].price", "items[].quantity",
        "collection_method", "days_until_due", "default_tax_rates[]", "amount", "currency",
        "description", "discountable", "invoice", "auto_advance", "paid_out_of_band",
        "enabled_events[]", "url", "display_name", "percentage", "inclusive", "jurisdiction",
        "country", "active", "event_name", "identifier", "timestamp",
        "payload.stripe_customer_id", "payload.value"},
    "avalara-tax": {  # the tax jurisdiction's address and the amount; the customer by id only
        "line1", "city", "region", "postalCode", "country", "textCase", "commit",
        *(f"{model}{f}" for model in ("", "createTransactionModel.") for f in (
            "type", "code", "companyCode", "date", "customerCode", "currencyCode", "commit",
            "exemptionNo", "addresses.singleLocation.line1", "addresses.singleLocation.city",
            "addresses.singleLocation.region", "addresses.singleLocation.postalCode",
            "addresses.singleLocation.country", "lines[].number", "lines[].quantity",
            "lines[].amount", "lines[].taxCode", "lines[].description"))},
    "adyen-payments": {"type", "url", "active", "communicationFormat"},  # webhook set-up only
    "s4hana-erp": {  # the debtor (name, address, VAT id) and the postings
        "BusinessPartnerCategory", "OrganizationBPName1", "OrganizationBPName2", "SearchTerm1",
        "to_BusinessPartnerAddress.results[].StreetName",
        "to_BusinessPartnerAddress.results[].PostalCode",
        "to_BusinessPartnerAddress.results[].CityName",
        "to_BusinessPartnerAddress.results[].Region",
        "to_BusinessPartnerAddress.results[].Country", "to_Customer.VATRegistration",
        "to_Customer.to_CustomerCompany.results[].CompanyCode",
        "to_Customer.to_CustomerCompany.results[].PaymentTerms", "Customer", "CompanyCode",
        "PaymentTerms", "AccountingDocumentType", "DocumentDate", "PostingDate",
        "DocumentReferenceID", "AccountingDocumentHeaderText", "AmountInTransactionCurrency",
        "TaxAmount", "TransactionCurrency", "InvoiceReference", "to_Item.results[].GLAccount",
        "to_Item.results[].AmountInTransactionCurrency", "to_Item.results[].DocumentItemText"},
    "legacy-erp": {  # the debtor (name, address, tax id) and the postings
        "CustomerNumber", "Name", "Street", "City", "PostalCode", "Country", "Currency",
        "CompanyCode", "TaxId", "ExternalReference", "DocumentNumber", "InvoiceDate",
        "DueDate", "NetAmount", "TaxAmount", "GrossAmount", "Amount", "PaymentDate",
        "PaymentReference", "IncludeCleared"},
    "salesforce-crm": {  # reads only: its own login and the change-event subscription
        "grant_type", "client_id", "client_secret", "username", "password", "url", "secret"},
}
# kinds of personal data (the redaction's classes) each system may receive
PERSONAL: dict[str, set[str]] = {
    "stripe-billing": {EMAIL}, "avalara-tax": {TAX_ID},  # exemptionNo: the certificate
    "adyen-payments": set(), "s4hana-erp": {TAX_ID}, "legacy-erp": {TAX_ID},
    "salesforce-crm": set(),
}


def _flatten(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for sub in value:
            yield from _flatten(sub, f"{prefix}[]")
    else:
        yield prefix


def _form_field(key: str) -> str:
    parts = re.findall(r"[^\[\]]+", key)
    return ".".join("[]" if p.isdigit() else p for p in parts).replace(".[]", "[]")


def body_fields(body: Any) -> set[str]:
    """Field names of a request body: JSON (flattened), a form (Stripe's brackets), or SOAP
    (the leaf elements of the Body's operation)."""
    if isinstance(body, dict) and "content" in body:
        body = body["content"]
    if body in (None, "", b""):
        return set()
    if isinstance(body, dict | list):
        return set(_flatten(body))
    text = body.decode() if isinstance(body, bytes) else str(body)
    if text.lstrip().startswith("<"):
        root = etree.fromstring(text.encode())
        operation = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
        return {etree.QName(e).localname for e in operation.iter() if len(e) == 0}
    if text.lstrip().startswith(("{", "[")):
        return set(_flatten(json.loads(text)))
    return {_form_field(k) for k, _ in urllib.parse.parse_qsl(text, keep_blank_values=True)}


def personal_kinds(fields: set[str]) -> set[str]:
    """The kinds of personal data among these field names (by the redaction's key table)."""
    kinds = set()
    for field in fields:
        leaf = re.split(r"[.\[\]]+", field.strip("[]."))[-1]
        marker = redact("x", key=leaf)
        if marker in (EMAIL, PHONE, CARD, CVC, TAX_ID):  # not credentials: a login sends one
            kinds.add(marker)
    return kinds


def _pact_bodies() -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for path in sorted(PACTS.glob("integration-layer-*.json")):
        doc = json.loads(path.read_text())
        found[doc["provider"]["name"]] = [i["request"].get("body") for i in doc["interactions"]]
    return found


def test_every_provider_of_the_layer_has_a_contract_and_a_field_list() -> None:
    assert set(_pact_bodies()) == set(ALLOWED)


@pytest.mark.parametrize("provider", sorted(ALLOWED))
def test_the_contracts_show_only_needed_fields_go_to_each_system(provider: str) -> None:
    bodies = _pact_bodies()[provider]
    sent = set().union(*(body_fields(b) for b in bodies))
    assert sent, f"no request bodies in the {provider} contract"
    assert sent - ALLOWED[provider] == set(), "a field the system does not need is sent"
    assert personal_kinds(sent) <= PERSONAL[provider]


@pytest.mark.parametrize("provider", sorted(ALLOWED))
def test_no_phone_or_card_data_in_any_contract_body(provider: str) -> None:
    for body in _pact_bodies()[provider]:
        text = body if isinstance(body, str) else json.dumps(body)
        assert PHONE not in str(redact(text)) and CARD not in str(redact(text))
        assert CVC not in str(redact(text))


def test_the_field_rules_catch_a_phone_sent_to_the_tax_engine() -> None:
    # the evidence can fail: a body with a phone (or a name) for AvaTax breaks both rules
    body = {"line1": "x", "country": "US", "phone": "+1 206 555 0100", "customerName": "Ada"}
    sent = body_fields(body)
    assert sent - ALLOWED["avalara-tax"] == {"phone", "customerName"}
    assert personal_kinds(sent) - PERSONAL["avalara-tax"] == {PHONE}


# -- the adapters, handed more than each system needs -----------------------------------------
CUSTOMER_ADDRESS = {"line1": "Dietmar-Hopp-Allee 16", "line2": "Gebäude 3", "city": "Walldorf",
                    "postal_code": "69190", "region": "BW", "state": "BW", "country": "DE",
                    "phone": "+49 6227 747474", "email": "ap@mueller.example",
                    "contact": "Jana Müller"}
NOT_NEEDED = ("+49 6227 747474", "ap@mueller.example", "Jana Müller")


class Recorder:
    """Every request an adapter sends, to a simulator served in-process (no sockets)."""

    def __init__(self, name: str) -> None:
        self.app = build_app(simulators.simulator_class(name)())
        self.requests: list[httpx.Request] = []

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        async def record(request: httpx.Request) -> None:
            await request.aread()
            self.requests.append(request)

        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://sim", event_hooks={"request": [record]},
                                 **kwargs)

    def sent(self) -> str:
        return "\n".join(urllib.parse.unquote_plus(r.content.decode("utf-8", "replace"))
                         + " " + urllib.parse.unquote_plus(str(r.url)) for r in self.requests)

    def fields(self) -> set[str]:
        return set().union(*(body_fields(r.content) for r in self.requests if r.content))


def _policy() -> RetryPolicy:
    return RetryPolicy(RetrySettings(attempts=1, wait_initial_s=0, wait_max_s=0,
                                     wait_jitter_s=0))


def _assert_minimal(recorder: Recorder, provider: str) -> None:
    sent = recorder.sent()
    assert recorder.requests
    for value in NOT_NEEDED:
        assert value not in sent, f"{value!r} was sent to {provider}"
    assert recorder.fields() - ALLOWED[provider] == set()


def test_billing_gets_name_email_and_the_billing_address_only() -> None:
    rec = Recorder("billing")

    async def run() -> None:
        async with rec.client(headers={"Authorization": "Bearer sk_test_o2c_harness"}) as c:
            await StripeBilling(c, _policy()).create_customer(
                key="cus-min-1", name="Müller Datensysteme GmbH", email="billing@mueller.example",
                address=CUSTOMER_ADDRESS, metadata={"canonical_id": "cus-min-1"})

    asyncio.run(run())
    _assert_minimal(rec, "stripe-billing")
    assert "billing@mueller.example" in rec.sent()  # the one e-mail billing needs


def test_the_tax_engine_gets_the_address_and_amount_not_the_customer() -> None:
    rec = Recorder("tax")

    async def run() -> None:
        auth = httpx.BasicAuth("2000000001", "o2c-test-license")
        async with rec.client(auth=auth) as c:
            tax = AvaTax(c, _policy())
            await tax.resolve_address(CUSTOMER_ADDRESS)
            await tax.estimate_tax(company_code="O2C-DE", customer_code="cus-min-2",
                                   currency="EUR", net_minor=4900, on=date(2026, 1, 31),
                                   address=CUSTOMER_ADDRESS, tax_code="SW054000",
                                   description="estimate")

    asyncio.run(run())
    _assert_minimal(rec, "avalara-tax")
    assert "Müller" not in rec.sent() and "cus-min-2" in rec.sent()


@pytest.mark.parametrize("erp", ["cloud_erp", "legacy_erp"])
def test_the_erps_get_the_debtor_not_its_contacts(erp: str) -> None:
    rec = Recorder(erp)

    async def run() -> None:
        if erp == "cloud_erp":
            async with rec.client(auth=httpx.BasicAuth("O2C_COMM_USER", "o2c-password")) as c:
                await S4Hana(c, _policy(), sap_client="100", payment_terms="NT30"
                             ).ensure_customer(search_term="CUSMIN3", name="Müller GmbH",
                                               address=CUSTOMER_ADDRESS,
                                               tax_id="DE811569869", company_code="1010")
        else:
            async with rec.client(auth=httpx.BasicAuth("O2C_RFC", "Legacy#2004")) as c:
                await LegacyErp(c, _policy()).ensure_customer(
                    number="LMIN3", name="Müller GmbH", address=CUSTOMER_ADDRESS,
                    country="DE", currency="EUR", company_code="1000", tax_id="DE811569869")

    asyncio.run(run())
    _assert_minimal(rec, "s4hana-erp" if erp == "cloud_erp" else "legacy-erp")
