"""Adyen standard notifications (webhooks): the item shape, its HMAC signature and batching.

Signature (docs.adyen.com/development-resources/webhooks/verify-hmac-signatures): HMAC-SHA256
with the binary form of the hex HMAC key over
``pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
eventCode:success`` (absent fields as empty strings, no escaping, as the official libraries
compute it), base64-encoded into ``additionalData.hmacSignature``.

Batching rule: every item produced by one API request or one clock tick is pending in an
outbox; the outbox is drained at the end of that request/tick, and the items for one endpoint
go out together, at most ``batch_size`` per message, in the order they were produced.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import orjson

SIGNED_FIELDS = ("pspReference", "originalReference", "merchantAccountCode", "merchantReference",
                 "value", "currency", "eventCode", "success")


def event_date(ts: float) -> str:
    """Adyen's ``eventDate``: ISO 8601 with an explicit offset, second precision."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def notification_item(*, event_code: str, psp_reference: str, merchant_account: str,
                      merchant_reference: str, amount: dict[str, Any], success: bool,
                      event_date: str, original_reference: str | None = None,
                      payment_method: str | None = None, reason: str | None = None,
                      operations: list[str] | None = None,
                      additional_data: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``NotificationRequestItem`` (unsigned)."""
    item: dict[str, Any] = {
        "amount": {"currency": amount["currency"], "value": int(amount["value"])},
        "eventCode": event_code,
        "eventDate": event_date,
        "merchantAccountCode": merchant_account,
        "merchantReference": merchant_reference,
        "pspReference": psp_reference,
        "success": "true" if success else "false",
    }
    if original_reference:
        item["originalReference"] = original_reference
    if payment_method:
        item["paymentMethod"] = payment_method
    if reason is not None:
        item["reason"] = reason
    if operations:
        item["operations"] = operations
    item["additionalData"] = dict(additional_data or {})
    return item


def signing_string(item: dict[str, Any]) -> str:
    values = {**item, "value": item["amount"]["value"], "currency": item["amount"]["currency"]}
    return ":".join(str(values.get(name, "")) for name in SIGNED_FIELDS)


def hmac_signature(item: dict[str, Any], hmac_key_hex: str) -> str:
    key = binascii.a2b_hex(hmac_key_hex)
    digest = hmac.new(key, signing_string(item).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed(item: dict[str, Any], hmac_key_hex: str | None) -> dict[str, Any]:
    """A copy of ``item`` carrying ``additionalData.hmacSignature`` when a key is set."""
    out = copy.deepcopy(item)
    if hmac_key_hex:
        out["additionalData"]["hmacSignature"] = hmac_signature(item, hmac_key_hex)
    return out


def batches(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def notification_body(items: list[dict[str, Any]], live: bool = False) -> bytes:
    """The JSON body Adyen POSTs: ``{"live": "false", "notificationItems": [...]}``."""
    return orjson.dumps({
        "live": "true" if live else "false",
        "notificationItems": [{"NotificationRequestItem": item} for item in items],
    })


def batch_event_id(items: list[dict[str, Any]]) -> str:
    """Delivery-log id of a message: its items as ``EVENTCODE:pspReference``, comma-joined."""
    return ",".join(f"{i['eventCode']}:{i['pspReference']}" for i in items)
