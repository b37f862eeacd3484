"""The people and systems around the integration layer, each speaking its vendor's own API: a
sales rep closing deals in the CRM, the billing admin's catalog and month-end clock, a
customer paying through the gateway, the migration team changing the wave plan.

Plain ``httpx`` (no locust, no harness imports), so Locust users, ``harness check`` and tests
share them. Every call retries what a real client retries — 429 (honouring ``Retry-After``),
5xx, dropped connections — because scenarios run under injected faults; the simulators decide
faults before any side effect, so a retried request never acts twice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .layer_auth import ClientCredentials, LayerAuth

SF_VERSION = "v59.0"
RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Credentials:
    """The vendor credentials the actors use (the simulators' defaults unless configured)."""

    crm_client_id: str = "3MVG9o2cHarnessSimulatorConsumerKey"
    crm_client_secret: str = "o2c-client-secret"
    crm_username: str = "integration@o2c.test"
    crm_password: str = "o2c-password"
    crm_security_token: str = "o2cSecurityToken"
    billing_api_key: str = "sk_test_o2c_harness"
    payments_api_key: str = "AQE_o2c_test_key"
    merchant_account: str = "O2CHarnessECOM"
    cloud_erp_user: str = "O2C_COMM_USER"
    cloud_erp_password: str = "o2c-password"


@dataclass
class Endpoints:
    """Where the landscape and the system under test answer: simulator name → base URL.
    ``layer_client``: the OAuth2 client the layer's API is called with (``layer_auth`` adds
    its bearer token to requests under ``integration`` only)."""

    simulators: Mapping[str, str]
    integration: str
    credentials: Credentials = field(default_factory=Credentials)
    layer_client: ClientCredentials | None = None
    layer_auth: LayerAuth | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if self.layer_client is not None:
            self.layer_auth = LayerAuth(self.layer_client, self.integration)


class ActorError(RuntimeError):
    """A vendor call failed for good (after retries)."""


def call(client: httpx.Client, method: str, url: str, *, attempts: int = 40,
         budget_s: float = 60.0, expect: Callable[[httpx.Response], bool] | None = None,
         **kwargs: Any) -> httpx.Response:
    """One request with the retry policy of a well-behaved client; returns the final answer.

    Retries transport errors and ``RETRY_STATUSES`` within ``attempts`` and ``budget_s``
    (an outage window of the ``outage`` profile lasts 10 s of simulator time).
    """
    deadline = time.monotonic() + budget_s
    delay = 0.05
    last: str = ""
    for _ in range(attempts):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if not retryable(response):
                if expect is not None and not expect(response):
                    raise ActorError(f"{method} {url} → {response.status_code}: "
                                     f"{response.text[:300]}")
                return response
            last = f"{response.status_code}: {response.text[:200]}"
            retry_after = response.headers.get("retry-after")
            if retry_after:
                with contextlib.suppress(ValueError):
                    delay = min(max(float(retry_after), 0.05), 5.0)
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)  # backoff between attempts of a failing call, not a fixed wait
        delay = min(delay * 2, 2.0)
    raise ActorError(f"{method} {url} kept failing: {last}")


def retryable(response: httpx.Response) -> bool:
    """Transient: 429, 5xx, and the CRM's ``REQUEST_LIMIT_EXCEEDED`` (a 403 in Salesforce)."""
    if response.status_code in RETRY_STATUSES:
        return True
    return response.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.content


def _ok(*codes: int) -> Callable[[httpx.Response], bool]:
    return lambda r: r.status_code in codes


