"""Captures, refunds and cancels: accepted synchronously, decided by notification."""

from __future__ import annotations

from typing import Any

import Adyen
import httpx
import pytest

from simulators._kit import build_app
from simulators._kit.testing import wait_for
from simulators.adyen_payments import AdyenSimulator, Config

from .conftest import MERCHANT, Receiver, card_payment


def _authorised(adyen: Adyen.Adyen, reference: str, value: int = 1000) -> str:
    body = adyen.checkout.payments_api.payments(card_payment(reference, value=value)).message
    assert body["resultCode"] == "Authorised"
    return str(body["pspReference"])


def _mod(value: int | None = None, reference: str = "MOD") -> dict[str, Any]:
    body: dict[str, Any] = {"merchantAccount": MERCHANT, "reference": reference}
    if value is not None:
        body["amount"] = {"currency": "EUR", "value": value}
    return body


def _outcome(receiver: Receiver, event_code: str, psp: str) -> dict[str, Any]:
    items = wait_for(lambda: [i for i in receiver.items(event_code) if i["pspReference"] == psp])
    return items[0]


def test_partial_captures_then_refund(adyen: Adyen.Adyen, sim: httpx.Client,
                                      receiver: Receiver) -> None:
    psp = _authorised(adyen, "ORDER-CAP")
    mods = adyen.checkout.modifications_api
    first = mods.capture_authorised_payment(_mod(600, "CAP-1"), psp)
    assert first.status_code == 201
    assert first.message["status"] == "received"
    assert first.message["paymentPspReference"] == psp
    assert first.message["pspReference"] != psp and len(first.message["pspReference"]) == 16
    item = _outcome(receiver, "CAPTURE", first.message["pspReference"])
    assert (item["success"], item["originalReference"], item["amount"]["value"]) == (
        "true", psp, 600)
    second = mods.capture_authorised_payment(_mod(400, "CAP-2"), psp).message
    assert _outcome(receiver, "CAPTURE", second["pspReference"])["success"] == "true"
    captured = sim.get("/_sim/await", params={"kind": "payment.captured", "key": "ORDER-CAP",
                                              "timeout": 2}).json()["fact"]
    assert captured["count"] == 2 and captured["data"]["amount"] == 600

    refund = mods.refund_captured_payment(_mod(250, "REF-1"), psp).message
    assert refund["status"] == "received" and refund["amount"]["value"] == 250
    item = _outcome(receiver, "REFUND", refund["pspReference"])
    assert (item["success"], item["merchantReference"]) == ("true", "ORDER-CAP")
    assert sim.get("/_sim/await", params={"kind": "payment.refunded", "key": psp,
                                          "timeout": 2}).json()["matched"]


def test_capture_above_the_authorised_amount_fails_by_notification(
        adyen: Adyen.Adyen, receiver: Receiver) -> None:
    psp = _authorised(adyen, "ORDER-OVER", value=1000)
    accepted = adyen.checkout.modifications_api.capture_authorised_payment(_mod(1500), psp)
    assert accepted.message["status"] == "received"
    item = _outcome(receiver, "CAPTURE", accepted.message["pspReference"])
    assert item["success"] == "false"
    assert item["reason"] == "Insufficient balance on payment"


def test_cancel_before_capture_and_not_after(adyen: Adyen.Adyen, sim: httpx.Client,
                                             receiver: Receiver) -> None:
    mods = adyen.checkout.modifications_api
    psp = _authorised(adyen, "ORDER-CANCEL")
    cancel = mods.cancel_authorised_payment_by_psp_reference(_mod(reference="C-1"), psp).message
    assert "amount" not in cancel
    item = _outcome(receiver, "CANCELLATION", cancel["pspReference"])
    assert (item["success"], item["originalReference"]) == ("true", psp)
    assert sim.get("/_sim/await", params={"kind": "payment.cancelled", "key": "ORDER-CANCEL",
                                          "timeout": 2}).json()["matched"]
    # a cancelled payment can no longer be captured
    late = mods.capture_authorised_payment(_mod(100), psp).message
    assert _outcome(receiver, "CAPTURE", late["pspReference"])["success"] == "false"

    captured = _authorised(adyen, "ORDER-CAPTURED")
    cap = mods.capture_authorised_payment(_mod(1000), captured).message
    _outcome(receiver, "CAPTURE", cap["pspReference"])
    too_late = mods.cancel_authorised_payment_by_psp_reference(_mod(), captured).message
    assert _outcome(receiver, "CANCELLATION", too_late["pspReference"])["success"] == "false"


def test_cancel_by_merchant_reference(adyen: Adyen.Adyen, receiver: Receiver) -> None:
    psp = _authorised(adyen, "ORDER-OWNREF")
    result = adyen.checkout.modifications_api.cancel_authorised_payment(
        {"merchantAccount": MERCHANT, "paymentReference": "ORDER-OWNREF",
         "reference": "CANCEL-OWNREF"})
    assert result.status_code == 201
    assert result.message["paymentReference"] == "ORDER-OWNREF"
    item = _outcome(receiver, "CANCELLATION", result.message["pspReference"])
    assert (item["success"], item["originalReference"]) == ("true", psp)


def test_refund_more_than_captured_fails_by_notification(adyen: Adyen.Adyen,
                                                         receiver: Receiver) -> None:
    psp = _authorised(adyen, "ORDER-REFUND-OVER")
    mods = adyen.checkout.modifications_api
    cap = mods.capture_authorised_payment(_mod(300), psp).message
    _outcome(receiver, "CAPTURE", cap["pspReference"])
    refund = mods.refund_captured_payment(_mod(301), psp).message
    assert _outcome(receiver, "REFUND", refund["pspReference"])["success"] == "false"


def test_unknown_payment_is_422_code_167(adyen: Adyen.Adyen) -> None:
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as err:
        adyen.checkout.modifications_api.capture_authorised_payment(_mod(100), "0000000000000000")
    assert err.value.error_code == "167"
    assert err.value.message["message"] == "Original pspReference required for this operation"


def test_missing_amount_on_capture_is_code_100(adyen: Adyen.Adyen) -> None:
    psp = _authorised(adyen, "ORDER-NOAMOUNT")
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as err:
        adyen.checkout.modifications_api.capture_authorised_payment(_mod(), psp)
    assert err.value.error_code == "100"


def test_strict_mode_rejects_impossible_modifications_synchronously() -> None:
    """With ``reject_invalid_modifications`` the backend refuses at request time."""
    backend = build_app(AdyenSimulator(Config(reject_invalid_modifications=True))).state.kit.backend
    payment = backend.make_payment(card_payment("ORDER-STRICT"))
    from simulators.adyen_payments.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        backend.request_modification("capture", payment["pspReference"], _mod(5000))
    assert err.value.error_code == "137"
    with pytest.raises(ValidationError) as err:
        backend.request_modification("refund", payment["pspReference"], _mod(100))
    assert err.value.error_code == "167"
