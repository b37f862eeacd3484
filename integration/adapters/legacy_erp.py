"""Legacy ERP adapter: SOAP 1.1 document/literal envelopes built with lxml against the
service's WSDL contract (namespace ``urn:o2c:legacy-erp:v1``), HTTP Basic auth, ``SOAPAction``
per operation, ``soap:Fault`` with an ``ErpError`` detail: ``soap:Client`` faults are
permanent, ``soap:Server`` faults (batch window closed, system unavailable) transient.

The legacy ERP has **no idempotency**: a retried PostInvoice books a second document. So the
adapter never retries a posting blindly — before every retry it asks GetOpenItems whether the
ExternalReference is already booked (or queued). The layer's own posting ledger
(``erp_postings``) adds the same check across restarts.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import httpx
from lxml import etree
from lxml.builder import ElementMaker

from .http import (
    Adapter,
    InDoubt,
    RetryPolicy,
    TransientError,
    VendorError,
    is_transient_status,
)

NS = "urn:o2c:legacy-erp:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_PATH = "/soap/LegacyErp"
_E = ElementMaker(namespace=NS, nsmap={"erp": NS})
_S = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV})
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NAME_MAX = 35


def customer_number_for(canonical_id: str) -> str:
    """A deterministic legacy customer number for a canonical customer ("L" + 9 base36): a
    retried CreateCustomer then fails with DUPLICATE_CUSTOMER instead of creating a twin."""
    num = int.from_bytes(hashlib.sha256(canonical_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        num, rem = divmod(num, 36)
        chars.append(_B36[rem])
    return "L" + "".join(chars)


def _clip(value: str | None, width: int) -> str | None:
    return value[:width] if value else None


class LegacyErp(Adapter):
    system = "legacy_erp"

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy) -> None:
        super().__init__(client, policy)

    def vendor_error(self, response: httpx.Response) -> VendorError:
        code, message, faultcode = "HTTP", response.text[:300], ""
        try:
            root = etree.fromstring(response.content)
            fault = root.find(f".//{{{SOAP_ENV}}}Fault")
            if fault is not None:
                faultcode = fault.findtext("faultcode") or ""
                message = fault.findtext("faultstring") or message
                code = fault.findtext(f".//{{{NS}}}Code") or faultcode
        except etree.XMLSyntaxError:
            pass
        return VendorError(self.system, response.status_code, code, message,
                           {"faultcode": faultcode})

    async def call(self, operation: str, *children: etree._Element) -> etree._Element:
        """One SOAP call (no retry): the response's body element, or an error."""
        envelope = _S.Envelope(_S.Body(getattr(_E, operation)(*children)))
        body = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
        response = await self.client.post(SERVICE_PATH, content=body, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}/{operation}"'})
        if response.status_code >= 400:
            err = self.vendor_error(response)
            server_side = str(err.body.get("faultcode", "")).endswith("Server")
            if is_transient_status(response.status_code) and (
                    server_side or response.status_code != 500):
                raise TransientError(self.system, err.message, status=response.status_code,
                                     retry_after=None if "retry-after" not in response.headers
                                     else float(response.headers["retry-after"]))
            raise err
        root = etree.fromstring(response.content)
        result = root.find(f"{{{SOAP_ENV}}}Body/{{{NS}}}{operation}Response")
        if result is None:
            raise VendorError(self.system, response.status_code, "MALFORMED_RESPONSE",
                              f"no {operation}Response in the SOAP body")
        return result

    @staticmethod
    def _fields(element: etree._Element) -> dict[str, str]:
        return {etree.QName(child).localname: (child.text or "") for child in element}

    @staticmethod
    def _opt(name: str, value: str | None) -> list[etree._Element]:
        return [getattr(_E, name)(value)] if value else []

    # -- customers --------------------------------------------------------------------------
    async def get_customer(self, number: str) -> dict[str, str] | None:
        try:
            result = await self.policy.run(self.system, lambda: self.call(
                "GetCustomer", _E.CustomerNumber(number)))
        except VendorError as err:
            if err.code == "CustomerNotFound":
                return None
            raise
        customer = result.find(f"{{{NS}}}Customer")
        return self._fields(customer) if customer is not None else None

    async def ensure_customer(self, *, number: str, name: str, address: dict[str, Any],
                              country: str, currency: str, company_code: str,
                              tax_id: str | None) -> str:
        """CreateCustomer with the layer's deterministic number; an existing one is reused."""
        children = [_E.CustomerNumber(number), _E.Name(name[:NAME_MAX]),
                    *self._opt("Street", _clip(address.get("line1"), NAME_MAX)),
                    *self._opt("City", _clip(address.get("city"), NAME_MAX)),
                    *self._opt("PostalCode", _clip(address.get("postal_code"), 10)),
                    _E.Country(country), _E.Currency(currency), _E.CompanyCode(company_code),
                    *self._opt("TaxId", _clip(tax_id, 20))]

        async def create() -> str:
            try:
                result = await self.call("CreateCustomer", *children)
            except VendorError as err:
                if err.code == "DUPLICATE_CUSTOMER":
                    return number  # created by an earlier attempt of ours
                raise
            return result.findtext(f"{{{NS}}}CustomerNumber") or number

        existing = await self.get_customer(number)
        if existing is not None:
            if existing.get("CompanyCode") != company_code:
                raise VendorError(self.system, 500, "CUSTOMER_NOT_IN_COMPANY_CODE",
                                  f"legacy customer {number} is booked in company code "
                                  f"{existing.get('CompanyCode')}, not {company_code}")
            return number
        return await self.policy.run(self.system, create)

    # -- open items -------------------------------------------------------------------------
    async def open_items(self, company_code: str, *, customer: str | None = None,
                         reference: str | None = None,
                         include_cleared: bool = True) -> list[dict[str, str]]:
        children = [_E.CompanyCode(company_code), *self._opt("CustomerNumber", customer),
                    *self._opt("ExternalReference", reference),
                    _E.IncludeCleared("true" if include_cleared else "false")]
        result = await self.policy.run(self.system, lambda: self.call("GetOpenItems",
                                                                      *children))
        return [self._fields(item) for item in result.findall(f"{{{NS}}}OpenItem")]

    async def find_posting(self, company_code: str, customer: str,
                           reference: str) -> dict[str, str] | None:
        """The booked (or queued) document carrying ``reference``, if any."""
        items = await self.open_items(company_code, customer=customer, reference=reference)
        booked = [i for i in items if i.get("DocumentNumber")]
        candidates = booked or items
        return candidates[0] if candidates else None

    # -- postings ---------------------------------------------------------------------------
    async def post_invoice(self, *, company_code: str, customer: str, reference: str,
                           invoice_date: date, due_date: date, currency: str, net: str,
                           tax: str, gross: str) -> dict[str, str]:
        """PostInvoice, retried only after GetOpenItems proved it is not booked yet."""
        children = [_E.CompanyCode(company_code), _E.CustomerNumber(customer),
                    _E.ExternalReference(reference), _E.InvoiceDate(invoice_date.isoformat()),
                    _E.DueDate(due_date.isoformat()), _E.Currency(currency),
                    _E.NetAmount(net), _E.TaxAmount(tax), _E.GrossAmount(gross)]

        async def post() -> dict[str, str]:
            try:
                return self._fields(await self.call("PostInvoice", *children))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                raise  # never reached the ERP: safe to retry
            except (httpx.TimeoutException, httpx.RemoteProtocolError,
                    httpx.ReadError) as exc:
                raise InDoubt(self.system, f"PostInvoice {reference}: {type(exc).__name__}; "
                              "the ERP may have booked it") from exc
            except TransientError as err:
                if err.status == 504:  # a gateway gave up; the ERP may still book it
                    raise InDoubt(self.system, f"PostInvoice {reference}: {err.message}") \
                        from err
                raise

        async def lookup() -> dict[str, str] | None:
            found = await self.find_posting(company_code, customer, reference)
            if found is None:
                return None
            return {"Status": "QUEUED" if found.get("Status") == "QUEUED" else "POSTED",
                    "DocumentNumber": found.get("DocumentNumber", ""),
                    "FiscalYear": found.get("FiscalYear", ""),
                    "QueueTicket": found.get("QueueTicket", "")}

        return await self.policy.run(self.system, post, before_retry=lookup)

    async def apply_payment(self, *, company_code: str, customer: str, reference: str,
                            document: str | None, amount: str, currency: str,
                            payment_date: date, payment_reference: str) -> dict[str, str]:
        children = [_E.CompanyCode(company_code), _E.CustomerNumber(customer),
                    _E.ExternalReference(reference), *self._opt("DocumentNumber", document),
                    _E.Amount(amount), _E.Currency(currency),
                    _E.PaymentDate(payment_date.isoformat()),
                    _E.PaymentReference(payment_reference[:NAME_MAX])]

        async def apply() -> dict[str, str]:
            return self._fields(await self.call("ApplyPayment", *children))

        async def lookup() -> dict[str, str] | None:
            items = await self.open_items(company_code, customer=customer, reference=reference)
            cleared = [i for i in items if i.get("Status") == "CLEARED"]
            return {"Status": "CLEARED", "DocumentNumber": cleared[0].get("DocumentNumber", ""),
                    "ClearingDocumentNumber": ""} if cleared else None

        return await self.policy.run(self.system, apply, before_retry=lookup)
