"""A served Adyen simulator, the official ``Adyen`` SDK pointed at it, and a notification
receiver whose answers each test can script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import Adyen
import httpx
import pytest

from simulators._kit import build_app, serve_in_thread
from simulators._kit.testing import Received, WebhookRecorder
from simulators.adyen_payments import AdyenSimulator, Config

API_KEY = "AQE_o2c_test_key"
MERCHANT = "O2CHarnessECOM"
HOOK_USER, HOOK_PASSWORD = "adyen-hooks", "s3cret-pass"


class Receiver(WebhookRecorder):
    """Records every notification POST; answers scripted ``(status, body)`` first, then
    ``[accepted]`` (what Adyen requires to stop retrying)."""

    def __init__(self) -> None:
        super().__init__(default=(200, b"[accepted]"))

    @property
    def requests(self) -> list[Received]:
        return self.received

    def items(self, event_code: str | None = None) -> list[dict[str, Any]]:
        out = [w["NotificationRequestItem"] for r in self.received
               for w in r.json()["notificationItems"]]
        return [i for i in out if event_code is None or i["eventCode"] == event_code]


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with Receiver().serve() as rec:
        yield rec


@pytest.fixture(scope="session")
def sim_server(receiver: Receiver) -> Iterator[Any]:
    config = Config(tick_interval_s=0.05, pending_delay_s=0.3,
                    webhook_urls=[f"{receiver.url}/adyen/notifications"],
                    webhook_username=HOOK_USER, webhook_password=HOOK_PASSWORD)
    app = build_app(AdyenSimulator(config))
    with serve_in_thread(app) as served:
        yield served


@pytest.fixture
def sim(sim_server: Any, receiver: Receiver) -> Iterator[httpx.Client]:
    """Admin/raw HTTP client on a freshly reset simulator."""
    with httpx.Client(base_url=sim_server.url, timeout=10) as client:
        client.post("/_sim/reset").raise_for_status()
        receiver.clear()
        yield client


def make_adyen(base_url: str, version: str = "v71", api_key: str = API_KEY) -> Adyen.Adyen:
    """The SDK on its test platform with every service used here pointed at ``base_url``."""
    adyen = Adyen.Adyen(xapikey=api_key, platform="test")
    for service in (adyen.checkout.payments_api, adyen.checkout.modifications_api):
        service.baseUrl = f"{base_url}/{version}"
    adyen.management.webhooks_merchant_level_api.baseUrl = f"{base_url}/v3"
    return adyen


@pytest.fixture
def adyen(sim: httpx.Client, sim_server: Any) -> Adyen.Adyen:
    return make_adyen(sim_server.url)


def card_payment(reference: str, *, number: str = "4111111145551142", value: int = 1000,
                 currency: str = "EUR", holder: str = "John Smith",
                 **extra: Any) -> dict[str, Any]:
    """A ``/payments`` body with a raw test card, as in Adyen's 'card-direct' example."""
    return {
        "amount": {"currency": currency, "value": value}, "reference": reference,
        "merchantAccount": MERCHANT, "returnUrl": "https://shop.example.com/return",
        "paymentMethod": {"type": "scheme", "number": number, "expiryMonth": "03",
                          "expiryYear": "2030", "cvc": "7373" if number.startswith("3")
                          and len(number) == 15 else "737", "holderName": holder},
        **extra,
    }
