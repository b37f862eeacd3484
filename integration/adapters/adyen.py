"""Payment gateway adapter in Adyen's dialect. The layer mostly *receives*: standard
notifications verified per item with Adyen's HMAC (HMAC-SHA256 with the binary hex key over
``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
eventCode:success``, base64), answered ``[accepted]``. It *sends* only the Management API
calls that register its webhook (``X-API-Key``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import httpx

from .http import Adapter, VendorError

SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference",
                 "value", "currency", "eventCode", "success")
ACCEPTED = "[accepted]"


def signing_string(item: dict[str, Any]) -> str:
    amount = item.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    values = {**item, "value": amount.get("value", ""), "currency": amount.get("currency", "")}
    return ":".join("" if values.get(f) is None else str(values.get(f)) for f in SIGNED_FIELDS)


def valid_signature(item: dict[str, Any], hmac_key_hex: str) -> bool:
    data = item.get("additionalData")
    given = data.get("hmacSignature") if isinstance(data, dict) else None
    if not isinstance(given, str) or not given:
        return False
    try:
        key = binascii.a2b_hex(hmac_key_hex)
    except (binascii.Error, ValueError):
        return False
    digest = hmac.new(key, signing_string(item).encode("utf-8"), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), given.encode("utf-8", "replace"))


def notification_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("notificationItems")
    if not isinstance(items, list):
        raise ValueError("not an Adyen notification: notificationItems missing")
    out = []
    for wrapped in items:
        item = wrapped.get("NotificationRequestItem") if isinstance(wrapped, dict) else None
        if not isinstance(item, dict):
            raise ValueError("notificationItems[] without NotificationRequestItem")
        out.append(item)
    return out


def event_id(item: dict[str, Any]) -> str:
    """Adyen's duplicate key: eventCode + pspReference + success."""
    return f"{item.get('eventCode')}:{item.get('pspReference')}:{item.get('success')}"


class AdyenManagement(Adapter):
    system = "payments"

    def vendor_error(self, response: httpx.Response) -> VendorError:
        try:
            err = response.json()
        except ValueError:
            err = {}
        return VendorError(self.system, response.status_code,
                           str(err.get("errorCode") or err.get("status") or response.status_code),
                           str(err.get("message") or err.get("detail") or response.text[:300]),
                           err)

    async def register_webhook(self, merchant_id: str, url: str) -> dict[str, Any]:
        """Set up a standard webhook and generate its HMAC key: ``{id, hmacKey}``."""
        created = (await self.send(
            "POST", f"/v3/merchants/{merchant_id}/webhooks",
            headers={"Idempotency-Key": f"o2c-webhook:{merchant_id}:{url}"},
            json={"type": "standard", "url": url, "active": True,
                  "communicationFormat": "json"})).json()
        key = (await self.send(
            "POST", f"/v3/merchants/{merchant_id}/webhooks/{created['id']}/generateHmac",
        )).json()
        return {"id": created["id"], "hmacKey": key["hmacKey"]}
