"""Provider states of the simulators, for Pact verification.

Each class puts one simulator into the state a consumer's pact names (``"a draft invoice
exists"``) through HTTP only — the kit's admin API (``POST /_sim/reset``) and the vendor's own
API with the simulator's default test credentials — and returns the ids it created, which the
verifier injects where the pact says ``fromProviderState`` (``${invoiceId}``).

Every setup starts from ``/_sim/reset``: interactions are independent of their order.
"""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import httpx

from .errors import ContractError

Values = dict[str, Any]


class SimulatorStates:
    """Base: a client on the simulator, reset before every state, one method per state."""

    provider: ClassVar[str] = ""
    headers: ClassVar[dict[str, str]] = {}
    states: ClassVar[dict[str, str]] = {}  # state name → method name

    def __init__(self, base_url: str, verify: str | bool = True) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, verify=verify,
                                 headers=self.headers)

    def close(self) -> None:
        self.http.close()

    def __call__(self, state: str, params: Mapping[str, Any]) -> Values | None:
        self.ok(self.http.post("/_sim/reset"))
        if not state:
            return None
        method = self.states.get(state)
        if method is None:
            raise ContractError(f"{self.provider}: unknown provider state {state!r}",
                                f"known: {', '.join(sorted(self.states))}")
        handler: Callable[[Mapping[str, Any]], Values] = getattr(self, method)
        return handler(params)

    @staticmethod
    def ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ContractError(f"state setup: {response.request.method} "
                                f"{response.request.url.path} → {response.status_code}: "
                                f"{response.text[:300]}")
        return response.json() if response.content else None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class StripeStates(SimulatorStates):
    provider = "stripe-billing"
    headers = {"Authorization": "Bearer sk_test_o2c_harness"}
    states = {
        "a price with lookup key growth-usd exists": "price",
        "a customer and a monthly price exist": "customer_and_price",
        "a draft invoice exists": "draft_invoice",
        "an open invoice exists": "open_invoice",
    }

    def _post(self, path: str, data: dict[str, Any]) -> Any:
        return self.ok(self.http.post(path, data=data))

    def price(self, params: Mapping[str, Any]) -> Values:
        product = self._post("/v1/products", {"name": "O2C Growth"})
        price = self._post("/v1/prices", {
            "product": product["id"], "currency": "usd", "unit_amount": "4900",
            "recurring[interval]": "month", "lookup_key": "growth-usd"})
        return {"priceId": price["id"]}

    def _customer(self) -> str:
        return str(self._post("/v1/customers", {"name": "Acme Analytics Inc",
                                                "email": "billing@acme.example"})["id"])

    def customer_and_price(self, params: Mapping[str, Any]) -> Values:
        return {"customerId": self._customer(), **self.price(params)}

    def draft_invoice(self, params: Mapping[str, Any]) -> Values:
        customer = self._customer()
        self._post("/v1/invoiceitems", {"customer": customer, "currency": "usd",
                                        "amount": "4900", "description": "Growth plan"})
        invoice = self._post("/v1/invoices", {
            "customer": customer, "collection_method": "send_invoice",
            "days_until_due": "30", "auto_advance": "false",
            "pending_invoice_items_behavior": "include"})
        return {"invoiceId": invoice["id"], "customerId": customer}

    def open_invoice(self, params: Mapping[str, Any]) -> Values:
        values = self.draft_invoice(params)
        self._post(f"/v1/invoices/{values['invoiceId']}/finalize", {"auto_advance": "false"})
        return values


