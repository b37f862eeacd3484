from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.canonical import (
    INVOICE_TRANSITIONS,
    Address,
    Customer,
    IdentityKey,
    IllegalTransition,
    Invoice,
    InvoiceStatus,
    System,
    TaxProfile,
    merge,
    normalise_name,
    same_customer,
    survive,
    transition,
)
from harness.canonical.export import render, schemas

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 1, 31, tzinfo=UTC)


def test_committed_schemas_match_the_code() -> None:
    directory = ROOT / "contracts" / "schemas"
    expected = schemas()
    committed = {p.name for p in directory.glob("*.json")}
    assert committed == set(expected), "run `python -m harness.canonical.export`"
    for name, schema in expected.items():
        assert (directory / name).read_text(encoding="utf-8") == render(schema), (
            f"{name} drifted from the code: run `python -m harness.canonical.export`")


@pytest.mark.parametrize(("a", "b"), [
    ("Müller GmbH", "muller"),
    ("ACME, Inc.", "acme"),
    ("Société Générale S.A.", "societe generale"),
    ("  Big   Co  Ltd ", "big"),
])
def test_names_normalise_to_the_same_key(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


def test_identity_anchors_on_the_crm_id() -> None:
    a = IdentityKey.of(name="Acme Inc", country="US", crm_account_id="001A")
    b = IdentityKey.of(name="Acme Inc", country="US", crm_account_id="001B")
    assert not same_customer(a, b)  # same name, different anchors: two customers
    c = IdentityKey.of(name="ACME", country="us", tax_id="us-12 345")
    assert same_customer(a, c)
    d = IdentityKey.of(name="ACME", country="US", tax_id="US99")
    assert not same_customer(c, d)  # different tax ids never match
    assert not same_customer(a, IdentityKey.of(name="Acme", country="DE"))


def test_survivorship_prefers_the_owner() -> None:
    assert survive("address", {System.CRM: "crm", System.TAX: "tax"}) == "tax"
    assert survive("address", {System.CRM: "crm", System.TAX: None}) == "crm"
    assert survive("name", {System.BILLING: "billing"}) is None
    values, sources = merge({"name": "Old"}, {"name": System.CRM},
                            {"name": "Billing's", "email": "b@x"}, System.BILLING)
    assert values == {"name": "Old", "email": "b@x"}
    assert sources["email"] is System.BILLING
    values, _ = merge(values, sources, {"email": "crm@x"}, System.CRM)
    assert values["email"] == "crm@x"


def test_invoice_transitions() -> None:
    assert transition(INVOICE_TRANSITIONS, InvoiceStatus.FINALIZED,
                      InvoiceStatus.POSTED) is InvoiceStatus.POSTED
    with pytest.raises(IllegalTransition):
        transition(INVOICE_TRANSITIONS, InvoiceStatus.POSTED, InvoiceStatus.DRAFT)
    with pytest.raises(IllegalTransition):
        transition(INVOICE_TRANSITIONS, InvoiceStatus.DRAFT, InvoiceStatus.PAID)


def _invoice(**kw: object) -> Invoice:
    base: dict[str, object] = dict(
        id="inv_" + "a" * 32, billing_invoice_id="in_1", customer_id="cus_" + "b" * 32,
        legal_entity="DE01", currency="EUR", net_amount=1000, tax_amount=190,
        correlation_id="c-1")
    base.update(kw)
    return Invoice.model_validate(base)


def test_models_are_strict() -> None:
    assert _invoice().gross_amount == 1190
    with pytest.raises(ValidationError):
        _invoice(net_amount="1000")  # strict: no coercion from strings
    with pytest.raises(ValidationError):
        _invoice(unknown=1)
    with pytest.raises(ValidationError):
        _invoice(status=InvoiceStatus.POSTED)  # posted needs its ERP document


def test_customer_round_trips_through_json() -> None:
    customer = Customer(
        id="cus_" + "c" * 32, crm_account_id="001xx", name="Acme GmbH", legal_entity="DE01",
        country="DE", currency="EUR", correlation_id="c-2", created_at=NOW,
        tax_profile=TaxProfile(country="DE", tax_id="DE123456789",
                               address=Address(country="DE", city="Berlin")),
        references={System.BILLING: "cus_123"})
    data = json.loads(customer.model_dump_json())
    assert data["identity"]["name"] == "acme"
    data.pop("identity")
    assert Customer.model_validate_json(json.dumps(data)) == customer
