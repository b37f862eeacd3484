"""customer-portal → integration-layer: a customer's account, a posted invoice with its ERP
document and amounts in minor units, an applied payment, and the 404 of an unknown invoice."""

from __future__ import annotations

import pytest
from domain_clients import CustomerPortalClient, DomainApiError
from pact import Pact, match
from pact_support import from_state, write_pact

JSON = "application/json"
CUSTOMER = "cus_0123456789abcdef0123456789abcdef"
INVOICE = "in_1ContractInvoice00000001"
PSP = "PSPCONTRACT00001"


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a request for the account of an onboarded customer")
     .given("customer 001CONTRACT0000001 is onboarded")
     .with_request("GET", from_state(f"/customers/{CUSTOMER}", "/customers/${customerId}",
                                     r"^/customers/cus_[0-9a-f]{32}$"))
     .will_respond_with(200)
     .with_body({"id": from_state(CUSTOMER, "${customerId}", r"^cus_[0-9a-f]{32}$"),
                 "name": match.str("Acme Analytics Inc"),
                 "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                 "email": match.str("billing@acme.example"),
                 "address": {"line1": match.str("410 Terry Ave N"),
                             "city": match.str("Seattle"),
                             "country": match.regex("US", regex=r"^[A-Z]{2}$")},
                 "status": "onboarded"}, content_type=JSON))

    (pact.upon_receiving("a request for a posted invoice by its billing id")
     .given("an invoice of customer 001CONTRACT0000001 is posted")
     .with_request("GET", from_state(f"/invoices/{INVOICE}", "/invoices/${invoiceId}",
                                     r"^/invoices/in_\w+$"))
     .will_respond_with(200)
     .with_body({"id": match.regex("inv_0123456789abcdef0123456789abcdef",
                                   regex=r"^inv_[0-9a-f]{32}$"),
                 "billing_invoice_id": from_state(INVOICE, "${invoiceId}", r"^in_\w+$"),
                 "number": match.regex("7FE1103A-0001", regex=r"^[A-Z0-9]+-\d{4,}$"),
                 "customer_id": from_state(CUSTOMER, "${customerId}", r"^cus_[0-9a-f]{32}$"),
                 "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                 "net_amount": match.int(4900), "tax_amount": match.int(392),
                 "gross_amount": match.int(5292),
                 "status": match.regex("posted", regex=r"^(posted|paid)$"),
                 "erp_document": match.regex("9000000001", regex=r"^\w+$")},
                content_type=JSON))

    (pact.upon_receiving("a request for an applied payment by its PSP reference")
     .given("a payment of that invoice is applied")
     .with_request("GET", from_state(f"/payments/{PSP}", "/payments/${pspReference}",
                                     r"^/payments/\w+$"))
     .will_respond_with(200)
     .with_body({"id": from_state("pay_0123456789abcdef0123456789abcdef", "${paymentId}",
                                  r"^pay_\w+$"),
                 "psp_reference": from_state(PSP, "${pspReference}", r"^\w+$"),
                 "merchant_reference": from_state(INVOICE, "${invoiceId}", r"^in_\w+$"),
                 "amount": match.int(5292),
                 "currency": match.regex("USD", regex=r"^[A-Z]{3}$"),
                 "status": "applied"}, content_type=JSON))

    (pact.upon_receiving("a request for an invoice the layer does not know")
     .with_request("GET", "/invoices/no-such-invoice")
     .will_respond_with(404)
     .with_body({"detail": match.str("no invoice no-such-invoice")}, content_type=JSON))


def test_customer_portal_contract() -> None:
    pact = Pact("customer-portal", "integration-layer").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        portal = CustomerPortalClient(str(server.url))
        assert portal.account(CUSTOMER)["status"] == "onboarded"
        invoice = portal.invoice(INVOICE)
        assert invoice["gross_amount"] == invoice["net_amount"] + invoice["tax_amount"]
        assert portal.payment(PSP)["status"] == "applied"
        with pytest.raises(DomainApiError) as missing:
            portal.invoice("no-such-invoice")
        assert missing.value.status == 404
    write_pact(pact)
