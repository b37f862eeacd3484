"""``harness.testing.mock_landscape``: the official SDKs at the vendors' real hosts, answered
in-process, with no socket opened."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import stripe
from simple_salesforce import Salesforce

import simulators
from harness.testing import MockLandscape, MockLandscapeError, mock_landscape


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every attempt to connect a socket from this test's thread or the mock's event loop
    fails the test (and is recorded). Other threads of this worker (servers that other test
    modules keep, and their webhook deliveries) are not this test's traffic."""
    attempts: list[Any] = []
    ours = {threading.current_thread().name, "o2c-mock-landscape"}

    def refusing(real: Any) -> Any:
        def refuse(self: socket.socket, address: Any) -> Any:
            if threading.current_thread().name not in ours:
                return real(self, address)
            attempts.append(address)
            raise AssertionError(f"a socket was opened to {address}")
        return refuse

    monkeypatch.setattr(socket.socket, "connect", refusing(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", refusing(socket.socket.connect_ex))
    yield attempts
    assert attempts == []


def test_stripe_and_simple_salesforce_sdks_at_their_default_hosts(no_network: list[Any]) -> None:
    crm = simulators.config_class("crm")()
    with mock_landscape(only=["billing", "crm"]) as landscape:
        client = stripe.StripeClient("sk_test_o2c_harness", max_network_retries=0)
        customer = client.v1.customers.create(params={"email": "ada@example.com",
                                                      "metadata": {"crm_id": "001x"}})
        assert customer.email == "ada@example.com"
        assert client.v1.customers.retrieve(customer.id).metadata["crm_id"] == "001x"
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.retrieve("cus_missing")

        # SOAP login at login.salesforce.com, then REST on the instance it names
        sf = Salesforce(username=crm.username, password=crm.password.get_secret_value(),
                        security_token=crm.security_token.get_secret_value())
        created = sf.Account.create({"Name": "Acme GmbH"})
        assert created["success"] is True
        rows = sf.query("SELECT Id, Name FROM Account WHERE Name = 'Acme GmbH'")["records"]
        assert [r["Id"] for r in rows] == [created["id"]]

        # the requests reached the simulators: their journals saw them
        journal = landscape.admin("billing").get("/_sim/journal").raise_for_status().json()
        assert any("/v1/customers" in str(entry) for entry in journal["data"])


def test_decorator_form_and_stripe_module_level_api(no_network: list[Any]) -> None:
    @mock_landscape(only=["billing"])
    def create() -> str:
        stripe.api_key = "sk_test_o2c_harness"
        try:
            return str(stripe.Customer.create(email="bob@example.com").id)
        finally:
            stripe.api_key = None

    assert create().startswith("cus_")


def test_httpx_sync_and_async_callers_go_through_respx(no_network: list[Any]) -> None:
    auth = ("sk_test_o2c_harness", "")
    with mock_landscape(only=["billing"]):
        with httpx.Client(base_url="https://api.stripe.com", auth=auth) as client:
            made = client.post("/v1/customers", data={"email": "c@example.com"})
            assert made.status_code == 200, made.text

        async def fetch() -> httpx.Response:
            async with httpx.AsyncClient(base_url="https://api.stripe.com", auth=auth) as c:
                return await c.get(f"/v1/customers/{made.json()['id']}")

        assert asyncio.run(fetch()).json()["email"] == "c@example.com"


def test_avalara_adyen_and_s4hana_hosts(no_network: list[Any]) -> None:
    import Adyen
    from avalara import AvataxClient

    tax = simulators.config_class("tax")()
    account, license_key = next(iter(tax.accounts.items()))  # type: ignore[attr-defined]
    with mock_landscape(only=["tax", "payments", "cloud_erp"]):
        avatax = AvataxClient("app", "1.0", "machine", "sandbox").add_credentials(
            account, license_key.get_secret_value())
        assert avatax.ping().json()["authenticated"] is True

        payments = simulators.config_class("payments")()
        adyen = Adyen.Adyen(xapikey=payments.api_keys[0].get_secret_value(), platform="test")  # type: ignore[attr-defined]
        result = adyen.checkout.payments_api.payments({
            "amount": {"currency": "EUR", "value": 1000}, "reference": "ORDER-1",
            "merchantAccount": payments.merchant_accounts[0],  # type: ignore[attr-defined]
            "paymentMethod": {"type": "scheme", "number": "4111111145551142",
                              "expiryMonth": "03", "expiryYear": "2030", "cvc": "737",
                              "holderName": "John Smith"},
            "returnUrl": "https://shop.example.com/return"}).message
        assert result["resultCode"] == "Authorised"
        assert result["pspReference"]

        erp = requests.get("https://my123456-api.s4hana.ondemand.com/sap/opu/odata/sap/"
                           "API_BUSINESS_PARTNER/$metadata")
        assert erp.status_code == 401  # SAP logon required — answered by the simulator


def test_background_work_runs_while_mocked() -> None:
    with mock_landscape(only=["billing"]) as landscape:
        admin = landscape.admin("billing")
        before = admin.get("/_sim/clock").raise_for_status().json()
        admin.post("/_sim/clock/advance", json={"seconds": 60}).raise_for_status()
        after = admin.get("/_sim/clock").raise_for_status().json()
        assert after != before
        assert landscape.seed(seed=1, size=2)["billing"]["created"]


def test_unmocked_hosts_pass_through_and_unknown_simulators_are_refused() -> None:
    landscape = MockLandscape(only=["billing"])
    assert landscape.simulator_for("api.stripe.com") == "billing"
    assert landscape.simulator_for("login.salesforce.com") is None  # crm not in this mock
    assert MockLandscape(only=["crm"]).simulator_for("acme.my.salesforce.com") == "crm"
    with pytest.raises(MockLandscapeError):
        MockLandscape(only=["nope"])
