"""A served Adyen simulator, the official ``Adyen`` SDK pointed at it, and a notification
receiver whose answers each test can script."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import Adyen
import httpx
import orjson
import pytest

from simulators._kit import build_app, serve_in_thread
from simulators.adyen_payments import AdyenSimulator, Config

API_KEY = "AQE_o2c_test_key"
MERCHANT = "O2CHarnessECOM"
HOOK_USER, HOOK_PASSWORD = "adyen-hooks", "s3cret-pass"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """Records every POST; answers from ``script`` (status, body) first, then ``[accepted]``."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.script.clear()

    def items(self, event_code: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            out = [w["NotificationRequestItem"] for r in self.requests
                   for w in r.body["notificationItems"]]
        return [i for i in out if event_code is None or i["eventCode"] == event_code]

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                done = ("lifespan.startup.complete" if msg["type"] == "lifespan.startup"
                        else "lifespan.shutdown.complete")
                await send({"type": done})
                if done.endswith("shutdown.complete"):
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self.lock:
            self.requests.append(Received(scope["path"], headers, orjson.loads(body)))
            status, answer = self.script.pop(0) if self.script else (200, b"[accepted]")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": answer})


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with serve_in_thread(rec) as served:
        rec.url = served.url
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
