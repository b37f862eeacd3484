"""Billing adapter in Stripe's dialect: form-encoded bodies with bracket notation, Bearer
``sk_`` key, ``Idempotency-Key`` on every POST (derived from the business operation, so a
retry or a replayed webhook never creates twice), Stripe's error body, and webhook
``Stripe-Signature`` verification (``t=…,v1=HMAC-SHA256(secret, "t.body")``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
import uuid
from typing import Any

import httpx
import orjson

from .http import Adapter, RetryPolicy, VendorError

Params = dict[str, Any]
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "state", "country")  # Stripe's


def encode_form(params: Params) -> list[tuple[str, str]]:
    """Stripe's form encoding: ``a[b]=1``, ``items[0][price]=p``, booleans as true/false."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), sub)
        elif isinstance(value, list | tuple):
            for i, sub in enumerate(value):
                walk(f"{prefix}[{i}]", sub)
        elif isinstance(value, bool):
            out.append((prefix, "true" if value else "false"))
        else:
            out.append((prefix, str(value)))

    walk("", params)
    return out


class SignatureError(ValueError):
    """A webhook whose signature does not verify (or is too old)."""


def verify_signature(payload: bytes, header: str | None, secret: str, tolerance_s: int = 300,
                     now: float | None = None) -> None:
    """Stripe's scheme; any ``v1`` signature matching is enough (secret rotation)."""
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    timestamps = [v for k, v in parts if k.strip() == "t"]
    signatures = [v for k, v in parts if k.strip() == "v1"]
    if not timestamps or not signatures:
        raise SignatureError("Stripe-Signature lacks t= or v1=")
    try:
        ts = int(timestamps[0])
    except ValueError:
        raise SignatureError("Stripe-Signature timestamp is not an integer") from None
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s.strip()) for s in signatures):
        raise SignatureError("no v1 signature matches the payload")
    if tolerance_s and abs((now if now is not None else time.time()) - ts) > tolerance_s:
        raise SignatureError("timestamp outside the tolerance zone")


