"""Cloud ERP adapter in SAP S/4HANA OData v2's dialect: HTTP Basic communication user,
``sap-client``, ``x-csrf-token`` fetched with a GET before writes (and re-fetched on
``403 x-csrf-token: Required``), ``{"d": ...}`` envelopes, ``/Date(ms)/`` dates, decimal
strings, deep insert of business partner → customer → company code, journal entries with
items, incoming payments that clear an invoice. Postings look themselves up by
``DocumentReferenceID`` before a retry (OData v2 offers no idempotency key)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from .http import Adapter, RetryPolicy, TransientError, VendorError, is_transient_status

ROOT = "/sap/opu/odata/sap"
BP = f"{ROOT}/API_BUSINESS_PARTNER"
JE = f"{ROOT}/API_O2C_JOURNALENTRY_SRV"
PAY = f"{ROOT}/API_O2C_INCOMINGPAYMENT_SRV"


def odata_date(at: datetime) -> str:
    midnight = datetime(at.year, at.month, at.day, tzinfo=UTC)
    return f"/Date({int(midnight.timestamp() * 1000)})/"


def odata_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def split_name(name: str, width: int = 40) -> tuple[str, str]:
    """SAP's two 40-character name fields, broken at a word boundary when possible."""
    if len(name) <= width:
        return name, ""
    cut = name.rfind(" ", 0, width + 1)
    cut = cut if cut > 0 else width
    return name[:cut].rstrip(), name[cut:].strip()[:width]