class AvaTaxStates(SimulatorStates):
    provider = "avalara-tax"
    headers = {"Authorization": _basic("2000000001", "o2c-test-license")}
    states = {"an uncommitted transaction exists in company O2C-US": "uncommitted"}

    def uncommitted(self, params: Mapping[str, Any]) -> Values:
        code = "in_StateInvoice0000000000001"
        self.ok(self.http.post("/api/v2/transactions/createoradjust", json={
            "createTransactionModel": {
                "type": "SalesInvoice", "code": code, "companyCode": "O2C-US",
                "date": "2026-01-31", "customerCode": "cust_state", "currencyCode": "USD",
                "commit": False, "addresses": {"singleLocation": {
                    "line1": "410 Terry Ave N", "city": "Seattle", "region": "WA",
                    "postalCode": "98109", "country": "US"}},
                "lines": [{"number": "1", "quantity": 1, "amount": 49.0,
                           "taxCode": "SW054000"}]}}))
        return {"code": code}


class AdyenStates(SimulatorStates):
    provider = "adyen-payments"
    headers = {"X-API-Key": "AQE_o2c_test_key"}
    states = {"a standard webhook exists for merchant O2CHarnessECOM": "webhook"}

    def webhook(self, params: Mapping[str, Any]) -> Values:
        hook = self.ok(self.http.post("/v3/merchants/O2CHarnessECOM/webhooks", json={
            "type": "standard", "url": "http://127.0.0.1:8100/webhooks/adyen",
            "active": True, "communicationFormat": "json"}))
        return {"webhookId": hook["id"]}


class SalesforceStates(SimulatorStates):
    provider = "salesforce-crm"
    states = {"a Closed Won opportunity exists": "closed_won",
              "the layer is subscribed to change events": "subscribed"}
    api = "/services/data/v59.0"

    def _login(self) -> str:
        token = self.ok(self.http.post("/services/oauth2/token", data={
            "grant_type": "password", "client_id": "3MVG9o2cHarnessSimulatorConsumerKey",
            "client_secret": "o2c-client-secret", "username": "integration@o2c.test",
            "password": "o2c-passwordo2cSecurityToken"}))
        return str(token["access_token"])

    def closed_won(self, params: Mapping[str, Any]) -> Values:
        token = self._login()
        auth = {"Authorization": f"Bearer {token}"}
        account = self.ok(self.http.post(f"{self.api}/sobjects/Account", headers=auth, json={
            "Name": "Acme Analytics Inc", "BillingStreet": "410 Terry Ave N",
            "BillingCity": "Seattle", "BillingPostalCode": "98109", "BillingState": "WA",
            "BillingCountry": "US", "Legal_Entity__c": "US01", "CurrencyIsoCode": "USD"}))
        opportunity = self.ok(self.http.post(f"{self.api}/sobjects/Opportunity", headers=auth,
                                             json={"Name": "Acme Analytics — subscription",
                                                   "AccountId": account["id"],
                                                   "StageName": "Closed Won",
                                                   "CloseDate": "2026-01-31", "Amount": 588,
                                                   "CurrencyIsoCode": "USD"}))
        return {"accessToken": token, "opportunityId": opportunity["id"]}

    def subscribed(self, params: Mapping[str, Any]) -> Values:
        self.ok(self.http.post("/_sim/crm/subscriptions", json={
            "url": "http://127.0.0.1:8100/webhooks/salesforce", "secret": "o2c-cdc-secret"}))
        return {}


