"""integration-layer → legacy-erp: the SOAP 1.1 adapter (``integration.adapters.legacy_erp``)
against the Pact mock server, with XML bodies and XML matchers (``pact.xml``): the
envelope and document/literal elements of the service's WSDL (``urn:o2c:legacy-erp:v1``),
``SOAPAction`` per operation, HTTP Basic auth, the ``soap:Fault`` with an ``ErpError``
detail the layer turns into "customer not found", and the GetOpenItems look-up the layer
relies on before it retries a posting (the legacy ERP has no idempotency)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
from pact import Pact, match, xml
from pact_support import fast_policy, from_state, write_pact

from integration.adapters.http import make_client
from integration.adapters.legacy_erp import NS, SERVICE_PATH, SOAP_ENV, LegacyErp

XML = "text/xml; charset=utf-8"
AUTH = {"Authorization": match.regex("Basic TzJDX1JGQzpMZWdhY3kjMjAwNA==",
                                     regex=r"^Basic [A-Za-z0-9+/=]+$")}
CUSTOMER = "LCONTRACT1"
REFERENCE = "in_1ContractInvoice00000001"
DOC = r"^\d{10}$"
AMOUNT = r"^\d+\.\d{2}$"
DATE = r"^\d{4}-\d{2}-\d{2}$"


PREFIXES = {"soap": SOAP_ENV, "erp": NS}


def _envelope(*body: xml.XmlElement) -> dict[str, object]:
    return xml.body(xml.element("soap:Envelope", xml.element("soap:Body", *body),
                                attrs={"xmlns:soap": SOAP_ENV, "xmlns:erp": NS}))


def qualified_rules(body: dict[str, Any]) -> dict[str, Any]:
    """The body's matchers again, under the namespace-qualified paths the Pact verifier
    computes for XML (``$['urn:…:Element']['#text']``). pact_matching names namespaced
    elements by URI while the consumer DSL writes their prefixes, so without these the
    verifier would compare every text exactly (pact_models 1.3)."""
    rules: dict[str, Any] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        prefix, _, local = str(node["name"]).rpartition(":")
        here = f"{path}['{PREFIXES[prefix]}:{local}']" if prefix else f"{path}.{local}"
        for child in node.get("children", []):
            if "matcher" in child:
                rules[f"{here}['#text']"] = {"combine": "AND", "matchers": [
                    child["matcher"].to_matching_rule()]}
            elif "name" in child:
                walk(child, here)

    walk(body["root"], "$")
    return {"body": rules}


def _op(name: str, *children: xml.XmlElement) -> xml.XmlElement:
    return xml.element(f"erp:{name}", *children)


def _e(name: str, value: object) -> xml.XmlElement:
    return xml.element(f"erp:{name}", value)  # type: ignore[arg-type]


def _call(pact: Pact, description: str, state: str, operation: str,
          request: xml.XmlElement, status: int, response: xml.XmlElement) -> None:
    request_body, response_body = _envelope(request), _envelope(response)
    (pact.upon_receiving(description)
     .given(state)
     .with_request("POST", SERVICE_PATH)
     .with_headers(AUTH)
     .with_header("SOAPAction", f'"{NS}/{operation}"')
     .with_body(request_body, content_type=XML)
     .with_matching_rules(qualified_rules(request_body), "Request")
     .will_respond_with(status)
     .with_body(response_body, content_type=XML)
     .with_matching_rules(qualified_rules(response_body), "Response"))


def declare(pact: Pact) -> None:
    number = match.regex(CUSTOMER, regex=r"^[A-Z0-9]{1,10}$")
    _call(pact, "a GetCustomer for a customer that does not exist",
          f"customer {CUSTOMER} does not exist", "GetCustomer",
          _op("GetCustomer", _e("CustomerNumber", number)), 500,
          xml.element("soap:Fault",
                      xml.element("faultcode", "soap:Client"),
                      xml.element("faultstring", match.str(f"Customer {CUSTOMER} does not "
                                                           "exist")),
                      xml.element("detail", _op("ErpError", _e("Code", "CustomerNotFound"),
                                                _e("Message", match.str("not found"))))))
    _call(pact, "a CreateCustomer with the layer's customer number",
          f"customer {CUSTOMER} does not exist", "CreateCustomer",
          _op("CreateCustomer", _e("CustomerNumber", number),
              _e("Name", match.regex("Acme Analytics Inc", regex=r"^.{1,35}$")),
              _e("Street", match.regex("410 Terry Ave N", regex=r"^.{0,35}$")),
              _e("City", match.regex("Seattle", regex=r"^.{0,35}$")),
              _e("PostalCode", match.regex("98109", regex=r"^.{0,10}$")),
              _e("Country", match.regex("US", regex=r"^[A-Z]{2}$")),
              _e("Currency", match.regex("USD", regex=r"^[A-Z]{3}$")),
              _e("CompanyCode", match.regex("1000", regex=r"^\d{4}$"))), 200,
          _op("CreateCustomerResponse", _e("CustomerNumber", number)))
    _call(pact, "a PostInvoice for a customer of the company code",
          f"customer {CUSTOMER} exists in company code 1000", "PostInvoice",
          _op("PostInvoice", _e("CompanyCode", match.regex("1000", regex=r"^\d{4}$")),
              _e("CustomerNumber", number),
              _e("ExternalReference", match.regex(REFERENCE, regex=r"^.{1,35}$")),
              _e("InvoiceDate", match.regex("2026-01-31", regex=DATE)),
              _e("DueDate", match.regex("2026-03-02", regex=DATE)),
              _e("Currency", match.regex("USD", regex=r"^[A-Z]{3}$")),
              _e("NetAmount", match.regex("49.00", regex=AMOUNT)),
              _e("TaxAmount", match.regex("3.92", regex=AMOUNT)),
              _e("GrossAmount", match.regex("52.92", regex=AMOUNT))), 200,
          _op("PostInvoiceResponse", _e("Status", match.regex("POSTED",
                                                               regex=r"^(POSTED|QUEUED)$")),
              _e("DocumentNumber", match.regex("9000000001", regex=DOC)),
              _e("FiscalYear", match.regex("2026", regex=r"^\d{4}$"))))
    posted = f"invoice {REFERENCE} is posted for customer {CUSTOMER} in company code 1000"
    _call(pact, "an ApplyPayment that clears a posted invoice", posted, "ApplyPayment",
          _op("ApplyPayment", _e("CompanyCode", match.regex("1000", regex=r"^\d{4}$")),
              _e("CustomerNumber", number),
              _e("ExternalReference", match.regex(REFERENCE, regex=r"^.{1,35}$")),
              _e("DocumentNumber", from_state("9000000001", "${document}", DOC)),
              _e("Amount", match.regex("52.92", regex=AMOUNT)),
              _e("Currency", match.regex("USD", regex=r"^[A-Z]{3}$")),
              _e("PaymentDate", match.regex("2026-02-01", regex=DATE)),
              _e("PaymentReference", match.regex("PSP123456789", regex=r"^.{1,35}$"))), 200,
          _op("ApplyPaymentResponse", _e("Status", "CLEARED"),
              _e("ClearingDocumentNumber", match.regex("1400000001", regex=DOC)),
              _e("DocumentNumber", from_state("9000000001", "${document}", DOC))))
    _call(pact, "a GetOpenItems look-up of a posted invoice by external reference", posted,
          "GetOpenItems",
          _op("GetOpenItems", _e("CompanyCode", match.regex("1000", regex=r"^\d{4}$")),
              _e("CustomerNumber", number),
              _e("ExternalReference", match.regex(REFERENCE, regex=r"^.{1,35}$")),
              _e("IncludeCleared", "true")), 200,
          _op("GetOpenItemsResponse", _op(
              "OpenItem", _e("DocumentNumber", match.regex("9000000001", regex=DOC)),
              _e("FiscalYear", match.regex("2026", regex=r"^\d{4}$")),
              _e("ExternalReference", match.regex(REFERENCE, regex=r"^.{1,35}$")),
              _e("Amount", match.regex("52.92", regex=AMOUNT)),
              _e("Status", match.regex("OPEN", regex=r"^(OPEN|CLEARED|QUEUED)$")))))


async def exercise(url: str) -> None:
    erp = LegacyErp(make_client("legacy_erp", url, settings=fast_policy().settings,
                                auth=httpx.BasicAuth("O2C_RFC", "Legacy#2004")), fast_policy())
    try:
        number = await erp.ensure_customer(
            number=CUSTOMER, name="Acme Analytics Inc", country="US", currency="USD",
            address={"line1": "410 Terry Ave N", "city": "Seattle", "postal_code": "98109"},
            company_code="1000", tax_id=None)
        assert number == CUSTOMER
        posted = await erp.post_invoice(
            company_code="1000", customer=CUSTOMER, reference=REFERENCE,
            invoice_date=date(2026, 1, 31), due_date=date(2026, 3, 2), currency="USD",
            net="49.00", tax="3.92", gross="52.92")
        assert posted["Status"] == "POSTED" and posted["DocumentNumber"]
        cleared = await erp.apply_payment(
            company_code="1000", customer=CUSTOMER, reference=REFERENCE,
            document=posted["DocumentNumber"], amount="52.92", currency="USD",
            payment_date=date(2026, 2, 1), payment_reference="PSP123456789")
        assert cleared["Status"] == "CLEARED"
        found = await erp.find_posting("1000", CUSTOMER, REFERENCE)
        assert found is not None and found["DocumentNumber"] == posted["DocumentNumber"]
    finally:
        await erp.aclose()


def test_legacy_erp_adapter_contract() -> None:
    pact = Pact("integration-layer", "legacy-erp").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