class S4Hana(Adapter):
    system = "cloud_erp"

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, *, sap_client: str,
                 payment_terms: str, revenue_account: str = "41000000",
                 output_tax_account: str = "22000000") -> None:
        super().__init__(client, policy)
        self.sap_client = sap_client
        self.payment_terms = payment_terms
        self.revenue_account = revenue_account
        self.output_tax_account = output_tax_account
        self._csrf: dict[str, str] = {}
        self._csrf_lock = asyncio.Lock()

    def vendor_error(self, response: httpx.Response) -> VendorError:
        try:
            err = response.json().get("error", {})
        except ValueError:
            err = {}
        message = err.get("message") or {}
        text = message.get("value") if isinstance(message, dict) else str(message)
        return VendorError(self.system, response.status_code, err.get("code") or
                           str(response.status_code), text or response.text[:300], err)

    async def _token(self, service: str, refresh: bool = False) -> str:
        async with self._csrf_lock:
            if refresh or service not in self._csrf:
                response = await self.send("GET", f"{service}/", params={
                    "sap-client": self.sap_client}, headers={"x-csrf-token": "Fetch"})
                self._csrf[service] = response.headers.get("x-csrf-token", "")
            return self._csrf[service]

    async def _write(self, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One POST (not retried here: callers decide, with a lookup first)."""
        for refresh in (False, True):
            token = await self._token(service, refresh)
            response = await self.client.post(
                f"{service}/{path}", params={"sap-client": self.sap_client}, json=body,
                headers={"x-csrf-token": token, "Accept": "application/json"})
            if response.status_code == 403 and \
                    response.headers.get("x-csrf-token", "").lower() == "required":
                continue
            if response.status_code >= 400:
                if is_transient_status(response.status_code):
                    self.check(response)
                raise self.vendor_error(response)
            return response.json()["d"]  # type: ignore[no-any-return]
        raise TransientError(self.system, "CSRF token rejected twice", status=403)

    async def _read(self, service: str, path: str, **params: str) -> Any:
        response = await self.send("GET", f"{service}/{path}", params={
            "sap-client": self.sap_client, "$format": "json", **params},
            headers={"Accept": "application/json"})
        data = response.json()["d"]
        return data.get("results", data) if isinstance(data, dict) else data

    # -- business partners ------------------------------------------------------------------
    async def find_business_partner(self, search_term: str) -> dict[str, Any] | None:
        found = await self._read(BP, "A_BusinessPartner",
                                 **{"$filter": f"SearchTerm1 eq {odata_quote(search_term)}",
                                    "$top": "1"})
        return found[0] if found else None

    async def customer_in_company(self, customer: str, company_code: str) -> bool:
        found = await self._read(BP, "A_CustomerCompany", **{
            "$filter": f"Customer eq {odata_quote(customer)} and "
                       f"CompanyCode eq {odata_quote(company_code)}", "$top": "1"})
        return bool(found)

    async def extend_to_company(self, customer: str, company_code: str) -> None:
        await self.policy.run(self.system, lambda: self._write(BP, "A_CustomerCompany", {
            "Customer": customer, "CompanyCode": company_code,
            "PaymentTerms": self.payment_terms}))

    async def ensure_customer(self, *, search_term: str, name: str, address: dict[str, Any],
                              tax_id: str | None, company_code: str) -> str:
        """The customer number of the partner tagged ``search_term``, created by deep insert
        (partner, address, customer, company code) or extended to ``company_code``."""

        async def lookup() -> str | None:
            bp = await self.find_business_partner(search_term)
            if bp is None:
                return None
            customer = bp.get("Customer") or bp["BusinessPartner"]
            if not await self.customer_in_company(customer, company_code):
                await self.extend_to_company(customer, company_code)
            return str(customer)

        existing = await lookup()
        if existing:
            return existing
        name1, name2 = split_name(name)
        body: dict[str, Any] = {
            "BusinessPartnerCategory": "2", "OrganizationBPName1": name1,
            "OrganizationBPName2": name2, "SearchTerm1": search_term,
            "to_BusinessPartnerAddress": {"results": [{
                "StreetName": (address.get("line1") or "")[:60],
                "PostalCode": (address.get("postal_code") or "")[:10],
                "CityName": (address.get("city") or "")[:40],
                "Region": (address.get("region") or "")[:3],
                "Country": address["country"]}]},
            "to_Customer": {
                "VATRegistration": (tax_id or "")[:20],
                "to_CustomerCompany": {"results": [{
                    "CompanyCode": company_code, "PaymentTerms": self.payment_terms}]}},
        }

        async def create() -> str:
            created = await self._write(BP, "A_BusinessPartner", body)
            return str(created.get("Customer") or created["BusinessPartner"])

        return await self.policy.run(self.system, create, before_retry=lookup)

    # -- journal entries --------------------------------------------------------------------
    async def find_posting(self, company_code: str, reference: str) -> dict[str, Any] | None:
        found = await self._read(JE, "A_JournalEntry", **{
            "$filter": f"CompanyCode eq {odata_quote(company_code)} and "
                       f"DocumentReferenceID eq {odata_quote(reference)}", "$top": "1"})
        return found[0] if found else None

    async def post_invoice(self, *, company_code: str, customer: str, reference: str,
                           billing_invoice_id: str, at: datetime, currency: str,
                           gross: str, tax: str, net: str,
                           look_first: bool = True) -> dict[str, Any]:
        """Post a customer invoice (DR); a retry first looks the posting up, and so does the
        first attempt unless ``look_first`` is False (the caller's ledger knows that no
        attempt was sent before)."""
        items = [{"GLAccount": self.revenue_account, "AmountInTransactionCurrency": f"-{net}",
                  "DocumentItemText": billing_invoice_id}]
        if tax.strip("0.") != "":
            items.append({"GLAccount": self.output_tax_account,
                          "AmountInTransactionCurrency": f"-{tax}",
                          "DocumentItemText": f"Output tax {billing_invoice_id}"})
        body = {"CompanyCode": company_code, "AccountingDocumentType": "DR",
                "DocumentDate": odata_date(at), "PostingDate": odata_date(at),
                "DocumentReferenceID": reference,
                "AccountingDocumentHeaderText": billing_invoice_id[:25],
                "Customer": customer, "AmountInTransactionCurrency": gross,
                "TaxAmount": tax, "TransactionCurrency": currency,
                "to_Item": {"results": items}}

        async def lookup() -> dict[str, Any] | None:
            return await self.find_posting(company_code, reference)

        existing = await lookup() if look_first else None
        if existing is not None:
            return existing
        return await self.policy.run(self.system, lambda: self._write(JE, "A_JournalEntry",
                                                                      body),
                                     before_retry=lookup)

    # -- incoming payments ------------------------------------------------------------------
    async def find_payment(self, company_code: str, payment_reference: str) -> \
            dict[str, Any] | None:
        found = await self._read(PAY, "A_IncomingPayment", **{
            "$filter": f"CompanyCode eq {odata_quote(company_code)} and "
                       f"DocumentReferenceID eq {odata_quote(payment_reference)}",
            "$top": "1"})
        return found[0] if found else None

    async def apply_payment(self, *, company_code: str, customer: str, invoice_reference: str,
                            payment_reference: str, at: datetime, currency: str,
                            amount: str) -> dict[str, Any]:
        body = {"CompanyCode": company_code, "Customer": customer,
                "DocumentDate": odata_date(at), "PostingDate": odata_date(at),
                "AmountInTransactionCurrency": amount, "TransactionCurrency": currency,
                "DocumentReferenceID": payment_reference[:16],
                "InvoiceReference": invoice_reference}

        async def lookup() -> dict[str, Any] | None:
            return await self.find_payment(company_code, payment_reference[:16])

        existing = await lookup()
        if existing is not None:
            return existing
        return await self.policy.run(self.system, lambda: self._write(PAY, "A_IncomingPayment",
                                                                      body),
                                     before_retry=lookup)
