"""A hand-written "integration" that drives the simulators directly through their vendor
APIs — correctly, or with one deliberate fault (skip a posting, post twice, post to the wrong
ERP, round tax wrong, drop a payment) — so the oracle can be shown to catch each."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import requests
import zeep
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from harness.oracle import Expectations, LandscapeState, StateReader
from scenarios import WAVE_PLAN, Crm, Endpoints, Gateway

S4 = "/sap/opu/odata/sap"
TAX_COMPANY = {"US": "O2C-US", "DE": "O2C-DE", "FR": "O2C-FR", "GB": "O2C-GB"}
ACCOUNTS = {
    "US01": {"Name": "Acme Analytics Inc", "BillingCountry": "US", "BillingCity": "Seattle",
             "BillingStreet": "410 Terry Ave N", "BillingPostalCode": "98109",
             "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01"},
    "DE01": {"Name": "Müller Datensysteme GmbH", "BillingCountry": "DE",
             "BillingCity": "Walldorf", "BillingStreet": "Dietmar-Hopp-Allee 16",
             "BillingPostalCode": "69190", "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01"},
}
_seq = itertools.count(1)


@dataclass
class Flow:
    """One customer's order-to-cash as the hand-written integration performed it."""

    account: str
    legal_entity: str
    correlation_id: str
    billing_customer: str = ""
    erp: str = ""
    company_code: str = ""
    erp_customer: str = ""
    invoice: dict[str, Any] = field(default_factory=dict)
    tax: Decimal = Decimal(0)
    net: Decimal = Decimal(0)


@dataclass
class Sims:
    endpoints: Endpoints
    http: httpx.Client

    def url(self, name: str) -> str:
        return self.endpoints.simulators[name]


