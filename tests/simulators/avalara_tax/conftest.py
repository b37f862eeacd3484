"""One AvaTax simulator per test module, reset before every test; the official SDK points at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from avalara import AvataxClient

from simulators._kit import ThreadedServer, build_app, serve_in_thread
from simulators.avalara_tax import AvalaraSimulator, Config

ACCOUNT = "2000000001"
LICENSE = "o2c-test-license"


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with serve_in_thread(build_app(AvalaraSimulator(Config())), name="avatax") as served:
        yield served


@pytest.fixture
def admin(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture
def avatax(server: ThreadedServer, admin: httpx.Client) -> AvataxClient:
    """The official SDK with the simulator's URL as its environment, as a user would set it."""
    client = AvataxClient("o2c-harness", "1.0", "test-machine", server.url, timeout_limit=10)
    return client.add_credentials(ACCOUNT, LICENSE)


def sales_invoice(code: str | None = None, *, ship_to: dict[str, str] | None = None,
                  amounts: tuple[float, ...] = (100.0,), **extra: object) -> dict[str, object]:
    """A CreateTransactionModel as the AvaTax docs show it."""
    model: dict[str, object] = {
        "type": "SalesInvoice",
        "companyCode": "O2C",
        "date": "2025-03-14",
        "customerCode": "CUST-0001",
        "currencyCode": "USD",
        "addresses": {
            "shipFrom": {"line1": "255 S King St", "city": "Seattle", "region": "WA",
                         "postalCode": "98104", "country": "US"},
            "shipTo": ship_to or {"line1": "100 Ravine Lane NE", "city": "Seattle",
                                  "region": "WA", "postalCode": "98110", "country": "US"},
        },
        "lines": [{"number": str(i + 1), "quantity": 1, "amount": amount, "taxCode": "P0000000",
                   "itemCode": f"SKU-{i + 1}", "description": "Subscription"}
                  for i, amount in enumerate(amounts)],
        **extra,
    }
    if code is not None:
        model["code"] = code
    return model
