"""integration-layer → stripe-billing: the billing adapter's calls, driven through the REAL
adapter (``integration.adapters.stripe.StripeBilling``) against the Pact mock server.

The pact says what the layer needs from Stripe: form-encoded bodies in bracket notation, an
``Idempotency-Key`` per business operation, ``sk_test_`` bearer auth, and only the response
fields the layer reads (ids by prefix, statuses, amounts as integers), with matchers.
"""

from __future__ import annotations

import asyncio

import pytest
from pact import Pact, match
from pact_support import fast_policy, from_state, write_pact

from integration.adapters.http import VendorError, make_client
from integration.adapters.stripe import StripeBilling
from integration.settings import RetrySettings

AUTH = {"Authorization": match.regex("Bearer sk_test_o2c_harness", regex=r"^Bearer sk_test_\w+$")}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
INVOICE_ID = r"^in_[A-Za-z0-9]{24}$"
INVOICE_PATH = r"^/v1/invoices/in_[A-Za-z0-9]{24}"


def _invoice(status: str, invoice_id: str = "in_1ContractInvoice00000001") -> dict[str, object]:
    return {
        "id": match.regex(invoice_id, regex=INVOICE_ID),
        "object": "invoice",
        "customer": match.regex("cus_Contract000000", regex=r"^cus_\w+$"),
        "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
        "status": status,
        "total": match.int(4900),
        "created": match.int(1767225600),
    }


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a request to create a customer")
     .with_request("POST", "/v1/customers")
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex("customer-create:cust_01",
                                                 regex=r"^customer-create:.+$"))
     .with_body({"name": match.str("Acme Analytics Inc"),
                 "email": match.regex("billing@acme.example", regex=r"^[^@\s]+@[^@\s]+$"),
                 "metadata[canonical_id]": match.regex("cust_01", regex=r"^\S+$"),
                 "address[line1]": match.str("410 Terry Ave N"),
                 "address[city]": match.str("Seattle"),
                 "address[country]": match.regex("US", regex=r"^[A-Z]{2}$")},
                content_type=FORM)
     .will_respond_with(200)
     .with_body({"id": match.regex("cus_Contract000000", regex=r"^cus_\w+$"),
                 "object": "customer",
                 "metadata": {"canonical_id": match.str("cust_01")}}, content_type=JSON))

    (pact.upon_receiving("a request for the price with lookup key growth-usd")
     .given("a price with lookup key growth-usd exists")
     .with_request("GET", "/v1/prices")
     .with_headers(AUTH)
     .with_query_parameters({"lookup_keys[0]": "growth-usd", "limit": "1"})
     .will_respond_with(200)
     .with_body({"object": "list",
                 "data": match.each_like({
                     "id": match.regex("price_Contract0000", regex=r"^price_\w+$"),
                     "object": "price",
                     "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
                     "unit_amount": match.int(4900),
                     "recurring": {"interval": match.regex("month", regex=r"^(day|week|"
                                                           r"month|year)$"),
                                   "usage_type": match.regex("licensed",
                                                             regex=r"^(licensed|metered)$")},
                 }, min=1)}, content_type=JSON))

    (pact.upon_receiving("a request to subscribe a customer to a monthly price")
     .given("a customer and a monthly price exist")
     .with_request("POST", "/v1/subscriptions")
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex("subscription-create:sub-key-1",
                                                 regex=r"^subscription-create:.+$"))
     .with_body({"customer": from_state("cus_Contract000000", "${customerId}", r"^cus_\w+$"),
                 "items[0][price]": from_state("price_Contract0000", "${priceId}",
                                               r"^price_\w+$"),
                 "items[0][quantity]": match.regex("1", regex=r"^\d+$"),
                 "collection_method": "send_invoice",
                 "days_until_due": match.regex("30", regex=r"^\d+$"),
                 "metadata[canonical_id]": match.str("cust_01")}, content_type=FORM)
     .will_respond_with(200)
     .with_body({"id": match.regex("sub_Contract000000", regex=r"^sub_\w+$"),
                 "object": "subscription",
                 "status": match.regex("active", regex=r"^(active|trialing|incomplete)$"),
                 "items": {"data": match.each_like({
                     "id": match.regex("si_Contract0000000", regex=r"^si_\w+$"),
                     "price": {"id": match.regex("price_Contract0000",
                                                 regex=r"^price_\w+$")}})}},
                content_type=JSON))

    (pact.upon_receiving("a request for a draft invoice")
     .given("a draft invoice exists")
     .with_request("GET", from_state("/v1/invoices/in_1ContractInvoice00000001",
                                     "/v1/invoices/${invoiceId}", INVOICE_PATH + "$"))
     .with_headers(AUTH)
     .will_respond_with(200)
     .with_body(_invoice("draft"), content_type=JSON))

    (pact.upon_receiving("a request to hold a draft invoice (auto_advance off)")
     .given("a draft invoice exists")
     .with_request("POST", from_state("/v1/invoices/in_1ContractInvoice00000001",
                                      "/v1/invoices/${invoiceId}", INVOICE_PATH + "$"))
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex("invoice-hold:in_1ContractInvoice00000001",
                                                 regex=r"^invoice-hold:in_\w+$"))
     .with_body({"auto_advance": "false"}, content_type=FORM)
     .will_respond_with(200)
     .with_body({**_invoice("draft"), "auto_advance": False}, content_type=JSON))

    (pact.upon_receiving("a request to add the tax line to a draft invoice")
     .given("a draft invoice exists")
     .with_request("POST", "/v1/invoiceitems")
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex(
         "invoice-tax-line:in_1ContractInvoice00000001:TX-1:392",
         regex=r"^invoice-tax-line:in_\w+:.+:\d+$"))
     .with_body({"customer": from_state("cus_Contract000000", "${customerId}", r"^cus_\w+$"),
                 "invoice": from_state("in_1ContractInvoice00000001", "${invoiceId}", INVOICE_ID),
                 "currency": match.regex("usd", regex=r"^[a-z]{3}$"),
                 "amount": match.regex("392", regex=r"^\d+$"),
                 "description": match.str("Tax (8.00%)"),
                 "discountable": "false",
                 "metadata[kind]": "tax",
                 "metadata[tax_transaction]": match.str("TX-1")}, content_type=FORM)
     .will_respond_with(200)
     .with_body({"id": match.regex("ii_Contract0000000", regex=r"^ii_\w+$"),
                 "object": "invoiceitem", "amount": match.int(392)}, content_type=JSON))

    (pact.upon_receiving("a request to finalize a draft invoice")
     .given("a draft invoice exists")
     .with_request("POST", from_state("/v1/invoices/in_1ContractInvoice00000001/finalize",
                                      "/v1/invoices/${invoiceId}/finalize",
                                      INVOICE_PATH + "/finalize$"))
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex("invoice-finalize:in_1ContractInvoice00000001",
                                                 regex=r"^invoice-finalize:in_\w+$"))
     .with_body({"auto_advance": "false"}, content_type=FORM)
     .will_respond_with(200)
     .with_body({**_invoice("open"),
                 "number": match.regex("7FE1103A-0001", regex=r"^[A-Z0-9]+-\d{4,}$"),
                 "status_transitions": {"finalized_at": match.int(1767225600)}},
                content_type=JSON))

    (pact.upon_receiving("a request to mark an open invoice paid out of band")
     .given("an open invoice exists")
     .with_request("POST", from_state("/v1/invoices/in_1ContractInvoice00000001/pay",
                                      "/v1/invoices/${invoiceId}/pay",
                                      INVOICE_PATH + "/pay$"))
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex("invoice-pay-oob:in_1ContractInvoice00000001",
                                                 regex=r"^invoice-pay-oob:in_\w+$"))
     .with_body({"paid_out_of_band": "true"}, content_type=FORM)
     .will_respond_with(200)
     .with_body(_invoice("paid"), content_type=JSON))

    (pact.upon_receiving("a request for an invoice that does not exist")
     .with_request("GET", "/v1/invoices/in_DoesNotExist")
     .with_headers(AUTH)
     .will_respond_with(404)
     .with_body({"error": {"type": "invalid_request_error",
                           "code": "resource_missing",
                           "message": match.str("No such invoice: 'in_DoesNotExist'")}},
                content_type=JSON))

    (pact.upon_receiving("a request to register the layer's webhook endpoint")
     .with_request("POST", "/v1/webhook_endpoints")
     .with_headers(AUTH)
     .with_header("Idempotency-Key", match.regex(
         "webhook-endpoint:http://127.0.0.1:8100/webhooks/stripe",
         regex=r"^webhook-endpoint:https?://.+$"))
     .with_body({"url": match.regex("http://127.0.0.1:8100/webhooks/stripe",
                                    regex=r"^https?://.+$"),
                 "enabled_events[0]": "invoice.created",
                 "enabled_events[1]": "invoice.finalized",
                 "description": match.str("o2c reference integration layer")},
                content_type=FORM)
     .will_respond_with(200)
     .with_body({"id": match.regex("we_Contract0000000", regex=r"^we_\w+$"),
                 "object": "webhook_endpoint",
                 "secret": match.regex("whsec_contract", regex=r"^whsec_\w+$")},
                content_type=JSON))