class S4HanaStates(SimulatorStates):
    provider = "s4hana-erp"
    headers = {"Authorization": _basic("O2C_COMM_USER", "o2c-password"),
               "Accept": "application/json"}
    root = "/sap/opu/odata/sap"
    states = {
        "a CSRF session is open on API_BUSINESS_PARTNER": "bp_session",
        "customer 1000001 exists in company code 1010 and a CSRF session is open on "
        "API_O2C_JOURNALENTRY_SRV": "customer_je_session",
        "an invoice with reference 7FE1103A-0001 is posted for customer 1000001 in "
        "company code 1010 and a CSRF session is open on API_O2C_INCOMINGPAYMENT_SRV":
            "posted_invoice_pay_session",
        "no business partner with search term CUST_01 exists": "nothing",
        "no journal entry with reference 7FE1103A-0001 exists in company code 1010": "nothing",
        "no incoming payment with reference PSP123456789 exists in company code 1010":
            "nothing",
    }

    def nothing(self, params: Mapping[str, Any]) -> Values:
        return {}  # the reset before every state is the whole setup

    def _session(self, service: str) -> Values:
        """A fresh CSRF session: the token and the cookie a client must send back."""
        self.http.cookies.clear()
        response = self.http.get(f"{self.root}/{service}/", params={"sap-client": "100"},
                                 headers={"x-csrf-token": "Fetch"})
        self.ok(response)
        name, value = next(iter(response.cookies.items()))
        return {"csrfToken": response.headers["x-csrf-token"],
                "sessionCookie": f"{name}={value}"}

    def _write(self, service: str, entity: str, body: dict[str, Any]) -> Any:
        session = self._session(service)
        return self.ok(self.http.post(f"{self.root}/{service}/{entity}",
                                      params={"sap-client": "100"}, json=body,
                                      headers={"x-csrf-token": session["csrfToken"]}))["d"]

    def _customer(self) -> str:
        created = self._write("API_BUSINESS_PARTNER", "A_BusinessPartner", {
            "BusinessPartnerCategory": "2", "OrganizationBPName1": "Müller Datensysteme GmbH",
            "SearchTerm1": "STATE_01",
            "to_BusinessPartnerAddress": {"results": [{"CityName": "Walldorf",
                                                       "PostalCode": "69190",
                                                       "Country": "DE"}]},
            "to_Customer": {"to_CustomerCompany": {"results": [
                {"CompanyCode": "1010", "PaymentTerms": "NT30"}]}}})
        return str(created.get("Customer") or created["BusinessPartner"])

    def bp_session(self, params: Mapping[str, Any]) -> Values:
        return self._session("API_BUSINESS_PARTNER")

    def customer_je_session(self, params: Mapping[str, Any]) -> Values:
        customer = self._customer()
        return {"customer": customer, **self._session("API_O2C_JOURNALENTRY_SRV")}

    def posted_invoice_pay_session(self, params: Mapping[str, Any]) -> Values:
        customer = self._customer()
        self._write("API_O2C_JOURNALENTRY_SRV", "A_JournalEntry", {
            "CompanyCode": "1010", "AccountingDocumentType": "DR",
            "DocumentDate": "/Date(1769817600000)/", "PostingDate": "/Date(1769817600000)/",
            "DocumentReferenceID": "7FE1103A-0001", "Customer": customer,
            "AmountInTransactionCurrency": "58.31", "TaxAmount": "9.31",
            "TransactionCurrency": "EUR", "to_Item": {"results": [
                {"GLAccount": "41000000", "AmountInTransactionCurrency": "-49.00"},
                {"GLAccount": "22000000", "AmountInTransactionCurrency": "-9.31"}]}})
        return {"customer": customer, **self._session("API_O2C_INCOMINGPAYMENT_SRV")}