class Crm:
    """A sales rep in the CRM (Salesforce REST): accounts, opportunities, Closed Won."""

    def __init__(self, endpoints: Endpoints, client: httpx.Client) -> None:
        c = endpoints.credentials
        token = call(client, "POST", f"{endpoints.simulators['crm']}/services/oauth2/token",
                     data={"grant_type": "password", "client_id": c.crm_client_id,
                           "client_secret": c.crm_client_secret, "username": c.crm_username,
                           "password": c.crm_password + c.crm_security_token},
                     expect=_ok(200)).json()
        self.base = f"{token['instance_url']}/services/data/{SF_VERSION}"
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}
        self.client = client

    def upsert(self, sobject: str, external_id: str, fields: dict[str, Any]) -> str:
        """Create or update by ``External_Id__c`` (idempotent, so a retry is safe)."""
        r = call(self.client, "PATCH",
                 f"{self.base}/sobjects/{sobject}/External_Id__c/{external_id}",
                 json=fields, headers=self.headers, expect=_ok(200, 201, 204))
        if r.status_code in (200, 201):
            return str(r.json()["id"])
        found = call(self.client, "GET",
                     f"{self.base}/sobjects/{sobject}/External_Id__c/{external_id}",
                     headers=self.headers, expect=_ok(200))
        return str(found.json()["Id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        call(self.client, "PATCH", f"{self.base}/sobjects/{sobject}/{record_id}", json=fields,
             headers=self.headers, expect=_ok(204))

    def query(self, soql: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        r = call(self.client, "GET", f"{self.base}/query", params={"q": soql},
                 headers=self.headers, expect=_ok(200)).json()
        records.extend(r["records"])
        while not r.get("done", True) and r.get("nextRecordsUrl"):
            root = self.base.split("/services/")[0]
            r = call(self.client, "GET", root + r["nextRecordsUrl"], headers=self.headers,
                     expect=_ok(200)).json()
            records.extend(r["records"])
        return records


class Billing:
    """The billing admin (Stripe API): catalog, invoices, and the month-end clock."""

    def __init__(self, endpoints: Endpoints, client: httpx.Client) -> None:
        self.url = endpoints.simulators["billing"]
        self.headers = {"Authorization": f"Bearer {endpoints.credentials.billing_api_key}"}
        self.client = client

    def post(self, path: str, data: dict[str, Any], key: str) -> dict[str, Any]:
        r = call(self.client, "POST", f"{self.url}{path}", data=data,
                 headers={**self.headers, "Idempotency-Key": key}, expect=_ok(200))
        return r.json()  # type: ignore[no-any-return]

    def list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every object of a list endpoint (``has_more``/``starting_after`` paging)."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            query = {"limit": 100, **params, **({"starting_after": after} if after else {})}
            page = call(self.client, "GET", f"{self.url}{path}", params=query,
                        headers=self.headers, expect=_ok(200)).json()
            items.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return items
            after = page["data"][-1]["id"]

    def catalog(self, currency: str, run: str) -> dict[str, str]:
        """A monthly plan and a metered add-on in ``currency``; returns their lookup keys."""
        cur = currency.lower()
        meters = self.list("/v1/billing/meters")
        meter = next((m["id"] for m in meters if m["event_name"] == "api_calls"), None)
        if meter is None:
            meter = self.post("/v1/billing/meters", {
                "display_name": "API calls", "event_name": "api_calls",
                "default_aggregation[formula]": "sum",
                "customer_mapping[event_payload_key]": "stripe_customer_id",
                "customer_mapping[type]": "by_id",
                "value_settings[event_payload_key]": "value"}, f"{run}-meter")["id"]
        prices = {p.get("lookup_key") for p in self.list("/v1/prices")}
        keys = {"plan": f"growth-{cur}", "usage": f"api-calls-{cur}"}
        if keys["plan"] in prices and keys["usage"] in prices:
            return keys
        product = self.post("/v1/products", {"name": f"O2C Growth {currency}"},
                            f"{run}-product-{cur}")["id"]
        self.post("/v1/prices", {
            "product": product, "currency": cur, "unit_amount": 4900,
            "recurring[interval]": "month", "lookup_key": keys["plan"]},
            f"{run}-plan-{cur}")
        self.post("/v1/prices", {
            "product": product, "currency": cur, "unit_amount": 2,
            "recurring[interval]": "month", "recurring[usage_type]": "metered",
            "recurring[meter]": meter, "lookup_key": keys["usage"]}, f"{run}-usage-{cur}")
        return keys

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        return call(self.client, "GET", f"{self.url}/v1/subscriptions/{subscription_id}",  # type: ignore[no-any-return]
                    headers=self.headers, expect=_ok(200)).json()

    def now(self) -> float:
        return float(call(self.client, "GET", f"{self.url}/_sim/clock",
                          expect=_ok(200)).json()["now"])

    def advance_clock_to(self, epoch_s: float) -> None:
        if epoch_s > self.now():
            call(self.client, "POST", f"{self.url}/_sim/clock/advance", json={"to": epoch_s},
                 expect=_ok(200))


class Gateway:
    """A customer paying an invoice by card through the gateway (Adyen Checkout)."""

    def __init__(self, endpoints: Endpoints, client: httpx.Client) -> None:
        self.url = endpoints.simulators["payments"]
        self.credentials = endpoints.credentials
        self.client = client

    def pay(self, *, reference: str, amount: int, currency: str) -> str:
        c = self.credentials
        r = call(self.client, "POST", f"{self.url}/v71/payments", headers={
            "X-API-Key": c.payments_api_key, "Idempotency-Key": f"pay-{reference}"}, json={
            "merchantAccount": c.merchant_account, "reference": reference,
            "returnUrl": "https://shop.example.com/checkout/return",
            "amount": {"currency": currency.upper(), "value": amount},
            "paymentMethod": {"type": "scheme", "number": "4111111111111111",
                              "expiryMonth": "03", "expiryYear": "2030", "cvc": "737",
                              "holderName": "Ada Lovelace"}}, expect=_ok(200)).json()
        if r.get("resultCode") != "Authorised":
            raise ActorError(f"payment for {reference} was {r.get('resultCode')}")
        return str(r["pspReference"])


class Layer:
    """The integration layer's domain API, as its upstream consumers call it."""

    def __init__(self, endpoints: Endpoints, client: httpx.Client) -> None:
        self.url = endpoints.integration.rstrip("/")
        self.client = client

    def customer(self, crm_account_id: str) -> dict[str, Any] | None:
        try:
            r = self.client.get(f"{self.url}/customers/{crm_account_id}")
        except httpx.TransportError:
            return None  # the layer may be restarting (crash profile)
        return r.json() if r.status_code == 200 else None  # type: ignore[no-any-return]

    def subscribe(self, customer_id: str, items: list[dict[str, Any]], key: str) -> \
            dict[str, Any]:
        return call(self.client, "POST", f"{self.url}/subscriptions",  # type: ignore[no-any-return]
                    headers={"Idempotency-Key": key},
                    json={"customer_id": customer_id, "items": items},
                    expect=_ok(200, 201)).json()

    def report_usage(self, customer_id: str, quantity: int, key: str) -> None:
        call(self.client, "POST", f"{self.url}/usage", json={
            "customer_id": customer_id, "meter_event_name": "api_calls", "quantity": quantity,
            "idempotency_key": key}, expect=_ok(200, 202))

    def set_wave_plan(self, entries: list[dict[str, Any]]) -> None:
        call(self.client, "PUT", f"{self.url}/routing", json={"entries": entries},
             expect=_ok(200))


__all__ = ["ActorError", "Billing", "Credentials", "Crm", "Endpoints", "Gateway", "Layer",
           "call"]
