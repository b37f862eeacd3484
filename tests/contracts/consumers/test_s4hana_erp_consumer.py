"""integration-layer → s4hana-erp: the cloud ERP adapter (``integration.adapters.s4hana``)
against the Pact mock server — the OData v2 dialect the layer depends on: ``sap-client``,
Basic auth of the communication user, the ``x-csrf-token`` handshake (token AND session
cookie on every write; the values come from the provider state), look-ups by ``$filter``
before every write (no idempotency key in OData v2), the business partner deep insert,
the journal entry of an invoice and the incoming payment that clears it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from pact import Pact, match
from pact_support import fast_policy, from_state, write_pact

from integration.adapters.http import make_client
from integration.adapters.s4hana import BP, JE, PAY, S4Hana
from integration.settings import RetrySettings

JSON = "application/json"
AUTH = {"Authorization": match.regex("Basic TzJDX0NPTU1fVVNFUjpvMmMtcGFzc3dvcmQ=",
                                     regex=r"^Basic [A-Za-z0-9+/=]+$")}
TOKEN = "JX7Px4VAbvDCtQsDLyQRlcPU"
COOKIE = "SAP_SESSIONID_O2C_100=contract-session"
DATE = r"^/Date\(\d+\)/$"
AMOUNT = r"^-?\d+\.\d{2}$"
REFERENCE = "7FE1103A-0001"


def _write_headers() -> dict[str, object]:
    return {**AUTH, "x-csrf-token": from_state(TOKEN, "${csrfToken}", r"^\S+$"),
            "Cookie": from_state(COOKIE, "${sessionCookie}", r"^SAP_SESSIONID_O2C_\d+=\S+$")}


def _csrf_fetch(pact: Pact, service: str, name: str) -> None:
    (pact.upon_receiving(f"a CSRF token fetch on {name}")
     .with_request("GET", f"{service}/")
     .with_headers({**AUTH, "x-csrf-token": "Fetch"})
     .with_query_parameter("sap-client", "100")
     .will_respond_with(200)
     .with_header("x-csrf-token", match.regex(TOKEN, regex=r"^\S+$"))
     .with_header("set-cookie", match.regex(f"{COOKIE}; HttpOnly; Path=/",
                                            regex=r"^SAP_SESSIONID_O2C_\d+=\S+;.*$")))


def _lookup(pact: Pact, service: str, entity: str, filter_example: str, filter_regex: str,
            what: str, state: str) -> None:
    (pact.upon_receiving(f"a look-up of {what} that does not exist yet")
     .given(state)
     .with_request("GET", f"{service}/{entity}")
     .with_headers({**AUTH, "Accept": "application/json"})
     .with_query_parameters({"sap-client": "100", "$format": "json", "$top": "1"})
     .with_query_parameter("$filter", match.regex(filter_example, regex=filter_regex))
     .will_respond_with(200)
     .with_body({"d": {"results": []}}, content_type=JSON))


def declare(pact: Pact) -> None:
    _lookup(pact, BP, "A_BusinessPartner", "SearchTerm1 eq 'CUST_01'",
            r"^SearchTerm1 eq '.+'$", "a business partner by search term",
            "no business partner with search term CUST_01 exists")
    _csrf_fetch(pact, BP, "API_BUSINESS_PARTNER")
    (pact.upon_receiving("a deep insert of a business partner with customer and company code")
     .given("a CSRF session is open on API_BUSINESS_PARTNER")
     .with_request("POST", f"{BP}/A_BusinessPartner")
     .with_headers(_write_headers())
     .with_query_parameter("sap-client", "100")
     .with_body({
         "BusinessPartnerCategory": "2",
         "OrganizationBPName1": match.regex("Müller Datensysteme GmbH", regex=r"^.{1,40}$"),
         "OrganizationBPName2": match.regex("", regex=r"^.{0,40}$"),
         "SearchTerm1": match.regex("CUST_01", regex=r"^.{1,20}$"),
         "to_BusinessPartnerAddress": {"results": match.each_like({
             "StreetName": match.regex("Dietmar-Hopp-Allee 16", regex=r"^.{0,60}$"),
             "PostalCode": match.regex("69190", regex=r"^.{0,10}$"),
             "CityName": match.regex("Walldorf", regex=r"^.{0,40}$"),
             "Region": match.regex("", regex=r"^.{0,3}$"),
             "Country": match.regex("DE", regex=r"^[A-Z]{2}$")}, min=1, max=1)},
         "to_Customer": {
             "VATRegistration": match.regex("DE811569869", regex=r"^.{0,20}$"),
             "to_CustomerCompany": {"results": match.each_like({
                 "CompanyCode": match.regex("1010", regex=r"^[A-Z0-9]{4}$"),
                 "PaymentTerms": match.regex("NT30", regex=r"^\w{1,4}$")}, min=1)}},
     }, content_type=JSON)
     .will_respond_with(201)
     .with_body({"d": {"BusinessPartner": match.regex("1000001", regex=r"^\d{1,10}$"),
                       "Customer": match.regex("1000001", regex=r"^\d{1,10}$")}},
                content_type=JSON))

    _lookup(pact, JE, "A_JournalEntry", f"CompanyCode eq '1010' and DocumentReferenceID eq "
            f"'{REFERENCE}'", r"^CompanyCode eq '\w{4}' and DocumentReferenceID eq '.{1,16}'$",
            "a journal entry by company code and reference",
            "no journal entry with reference 7FE1103A-0001 exists in company code 1010")
    _csrf_fetch(pact, JE, "API_O2C_JOURNALENTRY_SRV")
    # a balanced example (revenue + output tax = gross): every item matched by type
    items = [{"GLAccount": "41000000", "AmountInTransactionCurrency": "-49.00",
              "DocumentItemText": "in_1ContractInvoice00000001"},
             {"GLAccount": "22000000", "AmountInTransactionCurrency": "-9.31",
              "DocumentItemText": "Output tax in_1ContractInvoice00000001"}]
    (pact.upon_receiving("a customer invoice (DR) posted as a journal entry")
     .given("customer 1000001 exists in company code 1010 and a CSRF session is open on "
            "API_O2C_JOURNALENTRY_SRV")
     .with_request("POST", f"{JE}/A_JournalEntry")
     .with_headers(_write_headers())
     .with_query_parameter("sap-client", "100")
     .with_body({
         "CompanyCode": match.regex("1010", regex=r"^[A-Z0-9]{4}$"),
         "AccountingDocumentType": "DR",
         "DocumentDate": match.regex("/Date(1769817600000)/", regex=DATE),
         "PostingDate": match.regex("/Date(1769817600000)/", regex=DATE),
         "DocumentReferenceID": match.regex(REFERENCE, regex=r"^.{1,16}$"),
         "AccountingDocumentHeaderText": match.regex("in_1ContractInvoice000000",
                                                     regex=r"^.{0,25}$"),
         "Customer": from_state("1000001", "${customer}", r"^\d{1,10}$"),
         "AmountInTransactionCurrency": match.regex("58.31", regex=AMOUNT),
         "TaxAmount": match.regex("9.31", regex=AMOUNT),
         "TransactionCurrency": match.regex("EUR", regex=r"^[A-Z]{3}$"),
         "to_Item": {"results": match.type(items, min=1)},
     }, content_type=JSON)
     .will_respond_with(201)
     .with_body({"d": {"CompanyCode": match.regex("1010", regex=r"^[A-Z0-9]{4}$"),
                       "FiscalYear": match.regex("2026", regex=r"^\d{4}$"),
                       "AccountingDocument": match.regex("1800000000", regex=r"^\d{10}$"),
                       "DocumentReferenceID": match.regex(REFERENCE, regex=r"^.{1,16}$")}},
                content_type=JSON))

    _lookup(pact, PAY, "A_IncomingPayment", "CompanyCode eq '1010' and DocumentReferenceID eq "
            "'PSP123456789'", r"^CompanyCode eq '\w{4}' and DocumentReferenceID eq '.{1,16}'$",
            "an incoming payment by company code and reference",
            "no incoming payment with reference PSP123456789 exists in company code 1010")
    _csrf_fetch(pact, PAY, "API_O2C_INCOMINGPAYMENT_SRV")
    (pact.upon_receiving("an incoming payment that clears a posted invoice")
     .given("an invoice with reference 7FE1103A-0001 is posted for customer 1000001 in "
            "company code 1010 and a CSRF session is open on API_O2C_INCOMINGPAYMENT_SRV")
     .with_request("POST", f"{PAY}/A_IncomingPayment")
     .with_headers(_write_headers())
     .with_query_parameter("sap-client", "100")
     .with_body({
         "CompanyCode": match.regex("1010", regex=r"^[A-Z0-9]{4}$"),
         "Customer": from_state("1000001", "${customer}", r"^\d{1,10}$"),
         "DocumentDate": match.regex("/Date(1769904000000)/", regex=DATE),
         "PostingDate": match.regex("/Date(1769904000000)/", regex=DATE),
         "AmountInTransactionCurrency": match.regex("58.31", regex=AMOUNT),
         "TransactionCurrency": match.regex("EUR", regex=r"^[A-Z]{3}$"),
         "DocumentReferenceID": match.regex("PSP123456789", regex=r"^.{1,16}$"),
         "InvoiceReference": match.regex(REFERENCE, regex=r"^.{1,16}$"),
     }, content_type=JSON)
     .will_respond_with(201)
     .with_body({"d": {"AccountingDocument": match.regex("1400000000", regex=r"^\d{10}$"),
                       "InvoiceReference": match.regex(REFERENCE, regex=r"^.{1,16}$"),
                       "IsFullyCleared": True,
                       "ClearedAmount": match.regex("58.31", regex=AMOUNT)}},
                content_type=JSON))


async def exercise(url: str) -> None:
    settings = RetrySettings(attempts=1)
    s4 = S4Hana(make_client("cloud_erp", url, settings=settings,
                            auth=httpx.BasicAuth("O2C_COMM_USER", "o2c-password")),
                fast_policy(), sap_client="100", payment_terms="NT30")
    try:
        customer = await s4.ensure_customer(
            search_term="CUST_01", name="Müller Datensysteme GmbH", tax_id="DE811569869",
            address={"line1": "Dietmar-Hopp-Allee 16", "postal_code": "69190",
                     "city": "Walldorf", "country": "DE"}, company_code="1010")
        assert customer == "1000001"
        doc = await s4.post_invoice(company_code="1010", customer=customer,
                                    reference=REFERENCE,
                                    billing_invoice_id="in_1ContractInvoice00000001",
                                    at=datetime(2026, 1, 31, tzinfo=UTC), currency="EUR",
                                    gross="58.31", tax="9.31", net="49.00")
        assert doc["AccountingDocument"] == "1800000000"
        cleared = await s4.apply_payment(company_code="1010", customer=customer,
                                         invoice_reference=REFERENCE,
                                         payment_reference="PSP123456789",
                                         at=datetime(2026, 2, 1, tzinfo=UTC), currency="EUR",
                                         amount="58.31")
        assert cleared["IsFullyCleared"] is True
    finally:
        await s4.aclose()


def test_cloud_erp_adapter_contract() -> None:
    pact = Pact("integration-layer", "s4hana-erp").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
