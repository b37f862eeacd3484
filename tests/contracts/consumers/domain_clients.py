"""The upstream consumers of the integration layer's domain API, as small clients — the code
``order-service`` and ``customer-portal`` run — and ``revenue-reporting``'s event handler."""

from __future__ import annotations

from typing import Any

import httpx

from harness.canonical import Event, InvoicePosted, PaymentApplied


class DomainApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


def _json(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise DomainApiError(response.status_code, response.json())
    return response.json()


class OrderServiceClient:
    """order-service: onboards the customer of a won order, then subscribes it."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def onboard(self, order_id: str, account: dict[str, Any]) -> dict[str, Any]:
        return dict(_json(self.http.post("/customers", json=account,
                                         headers={"Idempotency-Key": f"order-{order_id}"})))

    def customer(self, customer_id: str) -> dict[str, Any]:
        return dict(_json(self.http.get(f"/customers/{customer_id}")))

    def subscribe(self, order_id: str, customer_id: str, plan: str) -> dict[str, Any]:
        return dict(_json(self.http.post("/subscriptions", json={
            "customer_id": customer_id, "items": [{"plan": plan, "quantity": 1}]},
            headers={"Idempotency-Key": f"order-{order_id}-sub"})))


class CustomerPortalClient:
    """customer-portal: shows a customer its account, invoices and payments."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def account(self, customer_id: str) -> dict[str, Any]:
        return dict(_json(self.http.get(f"/customers/{customer_id}")))

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return dict(_json(self.http.get(f"/invoices/{invoice_id}")))

    def payment(self, payment_id: str) -> dict[str, Any]:
        return dict(_json(self.http.get(f"/payments/{payment_id}")))


class RevenueLedger:
    """revenue-reporting: books posted invoices and applied payments from the layer's events
    (parsed with the canonical, strict Event model)."""

    def __init__(self) -> None:
        self.revenue: dict[str, int] = {}
        self.cash: dict[str, int] = {}
        self.customers: set[str] = set()

    def handle(self, body: str | bytes | None, metadata: dict[str, Any]) -> None:
        event = Event.model_validate_json(body or b"")
        data = event.data
        if isinstance(data, InvoicePosted):
            self.revenue[data.currency] = self.revenue.get(data.currency, 0) + data.net_amount
        elif isinstance(data, PaymentApplied):
            self.cash[data.currency] = self.cash.get(data.currency, 0) + data.amount
        else:
            self.customers.add(data.customer_id)
