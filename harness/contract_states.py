"""Provider states of the simulators, for Pact verification.

Each class puts one simulator into the state a consumer's pact names (``"a draft invoice
exists"``) through HTTP only — the kit's admin API (``POST /_sim/reset``) and the vendor's own
API with the simulator's default test credentials — and returns the ids it created, which the
verifier injects where the pact says ``fromProviderState`` (``${invoiceId}``).

Every setup starts from ``/_sim/reset``: interactions are independent of their order.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

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


STATES: dict[str, type[SimulatorStates]] = {
    cls.provider: cls for cls in (StripeStates,)
}

__all__ = ["STATES", "SimulatorStates", "StripeStates"]
