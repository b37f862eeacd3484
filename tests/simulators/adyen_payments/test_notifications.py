"""Standard notifications: HMAC validated by the SDK, ``[accepted]``, retries, duplicates,
basic auth, batching, and webhooks set up through the Management API."""

from __future__ import annotations

import base64

import Adyen
import httpx
import pytest
from Adyen.util import is_valid_hmac_notification

from simulators._kit import build_app
from simulators._kit.testing import wait_for
from simulators.adyen_payments import AdyenSimulator, Config

from .conftest import HOOK_PASSWORD, HOOK_USER, MERCHANT, Receiver, card_payment

CONFIG_KEY = Config().hmac_key.get_secret_value()


def test_notification_is_hmac_signed_and_valid_for_the_sdk(adyen: Adyen.Adyen,
                                                           receiver: Receiver) -> None:
    psp = adyen.checkout.payments_api.payments(
        card_payment("ORDER-HMAC", metadata={"orderId": "o-1"})).psp
    wait_for(lambda: receiver.requests)
    request = receiver.requests[0]
    assert request.path == "/adyen/notifications"
    assert request.json()["live"] == "false"
    item = request.json()["notificationItems"][0]["NotificationRequestItem"]
    assert item["pspReference"] == psp
    assert item["eventCode"] == "AUTHORISATION" and item["success"] == "true"
    assert item["merchantAccountCode"] == MERCHANT
    assert item["operations"] == ["CANCEL", "CAPTURE", "REFUND"]
    assert item["additionalData"]["metadata.orderId"] == "o-1"
    assert is_valid_hmac_notification(item, CONFIG_KEY)
    assert is_valid_hmac_notification(request.json(), CONFIG_KEY)
    tampered = {**item, "amount": {"currency": "EUR", "value": 1}}
    assert not is_valid_hmac_notification(tampered, CONFIG_KEY)
    assert not is_valid_hmac_notification(item, "00" * 32)


def test_refused_payment_is_notified_with_success_false(adyen: Adyen.Adyen,
                                                        receiver: Receiver) -> None:
    adyen.checkout.payments_api.payments(card_payment("ORDER-NO", holder="DECLINED"))
    item = wait_for(lambda: receiver.items("AUTHORISATION"))[0]
    assert (item["success"], item["reason"]) == ("false", "Refused")
    assert is_valid_hmac_notification(item, CONFIG_KEY)


def test_delivery_uses_the_configured_basic_auth(adyen: Adyen.Adyen, receiver: Receiver) -> None:
    adyen.checkout.payments_api.payments(card_payment("ORDER-AUTH"))
    request = wait_for(lambda: receiver.requests)[0]
    expected = base64.b64encode(f"{HOOK_USER}:{HOOK_PASSWORD}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


def test_retried_until_the_receiver_answers_accepted(adyen: Adyen.Adyen, sim: httpx.Client,
                                                     receiver: Receiver) -> None:
    receiver.script.extend([(200, b"ok"), (500, b"[accepted]")])
    psp = adyen.checkout.payments_api.payments(card_payment("ORDER-RETRY")).psp
    event_id = f"AUTHORISATION:{psp}"

    def delivered() -> list[dict[str, object]] | None:
        log = sim.get("/_sim/webhooks", params={"event_id": event_id}).json()["data"]
        return log if log and log[0]["status"] == "delivered" else None

    log = wait_for(delivered)
    assert [a["status_code"] for a in log[0]["attempts"]] == [200, 500, 200]
    assert len(receiver.items("AUTHORISATION")) == 3


def test_duplicate_fault_delivers_the_same_notification_twice(adyen: Adyen.Adyen,
                                                              sim: httpx.Client,
                                                              receiver: Receiver) -> None:
    sim.put("/_sim/faults", json={"rules": [{"kind": "webhook_duplicate"}]}).raise_for_status()
    psp = adyen.checkout.payments_api.payments(card_payment("ORDER-DUP")).psp
    items = wait_for(lambda: len(receiver.items("AUTHORISATION")) >= 2
                     and receiver.items("AUTHORISATION"))
    assert [i["pspReference"] for i in items] == [psp, psp]
    assert items[0] == items[1]
    assert all(is_valid_hmac_notification(i, CONFIG_KEY) for i in items)


def test_items_of_one_tick_go_out_in_one_batch() -> None:
    """Backend-level: notifications produced together share a message, up to the batch size."""
    app = build_app(AdyenSimulator(Config(webhook_urls=["http://hooks.invalid/n"],
                                          notification_batch_size=2)))
    kit = app.state.kit
    backend = kit.backend
    psps = [backend.make_payment(card_payment(f"ORDER-B{i}"))["pspReference"] for i in range(3)]
    for psp in psps:
        backend.request_modification("capture", psp, {
            "merchantAccount": MERCHANT, "amount": {"currency": "EUR", "value": 100}})
    backend.tick(kit.ctx.clock.now())
    captures = [d for d in kit.ctx.webhooks.describe(with_body=True)
                if d["event_type"] == "CAPTURE"]
    assert [d["event_id"].count("CAPTURE:") for d in captures] == [2, 1]


def test_webhook_set_up_through_the_management_api(sim_server, adyen: Adyen.Adyen,  # type: ignore[no-untyped-def]
                                                   receiver: Receiver) -> None:
    api = adyen.management.webhooks_merchant_level_api
    hook = api.set_up_webhook({"type": "standard", "url": f"{receiver.url}/mgmt",
                               "active": True, "communicationFormat": "json"}, MERCHANT).message
    assert hook["id"].startswith("S2-") and hook["active"] is True
    key = api.generate_hmac_key(MERCHANT, hook["id"]).message["hmacKey"]
    assert len(key) == 64
    adyen.checkout.payments_api.payments(card_payment("ORDER-MGMT"))
    request = wait_for(lambda: [r for r in receiver.requests if r.path == "/mgmt"])[0]
    item = request.json()["notificationItems"][0]["NotificationRequestItem"]
    assert is_valid_hmac_notification(item, key)
    assert not is_valid_hmac_notification(item, CONFIG_KEY)
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity):
        api.set_up_webhook({"type": "standard", "url": "ftp://nope", "active": True,
                            "communicationFormat": "json"}, MERCHANT)
    with pytest.raises(Adyen.AdyenAPIInvalidPermission):
        api.set_up_webhook({"type": "standard", "url": f"{receiver.url}/x", "active": True,
                            "communicationFormat": "json"}, "SomeoneElse")
