"""A Stripe simulator served once per session; every test starts from ``/_sim/reset``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from simulators._kit import build_app, serve_in_thread
from simulators._kit.testing import wait_for as wait_for  # re-exported for the tests
from simulators.stripe_billing import StripeSimulator

API_KEY = "sk_test_o2c_harness"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[Any]:
    with serve_in_thread(build_app(StripeSimulator()), name="stripe") as server:
        yield server


@pytest.fixture
def admin(stripe_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stripe_server.url, timeout=10) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture
def client(stripe_server: Any, admin: httpx.Client) -> stripe.StripeClient:
    """The official SDK client pointed at the simulator (no automatic retries)."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": stripe_server.url},
                               max_network_retries=0)


@pytest.fixture
def raw(stripe_server: Any, admin: httpx.Client) -> Iterator[httpx.Client]:
    """Plain HTTP with the API key, for what the SDK hides (headers, raw bodies)."""
    with httpx.Client(base_url=stripe_server.url, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c