async def exercise(url: str) -> None:
    settings = RetrySettings(attempts=1)
    billing = StripeBilling(make_client("billing", url, settings=settings, headers={
        "Authorization": "Bearer sk_test_o2c_harness"}), fast_policy())
    try:
        customer = await billing.create_customer(
            key="cust_01", name="Acme Analytics Inc", email="billing@acme.example",
            address={"line1": "410 Terry Ave N", "city": "Seattle", "postal_code": None,
                     "country": "US"}, metadata={"canonical_id": "cust_01"})
        assert customer["id"].startswith("cus_")
        price = await billing.resolve_price("growth-usd")
        assert price["recurring"]["usage_type"] == "licensed"
        sub = await billing.create_subscription(
            key="sub-key-1", customer=customer["id"],
            items=[{"price": price["id"], "quantity": 1}], days_until_due=30,
            metadata={"canonical_id": "cust_01"})
        assert sub["items"]["data"][0]["price"]["id"] == price["id"]

        invoice_id = "in_1ContractInvoice00000001"
        invoice = await billing.get_invoice(invoice_id)
        assert invoice["status"] == "draft"
        held = await billing.hold_invoice(invoice_id)
        assert held["auto_advance"] is False
        line = await billing.add_tax_line(invoice=invoice, amount=392,
                                          description="Tax (8.00%)", transaction_code="TX-1")
        assert line["amount"] == 392
        finalized = await billing.finalize_invoice(invoice_id)
        assert finalized["status"] == "open" and finalized["number"]
        paid = await billing.pay_out_of_band(invoice_id)
        assert paid["status"] == "paid"

        with pytest.raises(VendorError) as missing:
            await billing.get_invoice("in_DoesNotExist")
        assert (missing.value.status, missing.value.code) == (404, "resource_missing")

        endpoint = await billing.register_webhook(
            "http://127.0.0.1:8100/webhooks/stripe", ["invoice.created", "invoice.finalized"])
        assert endpoint["secret"].startswith("whsec_")
    finally:
        await billing.aclose()


def test_billing_adapter_contract() -> None:
    pact = Pact("integration-layer", "stripe-billing").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
