"""Webhook endpoints and signed event delivery, verified with ``stripe.Webhook``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators._kit import serve_in_thread

from .conftest import wait_for


class Receiver:
    """A merchant's webhook endpoint: verifies signatures, can fail the first N calls."""

    def __init__(self) -> None:
        self.secret = ""
        self.fail_first = 0
        self.events: list[stripe.Event] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature", ""), self.secret)
        except stripe.SignatureVerificationError:
            self.statuses.append(400)
            return Response(status_code=400)
        with self.lock:
            status = 500 if self.fail_first > 0 else 200
            self.fail_first -= 1
            self.statuses.append(status)
            if status == 200:
                self.events.append(event)
        return Response(status_code=status)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks", rec.handle, methods=["POST"])])
    with serve_in_thread(app, name="merchant") as server:
        yield rec, f"{server.url}/hooks"


def test_endpoint_crud_and_secret_once(client: stripe.StripeClient) -> None:
    we = client.v1.webhook_endpoints.create(params={
        "url": "https://example.com/hooks", "enabled_events": ["invoice.paid"]})
    assert we.secret.startswith("whsec_")
    got = client.v1.webhook_endpoints.retrieve(we.id)
    assert "secret" not in got
    upd = client.v1.webhook_endpoints.update(we.id, params={"disabled": True})
    assert upd.status == "disabled"
    assert [w.id for w in client.v1.webhook_endpoints.list().data] == [we.id]
    assert client.v1.webhook_endpoints.delete(we.id).deleted is True


def test_signed_delivery_with_retries(client: stripe.StripeClient, admin: httpx.Client,
                                      receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    we = client.v1.webhook_endpoints.create(params={"url": url,
                                                    "enabled_events": ["customer.*"]})
    rec.secret = we.secret
    rec.fail_first = 2
    cus = client.v1.customers.create(params={"email": "hook@example.com"})
    client.v1.products.create(params={"name": "not subscribed"})
    event = wait_for(lambda: rec.events)[0]
    assert event.type == "customer.created"
    assert event.data.object.id == cus.id
    assert rec.statuses[:3] == [500, 500, 200]
    # the receiver answers before the simulator records the attempt: wait for the record
    log = wait_for(lambda: [d for d in admin.get(
        "/_sim/webhooks", params={"event_id": event.id}).json()["data"]
        if len(d["attempts"]) >= 3])
    assert [a["status_code"] for a in log[0]["attempts"]] == [500, 500, 200]
    assert client.v1.events.retrieve(event.id).pending_webhooks == 1
    assert all(e.type.startswith("customer.") for e in rec.events)


def test_duplicates_under_the_webhook_duplicate_fault(
        client: stripe.StripeClient, admin: httpx.Client,
        receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    we = client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]})
    rec.secret = we.secret
    admin.put("/_sim/faults", json={"rules": [{"kind": "webhook_duplicate"}]}
              ).raise_for_status()
    client.v1.customers.create(params={"email": "dup@example.com"})
    events = wait_for(lambda: len(rec.events) >= 2 and rec.events)
    assert events[0].id == events[1].id


def test_bad_signature_is_rejected_by_the_sdk(client: stripe.StripeClient,
                                              receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"]})
    rec.secret = "whsec_not_the_right_one"
    client.v1.customers.create(params={"email": "sig@example.com"})
    wait_for(lambda: 400 in rec.statuses)
    assert rec.events == []