class StripeBilling(Adapter):
    system = "billing"

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy) -> None:
        super().__init__(client, policy)

    def vendor_error(self, response: httpx.Response) -> VendorError:
        try:
            err = response.json().get("error", {})
        except ValueError:
            err = {}
        code = err.get("code") or err.get("type") or str(response.status_code)
        return VendorError(self.system, response.status_code, code,
                           err.get("message") or response.text[:300], err)

    async def post(self, path: str, params: Params, idempotency_key: str) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key,
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = urllib.parse.urlencode(encode_form(params)).encode()
        response = await self.send("POST", path, content=body, headers=headers)
        return orjson.loads(response.content)  # type: ignore[no-any-return]

    async def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        response = await self.send("GET", path, params=encode_form(params or {}))
        return orjson.loads(response.content)  # type: ignore[no-any-return]

    # -- customers and subscriptions ---------------------------------------------------------
    async def create_customer(self, *, key: str, name: str, email: str | None,
                              address: dict[str, Any], metadata: dict[str, str],
                              preferred_locale: str | None = None) -> dict[str, Any]:
        # billing gets the billing address Stripe takes, nothing else of the record (data
        # minimisation: a phone or contact in ``address`` stays in the layer)
        params: Params = {"name": name[:256], "email": email, "metadata": metadata,
                          "address": {k: address[k] for k in ADDRESS_FIELDS if address.get(k)}}
        if preferred_locale:
            params["preferred_locales"] = [preferred_locale]
        return await self.post("/v1/customers", params, f"customer-create:{key}")

    async def resolve_price(self, plan: str) -> dict[str, Any]:
        """A price by id (``price_…``) or by lookup key."""
        if plan.startswith("price_"):
            return await self.get(f"/v1/prices/{plan}")
        found = await self.get("/v1/prices", {"lookup_keys": [plan], "limit": 1})
        if not found.get("data"):
            raise VendorError(self.system, 404, "resource_missing",
                              f"No price with lookup key {plan!r}")
        return found["data"][0]  # type: ignore[no-any-return]

    async def create_subscription(self, *, key: str, customer: str,
                                  items: list[dict[str, Any]], days_until_due: int,
                                  metadata: dict[str, str],
                                  default_tax_rates: list[str] | None = None
                                  ) -> dict[str, Any]:
        return await self.post("/v1/subscriptions", {
            "customer": customer, "items": items, "collection_method": "send_invoice",
            "days_until_due": days_until_due, "metadata": metadata,
            "default_tax_rates": default_tax_rates or None,
        }, f"subscription-create:{key}")

    async def clear_default_tax_rates(self, subscription_id: str) -> dict[str, Any]:
        """From the next invoice on, no tax by rates: the layer holds and taxes cycle
        invoices itself (``""`` unsets a Stripe parameter)."""
        return await self.post(f"/v1/subscriptions/{subscription_id}",
                               {"default_tax_rates": ""},
                               f"subscription-tax-rates-cleared:{subscription_id}")

    async def tax_rate(self, *, percentage: float, inclusive: bool, jurisdiction: str,
                       country: str | None, display_name: str) -> dict[str, Any]:
        """The layer's tax rate for (percentage, jurisdiction, inclusive): found among the
        active rates by its ``description`` key, else created once (idempotency key)."""
        tag = f"o2c:{jurisdiction}:{percentage:.4f}:{'incl' if inclusive else 'excl'}"
        params: Params = {"active": True, "limit": 100}
        while True:
            page = await self.get("/v1/tax_rates", params)
            for rate in page.get("data", []):
                if rate.get("description") == tag:
                    return rate  # type: ignore[no-any-return]
            if not page.get("has_more") or not page.get("data"):
                break
            params["starting_after"] = page["data"][-1]["id"]
        return await self.post("/v1/tax_rates", {
            "display_name": display_name[:50], "percentage": percentage,
            "inclusive": inclusive, "jurisdiction": jurisdiction[:50], "country": country,
            "description": tag, "metadata": {"o2c_key": tag},
        }, f"tax-rate:{tag}")

    async def record_meter_event(self, *, identifier: str, event_name: str, customer: str,
                                 value: int, timestamp: int | None) -> dict[str, Any]:
        return await self.post("/v1/billing/meter_events", {
            "event_name": event_name, "identifier": identifier, "timestamp": timestamp,
            "payload": {"stripe_customer_id": customer, "value": str(value)},
        }, f"meter-event:{identifier}")

    # -- invoices ---------------------------------------------------------------------------
    async def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        return await self.get(f"/v1/invoices/{invoice_id}")

    async def hold_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Stop automatic finalization: the layer finalizes once tax and ERP are ready."""
        return await self.post(f"/v1/invoices/{invoice_id}", {"auto_advance": False},
                               f"invoice-hold:{invoice_id}")

    async def add_tax_line(self, *, invoice: dict[str, Any], amount: int,
                           description: str, transaction_code: str) -> dict[str, Any]:
        return await self.post("/v1/invoiceitems", {
            "customer": invoice["customer"], "invoice": invoice["id"],
            "currency": invoice["currency"], "amount": amount, "description": description,
            "discountable": False,
            "metadata": {"kind": "tax", "tax_transaction": transaction_code},
        }, f"invoice-tax-line:{invoice['id']}:{transaction_code}:{amount}")

    async def finalize_invoice(self, invoice_id: str) -> dict[str, Any]:
        return await self.post(f"/v1/invoices/{invoice_id}/finalize", {"auto_advance": False},
                               f"invoice-finalize:{invoice_id}")

    async def pay_out_of_band(self, invoice_id: str) -> dict[str, Any]:
        return await self.post(f"/v1/invoices/{invoice_id}/pay", {"paid_out_of_band": True},
                               f"invoice-pay-oob:{invoice_id}")

    # -- webhook endpoints ------------------------------------------------------------------
    async def register_webhook(self, url: str, events: list[str]) -> dict[str, Any]:
        return await self.post("/v1/webhook_endpoints", {
            "url": url, "enabled_events": events,
            "description": "o2c reference integration layer"},
            f"webhook-endpoint:{url}:{uuid.uuid4().hex}")  # retries of this one registration

    async def webhook_endpoints(self) -> list[dict[str, Any]]:
        page = await self.get("/v1/webhook_endpoints", {"limit": 100})
        return list(page.get("data", []))

    async def delete_webhook(self, endpoint_id: str) -> None:
        await self.send("DELETE", f"/v1/webhook_endpoints/{endpoint_id}")


def parse_event(payload: bytes) -> dict[str, Any]:
    event = orjson.loads(payload)
    if not isinstance(event, dict) or event.get("object") != "event" or "id" not in event:
        raise ValueError("not a Stripe event")
    return event
