"""Transactions through the official ``avalara`` SDK, following AvaTax's documented lifecycle."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from avalara import AvataxClient

from .conftest import sales_invoice

SEATTLE = {"line1": "1200 2nd Ave", "city": "Seattle", "region": "WA", "postalCode": "98101",
           "country": "US"}


def _cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def assert_adds_up(doc: dict) -> None:
    """Detail taxes are cents, lines sum their details, the document sums its lines."""
    for line in doc["lines"]:
        detail_taxes = [_cents(d["tax"]) for d in line["details"]]
        assert all(Decimal(str(d["tax"])) == _cents(d["tax"]) for d in line["details"])
        assert sum(detail_taxes, Decimal(0)) == _cents(line["tax"])
    total_tax = _cents(doc["totalTax"])
    assert sum((_cents(line["tax"]) for line in doc["lines"]), Decimal(0)) == total_tax
    assert sum((_cents(s["tax"]) for s in doc["summary"]), Decimal(0)) == _cents(doc["totalTax"])
    assert sum((_cents(line["lineAmount"]) for line in doc["lines"]), Decimal(0)) == \
        _cents(doc["totalAmount"])


def test_sales_invoice_is_saved_with_jurisdiction_details(avatax: AvataxClient) -> None:
    response = avatax.create_transaction(sales_invoice("INV-1001", ship_to=SEATTLE,
                                                       amounts=(100.0, 19.99)))
    assert response.status_code == 201
    assert response.headers["x-correlation-id"]
    doc = response.json()
    assert (doc["status"], doc["type"], doc["code"], doc["version"]) == \
        ("Saved", "SalesInvoice", "INV-1001", 1)
    assert doc["id"] > 0 and doc["companyId"] > 0
    assert [d["jurisType"] for d in doc["lines"][0]["details"]] == ["STA", "CTY", "CIT", "STJ"]
    assert [d["jurisdictionType"] for d in doc["lines"][0]["details"]] == \
        ["State", "County", "City", "Special"]
    state = doc["lines"][0]["details"][0]
    assert (state["jurisName"], state["rate"], state["tax"], state["taxName"]) == \
        ("WASHINGTON", 0.065, 6.5, "WA STATE TAX")
    assert doc["lines"][0]["tax"] == 10.35  # Seattle: 10.35 %
    # 19.99 x each rate, rounded per jurisdiction: 1.30 + 0.04 + 0.45 + 0.28
    assert doc["lines"][1]["tax"] == 2.07
    assert (doc["totalAmount"], doc["totalTax"], doc["totalTaxable"], doc["totalExempt"]) == \
        (119.99, 12.42, 119.99, 0)
    assert_adds_up(doc)
    got = avatax.get_transaction_by_code("O2C", "INV-1001").json()
    assert got["totalTax"] == 12.42 and got["status"] == "Saved"


LOCATIONS = {
    "seattle": ({"city": "Seattle", "region": "WA", "postalCode": "98101", "country": "US"},
                "0.1035", 4),
    "new-york": ({"city": "New York", "region": "NY", "postalCode": "10001", "country": "US"},
                 "0.08875", 3),
    "los-angeles": ({"city": "Los Angeles", "region": "CA", "postalCode": "90012",
                     "country": "US"}, "0.095", 4),
    "chicago": ({"city": "Chicago", "region": "IL", "postalCode": "60601", "country": "US"},
                "0.1025", 4),
    "berlin": ({"city": "Berlin", "postalCode": "10115", "country": "DE"}, "0.19", 1),
    "paris": ({"city": "Paris", "postalCode": "75008", "country": "FR"}, "0.20", 1),
    "london": ({"city": "London", "postalCode": "SW1A 1AA", "country": "GB"}, "0.20", 1),
    "tokyo": ({"city": "Chiyoda", "postalCode": "100-0001", "country": "JP"}, "0.10", 1),
    "toronto": ({"city": "Toronto", "region": "ON", "postalCode": "M5V 3L9", "country": "CA"},
                "0.13", 1),
    "vancouver": ({"city": "Vancouver", "region": "BC", "postalCode": "V6B 1A1",
                   "country": "CA"}, "0.12", 2),
    "portland": ({"city": "Portland", "region": "OR", "postalCode": "97204", "country": "US"},
                 "0", 0),
}


@pytest.mark.parametrize("where", sorted(LOCATIONS))
def test_totals_equal_the_sum_of_line_taxes(avatax: AvataxClient, where: str) -> None:
    ship_to, combined_rate, n_details = LOCATIONS[where]
    amounts = (99.99, 0.05, 1234.56, 17.33, 0.99)
    doc = avatax.create_transaction(sales_invoice(
        f"INV-{where}", ship_to={"line1": "1 Main St", **ship_to}, amounts=amounts)).json()
    assert_adds_up(doc)
    assert all(len(line["details"]) == n_details for line in doc["lines"])
    rate = sum((Decimal(str(d["rate"])) for d in doc["lines"][0]["details"]), Decimal(0))
    assert rate == Decimal(combined_rate)
    # per-detail rounding stays within a cent per detail of the unrounded total
    exact = sum((Decimal(str(a)) for a in amounts), Decimal(0)) * rate
    assert abs(Decimal(str(doc["totalTax"])) - exact) <= Decimal("0.01") * n_details * len(amounts)


def test_vat_countries_report_country_jurisdiction(avatax: AvataxClient) -> None:
    doc = avatax.create_transaction(sales_invoice(
        "INV-DE", ship_to={"city": "Berlin", "postalCode": "10115", "country": "DE"},
        currencyCode="EUR")).json()
    detail = doc["lines"][0]["details"][0]
    assert (detail["jurisType"], detail["jurisdictionType"], detail["jurisCode"],
            detail["taxName"], detail["tax"]) == ("CNT", "Country", "DE", "Standard Rate", 19.0)
    assert doc["currencyCode"] == "EUR"


def test_eu_cross_border_b2b_with_vat_id_is_reverse_charged(avatax: AvataxClient) -> None:
    model = sales_invoice("INV-RC", ship_to={"city": "Paris", "postalCode": "75008",
                                             "country": "FR"},
                          businessIdentificationNo="FR12345678901", currencyCode="EUR")
    model["addresses"]["shipFrom"] = {"city": "Berlin", "postalCode": "10115", "country": "DE"}
    doc = avatax.create_transaction(model).json()
    detail = doc["lines"][0]["details"][0]
    assert (doc["totalTax"], detail["rate"], detail["taxName"]) == (0, 0, "Reverse Charge")
    del model["businessIdentificationNo"]
    model["code"] = "INV-B2C"
    assert avatax.create_transaction(model).json()["totalTax"] == 20.0


def test_sales_order_is_an_estimate_and_not_recorded(avatax: AvataxClient) -> None:
    model = sales_invoice("SO-1", ship_to=SEATTLE)
    model["type"] = "SalesOrder"
    doc = avatax.create_transaction(model).json()
    assert (doc["status"], doc["id"], doc["totalTax"]) == ("Temporary", 0, 10.35)
    assert avatax.get_transaction_by_code("O2C", "SO-1").status_code == 404
    no_type = sales_invoice(ship_to=SEATTLE)
    del no_type["type"]
    estimate = avatax.create_transaction(no_type).json()
    assert estimate["type"] == "SalesOrder" and len(estimate["code"]) == 36  # a GUID
    assert avatax.list_transactions_by_company("O2C").json()["@recordsetCount"] == 0


def test_exemption_number_and_entity_use_code_exempt_the_sale(avatax: AvataxClient) -> None:
    doc = avatax.create_transaction(sales_invoice("INV-EX", ship_to=SEATTLE,
                                                  exemptionNo="EXEMPT-WA-123")).json()
    assert (doc["totalTax"], doc["totalExempt"], doc["totalTaxable"]) == (0, 100.0, 0)
    line = doc["lines"][0]
    assert (line["exemptAmount"], line["exemptNo"], line["tax"]) == (100.0, "EXEMPT-WA-123", 0)
    assert all(d["exemptAmount"] == 100.0 and d["tax"] == 0 for d in line["details"])
    federal = avatax.create_transaction(sales_invoice("INV-GOV", ship_to=SEATTLE,
                                                      entityUseCode="A")).json()
    assert (federal["totalTax"], federal["totalExempt"]) == (0, 100.0)
    assert federal["lines"][0]["entityUseCode"] == "A"


def test_line_level_exemption_only_exempts_that_line(avatax: AvataxClient) -> None:
    model = sales_invoice("INV-LX", ship_to=SEATTLE, amounts=(100.0, 100.0))
    model["lines"][1]["exemptionCode"] = "RESALE-77"
    doc = avatax.create_transaction(model).json()
    assert [line["tax"] for line in doc["lines"]] == [10.35, 0]
    assert (doc["totalTax"], doc["totalExempt"], doc["totalTaxable"]) == (10.35, 100.0, 100.0)


def test_create_or_adjust_makes_a_new_version(avatax: AvataxClient) -> None:
    first = avatax.create_or_adjust_transaction(
        {"createTransactionModel": sales_invoice("INV-ADJ", ship_to=SEATTLE)}).json()
    assert (first["version"], first["status"], first["totalTax"]) == (1, "Saved", 10.35)
    second = avatax.create_or_adjust_transaction({"createTransactionModel": sales_invoice(
        "INV-ADJ", ship_to=SEATTLE, amounts=(200.0,), adjustmentReason="PriceAdjusted")}).json()
    assert (second["version"], second["totalTax"], second["adjustmentReason"]) == \
        (2, 20.7, "PriceAdjusted")
    assert avatax.get_transaction_by_code("O2C", "INV-ADJ").json()["version"] == 2


def test_commit_records_the_fact_and_locks_the_code_for_create(
        avatax: AvataxClient, admin: httpx.Client) -> None:
    avatax.create_transaction(sales_invoice("INV-C", ship_to=SEATTLE))
    committed = avatax.commit_transaction("O2C", "INV-C", {"commit": True})
    assert committed.status_code == 200 and committed.json()["status"] == "Committed"
    fact = admin.get("/_sim/await", params={"kind": "transaction.committed", "key": "INV-C",
                                            "timeout": 1}).json()
    assert fact["matched"] is True
    assert fact["fact"]["data"]["totalTax"] == 10.35
    assert fact["fact"]["data"]["companyCode"] == "O2C"
    assert fact["fact"]["data"]["currency"] == "USD"
    # a committed document is final: re-creating it is AvaTax's DocStatus error
    again = avatax.create_transaction(sales_invoice("INV-C", ship_to=SEATTLE, amounts=(1.0,)))
    assert again.status_code == 400
    error = again.json()["error"]
    assert error["code"] == "GetTaxError"
    assert error["details"][0]["refersTo"] == "DocStatus"
    assert avatax.get_transaction_by_code("O2C", "INV-C").json()["totalTax"] == 10.35
    # un-committing is refused as well
    assert avatax.commit_transaction("O2C", "INV-C", {"commit": False}).status_code == 400


def test_adjusting_a_committed_transaction_keeps_it_committed_in_a_new_version(
        avatax: AvataxClient) -> None:
    avatax.create_transaction(sales_invoice("INV-CA", ship_to=SEATTLE, commit=True))
    adjusted = avatax.create_or_adjust_transaction({"createTransactionModel": sales_invoice(
        "INV-CA", ship_to=SEATTLE, amounts=(50.0,))}).json()
    assert (adjusted["status"], adjusted["version"], adjusted["totalTax"]) == \
        ("Committed", 2, 5.18)
    assert adjusted["adjustmentReason"] == "Other"


def test_void_cancels_and_cancelled_is_final(avatax: AvataxClient, admin: httpx.Client) -> None:
    avatax.create_transaction(sales_invoice("INV-V", ship_to=SEATTLE, commit=True))
    voided = avatax.void_transaction("O2C", "INV-V", {"code": "DocVoided"})
    assert voided.status_code == 200 and voided.json()["status"] == "Cancelled"
    assert admin.get("/_sim/facts", params={"kind": "transaction.voided"}).json()
    again = avatax.void_transaction("O2C", "INV-V", {"code": "DocVoided"})
    assert again.json()["error"]["code"] == "TransactionAlreadyCancelled"
    adjust = avatax.create_or_adjust_transaction(
        {"createTransactionModel": sales_invoice("INV-V", ship_to=SEATTLE)})
    assert adjust.status_code == 400
    assert avatax.commit_transaction("O2C", "INV-V", {"commit": True}).status_code == 400
    bad = avatax.void_transaction("O2C", "INV-V", {"code": "Nope"})
    assert bad.json()["error"]["code"] == "InvalidEnumValue"


def test_recreating_a_saved_transaction_replaces_it(avatax: AvataxClient) -> None:
    first = avatax.create_transaction(sales_invoice("INV-R", ship_to=SEATTLE)).json()
    second = avatax.create_transaction(sales_invoice("INV-R", ship_to=SEATTLE,
                                                     amounts=(10.0,))).json()
    assert second["id"] == first["id"] and second["totalTax"] == 1.04
    listed = avatax.list_transactions_by_company("O2C").json()
    assert listed["@recordsetCount"] == 1 and listed["value"][0]["totalTax"] == 1.04


def test_list_filters_and_pages(avatax: AvataxClient) -> None:
    for i in range(3):
        avatax.create_transaction(sales_invoice(f"INV-L{i}", ship_to=SEATTLE, commit=i == 0))
    page = avatax.list_transactions_by_company("O2C", {"$top": 2}).json()
    assert page["@recordsetCount"] == 3 and len(page["value"]) == 2 and "@nextLink" in page
    committed = avatax.list_transactions_by_company(
        "O2C", {"$filter": "status eq 'Committed'"}).json()
    assert [d["code"] for d in committed["value"]] == ["INV-L0"]
    bad = avatax.list_transactions_by_company("O2C", {"$filter": "totalTax gt 5"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidQueryField"


def test_include_summary_only_omits_lines(avatax: AvataxClient) -> None:
    doc = avatax.create_transaction(sales_invoice("INV-I", ship_to=SEATTLE),
                                    {"$include": "SummaryOnly"}).json()
    assert "lines" not in doc and doc["summary"]


def test_tax_included_backs_out_the_tax(avatax: AvataxClient) -> None:
    model = sales_invoice("INV-TI", ship_to=SEATTLE, amounts=(110.35,))
    model["lines"][0]["taxIncluded"] = True
    doc = avatax.create_transaction(model).json()
    line = doc["lines"][0]
    assert (line["lineAmount"], line["tax"]) == (100.0, 10.35)
    assert_adds_up(doc)


def test_unknown_company_and_transaction_are_entity_not_found(avatax: AvataxClient) -> None:
    model = sales_invoice("INV-X", ship_to=SEATTLE, companyCode="NOPE")
    response = avatax.create_transaction(model)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "EntityNotFoundError"
    missing = avatax.get_transaction_by_code("O2C", "NEVER")
    assert missing.status_code == 404
    assert missing.json()["error"]["details"][0]["number"] == 4
    assert avatax.commit_transaction("O2C", "NEVER", {"commit": True}).status_code == 404


def test_per_legal_entity_companies_are_listed(avatax: AvataxClient) -> None:
    codes = {c["companyCode"]: c["country"] for c in avatax.query_companies().json()["value"]}
    assert codes["O2C"] == "US" and codes["O2C-DE"] == "DE"
    doc = avatax.create_transaction(sales_invoice(
        "INV-DE2", ship_to={"city": "Munich", "postalCode": "80331", "country": "DE"},
        companyCode="O2C-DE")).json()
    assert doc["companyId"] != avatax.create_transaction(
        sales_invoice("INV-US2", ship_to=SEATTLE)).json()["companyId"]
