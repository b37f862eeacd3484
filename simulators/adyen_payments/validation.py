"""Request-body checks in Adyen's order and with Adyen's error codes (no state touched here).

Each ``parse_*`` returns a small, trusted value object or raises the ServiceError Adyen gives
for the first problem it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from simulators._kit import is_digits

from . import catalog
from .errors import AdyenError, ValidationError, invalid_merchant_account, unexpected_input

NewPsp = Callable[[], str]
MAX_VALUE = 10**15  # int64-safe ceiling for amount.value


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise unexpected_input("empty body, expected: {")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise unexpected_input(str(exc).split(":")[0]) from None
    if not isinstance(data, dict):
        raise unexpected_input(f"{type(data).__name__}, expected: {{")
    return data


def _string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise unexpected_input(f"{name} must be a string")
    return value


def merchant_account(body: dict[str, Any], allowed: list[str], new_psp: NewPsp) -> str:
    account = _string(body, "merchantAccount")
    if not account or account not in allowed:
        raise invalid_merchant_account(new_psp())
    return account


def amount(body: dict[str, Any], new_psp: NewPsp, *, required: bool = True,
           allow_zero: bool = False) -> dict[str, Any] | None:
    """``amount {currency, value}`` in minor units of a currency Adyen processes."""
    raw = body.get("amount")
    if raw is None:
        if required:
            raise ValidationError("100", "Required object 'amount' is not provided.", new_psp())
        return None
    if not isinstance(raw, dict):
        raise unexpected_input("amount must be an object")
    currency, value = raw.get("currency"), raw.get("value")
    if not isinstance(currency, str) or currency not in catalog.CURRENCY_EXPONENT:
        raise ValidationError("138", "Unsupported currency specified", new_psp())
    # bool is an int in Python; a JSON true is not an amount
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("137", "Invalid amount specified", new_psp())
    if value < 0 or value > MAX_VALUE or (value == 0 and not allow_zero):
        raise ValidationError("137", "Invalid amount specified", new_psp())
    return {"currency": currency, "value": value}


def reference(body: dict[str, Any], new_psp: NewPsp, *, required: bool) -> str | None:
    ref = _string(body, "reference")
    if not ref:
        if required:
            raise ValidationError("130", "Required field 'reference' is not provided.",
                                  new_psp())
        return None
    if len(ref) > 80:
        raise ValidationError("130", "Reference too long: the maximum length is 80",
                              new_psp())
    return ref


@dataclass
class CardInput:
    number: str
    brand: str
    expiry_month: int
    expiry_year: int
    holder_name: str | None


@dataclass
class SepaInput:
    iban: str
    owner_name: str


@dataclass
class PaymentInput:
    merchant_account: str
    amount: dict[str, Any]
    reference: str
    method_type: str
    card: CardInput | None = None
    sepa: SepaInput | None = None
    shopper_reference: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    acquirer_response_code: int | None = None
    capture_delay_hours: int | None = None
    return_url: str | None = None


def _plain(method: dict[str, Any], name: str, new_psp: NewPsp) -> str | None:
    """A card field given plain (``number``) or 'encrypted' (``encryptedCardNumber``); on
    the test platform ``test_<value>`` stands for an encrypted value."""
    encrypted_names = {"number": "encryptedCardNumber", "expiryMonth": "encryptedExpiryMonth",
                       "expiryYear": "encryptedExpiryYear", "cvc": "encryptedSecurityCode"}
    value = method.get(name)
    enc = method.get(encrypted_names[name])
    if value is None and enc is not None:
        if not isinstance(enc, str) or not enc.startswith("test_"):
            raise ValidationError("174", "Unable to decrypt data", new_psp())
        value = enc.removeprefix("test_")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise unexpected_input(f"paymentMethod.{name} must be a string")
    return value.replace(" ", "")


def _card(method: dict[str, Any], new_psp: NewPsp) -> CardInput:
    number = _plain(method, "number", new_psp)
    if not number or not catalog.luhn_ok(number):
        raise ValidationError("101", "Invalid card number", new_psp())
    month_s = _plain(method, "expiryMonth", new_psp)
    year_s = _plain(method, "expiryYear", new_psp)
    if not (month_s and year_s and is_digits(month_s) and is_digits(year_s)
            and 1 <= int(month_s) <= 12 and len(year_s) == 4):
        raise ValidationError("129", "Expiry Date Invalid", new_psp())
    brand = catalog.card_brand(number)
    cvc = _plain(method, "cvc", new_psp)
    if cvc is not None and (not cvc.isdigit() or len(cvc) != (4 if brand == "amex" else 3)):
        raise ValidationError("103", "CVC is not the right length", new_psp())
    holder = method.get("holderName")
    if holder is not None and not isinstance(holder, str):
        raise unexpected_input("paymentMethod.holderName must be a string")
    return CardInput(number, brand, int(month_s), int(year_s), holder)


def _sepa(method: dict[str, Any], new_psp: NewPsp) -> SepaInput:
    iban = method.get("iban")
    owner = method.get("ownerName")
    if not isinstance(iban, str) or not catalog.iban_ok(iban):
        raise ValidationError("161", "Invalid iban", new_psp())
    if not isinstance(owner, str) or not owner.strip():
        raise ValidationError("162", "Invalid bank account holder name", new_psp())
    return SepaInput(iban.replace(" ", "").upper(), owner.strip())


SUPPORTED_METHODS = ("scheme", "sepadirectdebit")


def payment_request(body: dict[str, Any], allowed_accounts: list[str],
                    new_psp: NewPsp) -> PaymentInput:
    """A ``/payments`` body, checked the way Adyen checks it (first failure wins)."""
    account = merchant_account(body, allowed_accounts, new_psp)
    money = amount(body, new_psp, allow_zero=True)
    assert money is not None
    ref = reference(body, new_psp, required=True)
    assert ref is not None
    method = body.get("paymentMethod")
    if method is None:
        raise ValidationError("000", "Required object 'paymentMethod' is not provided.",
                              new_psp())
    if not isinstance(method, dict):
        raise unexpected_input("paymentMethod must be an object")
    return_url = _string(body, "returnUrl")
    if not return_url:
        raise ValidationError("14_030", "Return URL is missing.", new_psp())
    method_type = method.get("type", "scheme")
    if method_type not in SUPPORTED_METHODS:
        raise AdyenError(422, "905", "Payment details are not supported", "configuration",
                         new_psp())
    out = PaymentInput(merchant_account=account, amount=money, reference=ref,
                       method_type=method_type, return_url=return_url)
    if method_type == "scheme":
        out.card = _card(method, new_psp)
    else:
        if money["currency"] != "EUR":
            raise ValidationError("138", "Unsupported currency specified", new_psp())
        out.sepa = _sepa(method, new_psp)
    out.shopper_reference = _string(body, "shopperReference")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(v, str | int | float | bool) for v in metadata.values()):
            raise unexpected_input("metadata must be an object of strings")
        if len(metadata) > 20:
            raise ValidationError("000", "Metadata size exceeds limit", new_psp())
        out.metadata = {str(k): str(v) for k, v in metadata.items()}
    additional = body.get("additionalData")
    if isinstance(additional, dict) and "RequestedTestAcquirerResponseCode" in additional:
        code = additional["RequestedTestAcquirerResponseCode"]
        try:
            out.acquirer_response_code = int(code)
        except (TypeError, ValueError):
            raise unexpected_input("RequestedTestAcquirerResponseCode must be a number") \
                from None
    delay = body.get("captureDelayHours")
    if delay is not None:
        if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 24 * 30:
            raise unexpected_input("captureDelayHours must be an integer")
        out.capture_delay_hours = delay
    return out