class HandLayer:
    """A minimal order-to-cash integration written against the vendor APIs, with switches
    to break it the ways real integrations break."""

    def __init__(self, sims: Sims) -> None:
        self.sims = sims
        self.http = sims.http
        self.crm = Crm(sims.endpoints, sims.http)
        self.gateway = Gateway(sims.endpoints, sims.http)
        soap = requests.Session()
        self.soap_session = soap
        self.legacy = zeep.Client(f"{sims.url('legacy_erp')}/soap/LegacyErp?wsdl",
                                  wsse=UsernameToken("O2C_RFC", "Legacy#2004"),
                                  transport=Transport(session=soap))
        self.s4 = httpx.Client(base_url=f"{sims.url('cloud_erp')}{S4}", timeout=30,
                               auth=("O2C_COMM_USER", "o2c-password"))
        token = self.s4.head("/API_BUSINESS_PARTNER/", headers={"x-csrf-token": "Fetch"})
        self.s4.headers["x-csrf-token"] = token.headers["x-csrf-token"]

    # -- helpers ------------------------------------------------------------------------------
    def _billing(self, path: str, data: dict[str, Any], flow: Flow) -> dict[str, Any]:
        r = self.http.post(f"{self.sims.url('billing')}{path}", data=data, headers={
            "Authorization": "Bearer sk_test_o2c_harness", "X-Correlation-ID":
            flow.correlation_id})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def _tax(self, method: str, path: str, body: dict[str, Any], flow: Flow) -> Any:
        r = self.http.request(method, f"{self.sims.url('tax')}{path}", json=body,
                              auth=("2000000001", "o2c-test-license"),
                              headers={"X-Correlation-ID": flow.correlation_id})
        assert r.status_code in (200, 201), r.text
        return r.json()

    def _s4(self, path: str, body: dict[str, Any], flow: Flow | None) -> dict[str, Any]:
        headers = {"X-Correlation-ID": flow.correlation_id} if flow else {}
        r = self.s4.post(path, json=body, headers={**headers, "Accept": "application/json"})
        assert r.status_code == 201, r.text
        return r.json()["d"]  # type: ignore[no-any-return]

    def _soap(self, flow: Flow | None) -> Any:
        self.soap_session.headers["X-Correlation-ID"] = flow.correlation_id if flow else ""
        return self.legacy.service

    # -- the flow -----------------------------------------------------------------------------
    def win(self, legal_entity: str) -> Flow:
        n = next(_seq)
        fields = dict(ACCOUNTS[legal_entity], Name=f"{ACCOUNTS[legal_entity]['Name']} {n}")
        account = self.crm.upsert("Account", f"oracle-{n}", fields)
        opp = self.crm.upsert("Opportunity", f"oracle-{n}-opp", {
            "Name": "subscription", "AccountId": account, "StageName": "Prospecting",
            "CloseDate": "2026-11-30", "Amount": 588})
        self.crm.update("Opportunity", opp, {"StageName": "Closed Won"})
        return Flow(account, legal_entity, f"flow-{n}")

    def onboard(self, flow: Flow, *, erp: str | None = None, company: str | None = None) -> None:
        entity = ACCOUNTS[flow.legal_entity]
        route = next(e for e in WAVE_PLAN if e.legal_entity == flow.legal_entity)
        flow.erp, flow.company_code = erp or route.erp, company or route.company_code
        flow.billing_customer = self._billing("/v1/customers", {
            "name": entity["Name"], "metadata[crm_account_id]": flow.account,
            "metadata[correlation_id]": flow.correlation_id}, flow)["id"]
        name = self._account_name(flow)
        if flow.erp == "legacy_erp":
            flow.erp_customer = str(self._soap(flow).CreateCustomer(
                Name=name[:35], Street=entity["BillingStreet"], City=entity["BillingCity"],
                PostalCode=entity["BillingPostalCode"], Country=entity["BillingCountry"],
                Currency=entity["CurrencyIsoCode"], CompanyCode=flow.company_code,
                TaxId=None))
        else:
            flow.erp_customer = self._s4("/API_BUSINESS_PARTNER/A_BusinessPartner", {
                "BusinessPartnerCategory": "2", "OrganizationBPName1": name[:40],
                "SearchTerm1": flow.account.upper()[:20],
                "to_BusinessPartnerAddress": [{
                    "StreetName": entity["BillingStreet"], "PostalCode":
                    entity["BillingPostalCode"], "CityName": entity["BillingCity"],
                    "Country": entity["BillingCountry"], "Language": "EN"}],
                "to_Customer": {"CustomerAccountGroup": "CUST", "to_CustomerCompany": [
                    {"CompanyCode": flow.company_code, "PaymentTerms": "NT30"}]}},
                flow)["BusinessPartner"]

    def _account_name(self, flow: Flow) -> str:
        return str(self.crm.query(f"SELECT Name FROM Account WHERE Id = '{flow.account}'")[0]
                   ["Name"])

    def bill(self, flow: Flow, net_minor: int = 10_000) -> None:
        """Draft → tax determined → tax line → finalized (not yet posted)."""
        entity = ACCOUNTS[flow.legal_entity]
        currency = entity["CurrencyIsoCode"].lower()
        self._billing("/v1/invoiceitems", {"customer": flow.billing_customer,
                                           "amount": net_minor, "currency": currency,
                                           "description": "Growth plan"}, flow)
        draft = self._billing("/v1/invoices", {"customer": flow.billing_customer,
                                               "auto_advance": "false", "currency": currency,
                                               "pending_invoice_items_behavior": "include"},
                              flow)
        flow.net = Decimal(net_minor) / 100
        tx = self._tax("POST", "/api/v2/transactions/createoradjust", {
            "createTransactionModel": {
                "type": "SalesInvoice", "code": draft["id"],
                "companyCode": TAX_COMPANY[entity["BillingCountry"]], "date": "2026-11-01",
                "customerCode": flow.account, "currencyCode": currency.upper(),
                "commit": False, "addresses": {"singleLocation": {
                    "line1": entity["BillingStreet"], "city": entity["BillingCity"],
                    "postalCode": entity["BillingPostalCode"],
                    "country": entity["BillingCountry"]}},
                "lines": [{"number": "1", "quantity": 1, "amount": float(flow.net),
                           "taxCode": "SW054000"}]}}, flow)
        flow.tax = Decimal(str(tx["totalTax"])).quantize(Decimal("0.01"))
        if flow.tax:
            self._billing("/v1/invoiceitems", {
                "customer": flow.billing_customer, "invoice": draft["id"],
                "amount": int(flow.tax * 100), "currency": currency,
                "description": "Tax"}, flow)
        flow.invoice = self._billing(f"/v1/invoices/{draft['id']}/finalize",
                                     {"auto_advance": "false"}, flow)
        assert flow.invoice["total"] == net_minor + int(flow.tax * 100)

    def post(self, flow: Flow, *, erp: str | None = None, company: str | None = None,
             tax_delta: Decimal = Decimal(0), correlated: bool = True,
             reference: str | None = None) -> None:
        erp, company = erp or flow.erp, company or flow.company_code
        inv = flow.invoice
        ref = reference or inv["number"]
        tax = flow.tax + tax_delta
        net = flow.net - tax_delta
        gross = net + tax
        currency = inv["currency"].upper()
        with_flow = flow if correlated else None
        if erp == "legacy_erp":
            customer = flow.erp_customer if erp == flow.erp else self._legacy_customer(
                flow, company)
            self._soap(with_flow).PostInvoice(
                CompanyCode=company, CustomerNumber=customer, ExternalReference=ref,
                InvoiceDate="2026-11-01", DueDate="2026-12-01", Currency=currency,
                NetAmount=f"{net:.2f}", TaxAmount=f"{tax:.2f}", GrossAmount=f"{gross:.2f}")
        else:
            self._s4("/API_O2C_JOURNALENTRY_SRV/A_JournalEntry", {
                "CompanyCode": company, "AccountingDocumentType": "DR",
                "Customer": flow.erp_customer, "DocumentReferenceID": ref,
                "AccountingDocumentHeaderText": "Billing invoice",
                "AmountInTransactionCurrency": f"{gross:.2f}", "TaxAmount": f"{tax:.2f}",
                "TransactionCurrency": currency}, with_flow)

    def _legacy_customer(self, flow: Flow, company: str) -> str:
        entity = ACCOUNTS[flow.legal_entity]
        return str(self._soap(flow).CreateCustomer(
            Name=self._account_name(flow)[:35], Street=entity["BillingStreet"],
            City=entity["BillingCity"], PostalCode=entity["BillingPostalCode"],
            Country=entity["BillingCountry"], Currency=entity["CurrencyIsoCode"],
            CompanyCode=company, TaxId=None))

    def commit_tax(self, flow: Flow) -> None:
        company = TAX_COMPANY[ACCOUNTS[flow.legal_entity]["BillingCountry"]]
        self._tax("POST", f"/api/v2/companies/{company}/transactions/"
                  f"{flow.invoice['id']}/commit", {"commit": True}, flow)

    def customer_pays(self, flow: Flow) -> str:
        inv = flow.invoice
        return self.gateway.pay(reference=inv["id"], amount=inv["total"],
                                currency=inv["currency"])

    def apply_payment(self, flow: Flow, psp: str) -> None:
        inv = flow.invoice
        self._billing(f"/v1/invoices/{inv['id']}/pay", {"paid_out_of_band": "true"}, flow)
        gross = f"{Decimal(inv['total']) / 100:.2f}"
        if flow.erp == "legacy_erp":
            self._soap(flow).ApplyPayment(
                CompanyCode=flow.company_code, CustomerNumber=flow.erp_customer,
                ExternalReference=inv["number"], Amount=gross,
                Currency=inv["currency"].upper(), PaymentDate="2026-11-20",
                PaymentReference=psp)
        else:
            self._s4("/API_O2C_INCOMINGPAYMENT_SRV/A_IncomingPayment", {
                "CompanyCode": flow.company_code, "Customer": flow.erp_customer,
                "AmountInTransactionCurrency": gross,
                "TransactionCurrency": inv["currency"].upper(),
                "InvoiceReference": inv["number"], "DocumentReferenceID": psp}, flow)

    def order_to_cash(self, legal_entity: str, *, pay: bool = True) -> Flow:
        """The whole flow, done right."""
        flow = self.win(legal_entity)
        self.onboard(flow)
        self.bill(flow)
        self.post(flow)
        self.commit_tax(flow)
        if pay:
            self.apply_payment(flow, self.customer_pays(flow))
        return flow


def read_state(sims: Sims, dlq: list[dict[str, Any]] | None = None) -> LandscapeState:
    """The landscape as the oracle sees it; ``dlq`` stands in for the layer's exception list
    (there is no layer here)."""
    state = StateReader(sims.endpoints, {}, sims.http).read()
    state.exceptions = list(dlq or [])
    return state


EXPECT = Expectations(WAVE_PLAN, "http://layer.test")