class LegacyErpStates(SimulatorStates):
    provider = "legacy-erp"
    headers = {"Authorization": _basic("O2C_RFC", "Legacy#2004")}
    ns = "urn:o2c:legacy-erp:v1"
    customer = "LCONTRACT1"
    reference = "in_1ContractInvoice00000001"
    states = {
        f"customer {customer} does not exist": "nothing",
        f"customer {customer} exists in company code 1000": "customer_exists",
        f"invoice {reference} is posted for customer {customer} in company code 1000":
            "invoice_posted",
    }

    def _soap(self, operation: str, fields: dict[str, str]) -> ET.Element:
        children = "".join(f"<erp:{k}>{escape(v)}</erp:{k}>" for k, v in fields.items())
        envelope = (f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
                    f'xmlns:erp="{self.ns}"><soap:Body><erp:{operation}>{children}'
                    f"</erp:{operation}></soap:Body></soap:Envelope>")
        response = self.http.post("/soap/LegacyErp", content=envelope.encode(), headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{self.ns}/{operation}"'})
        if response.status_code >= 400:
            raise ContractError(f"state setup: {operation} → {response.status_code}: "
                                f"{response.text[:300]}")
        return ET.fromstring(response.content)

    def nothing(self, params: Mapping[str, Any]) -> Values:
        return {}

    def customer_exists(self, params: Mapping[str, Any]) -> Values:
        self._soap("CreateCustomer", {"CustomerNumber": self.customer,
                                      "Name": "Acme Analytics Inc", "Country": "US",
                                      "Currency": "USD", "CompanyCode": "1000"})
        return {"customer": self.customer}

    def invoice_posted(self, params: Mapping[str, Any]) -> Values:
        self.customer_exists(params)
        result = self._soap("PostInvoice", {
            "CompanyCode": "1000", "CustomerNumber": self.customer,
            "ExternalReference": self.reference, "InvoiceDate": "2026-01-31",
            "DueDate": "2026-03-02", "Currency": "USD", "NetAmount": "49.00",
            "TaxAmount": "3.92", "GrossAmount": "52.92"})
        document = result.findtext(f".//{{{self.ns}}}DocumentNumber")
        if not document:
            raise ContractError("state setup: PostInvoice booked no document (batch window "
                                "closed and queueing?)")
        return {"document": document}


class IntegrationStates:
    """Provider states of the integration layer, built the way production builds them: through
    its domain API and the simulators' vendor APIs (a subscription, the billing clock passing
    month end, a card payment at the gateway) — never by writing into its database. The
    layer has no reset, so states are facts built once and reused (idempotent by key)."""

    provider = "integration-layer"
    crm_account = "001CONTRACT0000001"
    states = {
        "customer 001CONTRACT0000001 is onboarded": "onboarded",
        "an invoice of customer 001CONTRACT0000001 is posted": "invoice_posted",
        "a payment of that invoice is applied": "payment_applied",
    }

    def __init__(self, layer_url: str, simulator_urls: Mapping[str, str],
                 timeout_s: float = 60.0, auth: httpx.Auth | None = None,
                 verify: Any = True) -> None:
        # auth: the harness' OAuth2 client of the layer (harness.layer_auth); verify: its TLS
        self.layer = httpx.Client(base_url=layer_url, timeout=30, auth=auth, verify=verify)
        self.sims = {name: httpx.Client(base_url=url, timeout=30)
                     for name, url in simulator_urls.items()}
        self.timeout_s = timeout_s
        self.values: Values = {}

    def close(self) -> None:
        for client in (self.layer, *self.sims.values()):
            client.close()

    def __call__(self, state: str, params: Mapping[str, Any]) -> Values | None:
        if not state:
            return None
        method = self.states.get(state)
        if method is None:
            raise ContractError(f"{self.provider}: unknown provider state {state!r}",
                                f"known: {', '.join(sorted(self.states))}")
        handler: Callable[[], Values] = getattr(self, method)
        return handler()

    def _wait(self, what: str, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.timeout_s
        delay = 0.05
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise ContractError(f"state setup: timed out waiting for {what}")
            time.sleep(delay)  # polling a condition, with a deadline
            delay = min(delay * 2, 0.5)

    def onboarded(self) -> Values:
        if "customerId" not in self.values:
            response = self.layer.post("/customers", headers={
                "Idempotency-Key": f"contract-{self.crm_account}"}, json={
                "crm_account_id": self.crm_account, "name": "Acme Analytics Inc",
                "legal_entity": "US01", "country": "US", "currency": "USD",
                "email": "billing@acme.example",
                "address": {"line1": "410 Terry Ave N", "city": "Seattle", "region": "WA",
                            "postal_code": "98109", "country": "US"}})
            customer = SimulatorStates.ok(response)
            self.values.update(customerId=customer["id"], crmAccountId=self.crm_account,
                               billingCustomerId=customer["references"]["billing"])
        return dict(self.values)

    def invoice_posted(self) -> Values:
        if "invoiceId" in self.values:
            return dict(self.values)
        self.onboarded()
        billing = self.sims["billing"]
        billing.headers["Authorization"] = "Bearer sk_test_o2c_harness"
        ok = SimulatorStates.ok
        product = ok(billing.post("/v1/products", data={"name": "Contract Growth"}))
        prices = ok(billing.get("/v1/prices", params={"lookup_keys[0]": "contract-growth-usd"}))
        if not prices["data"]:
            ok(billing.post("/v1/prices", data={
                "product": product["id"], "currency": "usd", "unit_amount": "4900",
                "recurring[interval]": "month", "lookup_key": "contract-growth-usd"}))
        sub = ok(self.layer.post("/subscriptions", headers={
            "Idempotency-Key": f"contract-sub-{self.crm_account}"}, json={
            "customer_id": self.values["customerId"],
            "items": [{"plan": "contract-growth-usd", "quantity": 1}]}))
        billing_sub = ok(billing.get(f"/v1/subscriptions/{sub['billing_subscription_id']}"))
        period_end = billing_sub["items"]["data"][0]["current_period_end"]
        ok(billing.post("/_sim/clock/advance", json={"to": period_end + 60}))

        def cycle_invoice() -> str | None:
            page = ok(billing.get("/v1/invoices", params={
                "customer": self.values["billingCustomerId"]}))
            for invoice in page["data"]:
                if invoice.get("billing_reason") == "subscription_cycle":
                    return str(invoice["id"])
            return None

        invoice_id = self._wait("the month-end invoice", cycle_invoice)

        def posted() -> dict[str, Any] | None:
            response = self.layer.get(f"/invoices/{invoice_id}")
            body = response.json() if response.status_code == 200 else {}
            return body if body.get("status") in ("posted", "paid") else None

        invoice = self._wait(f"invoice {invoice_id} to be posted", posted)
        self.values.update(invoiceId=invoice_id, invoiceCanonicalId=invoice["id"],
                           total=invoice["net_amount"] + invoice["tax_amount"])
        return dict(self.values)

    def payment_applied(self) -> Values:
        if "paymentId" in self.values:
            return dict(self.values)
        self.invoice_posted()
        payments = self.sims["payments"]
        paid = SimulatorStates.ok(payments.post("/v71/payments", headers={
            "X-API-Key": "AQE_o2c_test_key",
            "Idempotency-Key": f"contract-pay-{self.values['invoiceId']}"}, json={
            "merchantAccount": "O2CHarnessECOM", "reference": self.values["invoiceId"],
            "returnUrl": "https://shop.example.com/checkout/return",
            "amount": {"currency": "USD", "value": self.values["total"]},
            "paymentMethod": {"type": "scheme", "number": "4111111111111111",
                              "expiryMonth": "03", "expiryYear": "2030", "cvc": "737",
                              "holderName": "Ada Lovelace"}}))
        psp = paid["pspReference"]

        def applied() -> bool:
            events = self.layer.get("/events", params={
                "business_key": self.values["invoiceId"], "type": "payment.applied"}).json()
            return bool(events)

        self._wait("payment.applied", applied)
        payment = SimulatorStates.ok(self.layer.get(f"/payments/{psp}"))
        self.values.update(paymentId=payment["id"], pspReference=psp)
        return dict(self.values)

    def event(self, event_type: str) -> dict[str, Any]:
        """The layer's own ``event_type`` event for the current state's business key."""
        key = self.values["customerId"] if event_type == "customer.onboarded" else \
            self.values["invoiceId"]
        events = self._wait(f"{event_type} of {key}", lambda: self.layer.get(
            "/events", params={"business_key": key, "type": event_type}).json())
        return dict(events[0])


STATES: dict[str, type[SimulatorStates]] = {
    cls.provider: cls for cls in (StripeStates, AvaTaxStates, AdyenStates, SalesforceStates,
                                  S4HanaStates, LegacyErpStates)
}

__all__ = ["STATES", "AdyenStates", "AvaTaxStates", "IntegrationStates", "LegacyErpStates",
           "S4HanaStates", "SalesforceStates", "SimulatorStates", "StripeStates"]
