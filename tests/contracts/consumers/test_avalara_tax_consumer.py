"""integration-layer → avalara-tax: the tax adapter (``integration.adapters.avatax.AvaTax``)
against the Pact mock server: address resolution, ``createoradjust`` of an uncommitted
SalesInvoice keyed by the billing invoice id, commit, and AvaTax's error body."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest
from pact import Pact, match
from pact_support import fast_policy, from_state, write_pact

from integration.adapters.avatax import AvaTax
from integration.adapters.http import VendorError, make_client
from integration.settings import RetrySettings

AUTH = {"Authorization": match.regex("Basic MjAwMDAwMDAwMTpvMmMtdGVzdC1saWNlbnNl",
                                     regex=r"^Basic [A-Za-z0-9+/=]+$")}
JSON = "application/json"
ADDRESS = {"line1": "410 Terry Ave N", "city": "Seattle", "region": "WA",
           "postal_code": "98109", "country": "US"}
CODE = "in_1ContractInvoice00000001"


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a request to resolve a customer's address")
     .with_request("POST", "/api/v2/addresses/resolve")
     .with_headers(AUTH)
     .with_body({"line1": match.str("410 Terry Ave N"), "city": match.str("Seattle"),
                 "region": match.str("WA"), "postalCode": match.str("98109"),
                 "country": match.regex("US", regex=r"^[A-Z]{2}$"), "textCase": "Mixed"},
                content_type=JSON)
     .will_respond_with(200)
     .with_body({"validatedAddresses": match.each_like({
         "line1": match.str("410 Terry Ave N"), "city": match.str("Seattle"),
         "region": match.str("WA"), "postalCode": match.str("98109-5210"),
         "country": match.regex("US", regex=r"^[A-Z]{2}$")}, min=1),
         "resolutionQuality": match.regex("Intersection",
                                          regex=r"^(Intersection|Rooftop|PostalCentroid"
                                                r"Good|PostalCentroidMedium|Street|"
                                                r"NotCoded|External|\w+)$")},
        content_type=JSON))

    model = {
        "type": "SalesInvoice", "code": match.regex(CODE, regex=r"^\S{1,50}$"),
        "companyCode": match.regex("O2C-US", regex=r"^[A-Z0-9-]{1,25}$"),
        "date": match.date("2026-01-31"),
        "customerCode": match.str("cust_01"),
        "currencyCode": match.regex("USD", regex=r"^[A-Z]{3}$"), "commit": False,
        "addresses": {"singleLocation": {
            "line1": match.str("410 Terry Ave N"), "city": match.str("Seattle"),
            "region": match.str("WA"), "postalCode": match.str("98109"),
            "country": match.regex("US", regex=r"^[A-Z]{2}$")}},
        "lines": match.each_like({"number": "1", "quantity": match.int(1),
                                  "amount": match.decimal(49.0),
                                  "taxCode": match.str("SW054000"),
                                  "description": match.str(f"Invoice {CODE}")}, min=1),
    }
    (pact.upon_receiving("a request to create or adjust an uncommitted sales invoice")
     .with_request("POST", "/api/v2/transactions/createoradjust")
     .with_headers(AUTH)
     .with_body({"createTransactionModel": model}, content_type=JSON)
     .will_respond_with(201)
     .with_body({"code": match.regex(CODE, regex=r"^\S{1,50}$"),
                 "status": match.regex("Saved", regex=r"^(Saved|Posted|Committed)$"),
                 "totalTax": match.decimal(4.9),
                 "totalAmount": match.decimal(49.0)}, content_type=JSON))

    (pact.upon_receiving("a request to commit a saved transaction")
     .given("an uncommitted transaction exists in company O2C-US")
     .with_request("POST", from_state(f"/api/v2/companies/O2C-US/transactions/{CODE}/commit",
                                      "/api/v2/companies/O2C-US/transactions/${code}/commit",
                                      r"^/api/v2/companies/[A-Z0-9-]+/transactions/in_\w+"
                                      r"/commit$"))
     .with_headers(AUTH)
     .with_body({"commit": True}, content_type=JSON)
     .will_respond_with(200)
     .with_body({"code": from_state(CODE, "${code}", r"^\S{1,50}$"),
                 "status": "Committed"}, content_type=JSON))

    (pact.upon_receiving("a request to commit a transaction that does not exist")
     .with_request("POST", "/api/v2/companies/O2C-US/transactions/missing/commit")
     .with_headers(AUTH)
     .with_body({"commit": True}, content_type=JSON)
     .will_respond_with(404)
     .with_body({"error": {"code": match.str("EntityNotFoundError"),
                           "message": match.str("Transaction not found"),
                           "details": match.each_like({"code": match.str("EntityNotFoundError"),
                                                       "message": match.str("not found")})}},
                content_type=JSON))


async def exercise(url: str) -> None:
    tax = AvaTax(make_client("tax", url, settings=RetrySettings(attempts=1),
                             auth=httpx.BasicAuth("2000000001", "o2c-test-license")),
                 fast_policy())
    try:
        resolved = await tax.resolve_address(ADDRESS)
        assert resolved["validatedAddresses"][0]["postalCode"]
        transaction = await tax.determine_tax(
            code=CODE, company_code="O2C-US", customer_code="cust_01", currency="USD",
            net_minor=4900, on=date(2026, 1, 31), address=ADDRESS, tax_code="SW054000")
        assert transaction["code"] == CODE and transaction["totalTax"] >= 0
        committed = await tax.commit("O2C-US", CODE)
        assert committed["status"] == "Committed"
        with pytest.raises(VendorError) as missing:
            await tax.commit("O2C-US", "missing")
        assert missing.value.status == 404 and missing.value.code == "EntityNotFoundError"
    finally:
        await tax.aclose()


def test_tax_adapter_contract() -> None:
    pact = Pact("integration-layer", "avalara-tax").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
