"""integration-layer → adyen-payments: the gateway adapter
(``integration.adapters.adyen.AdyenManagement``) against the Pact mock server. The layer only
*sends* Management API calls: set up its standard webhook (idempotently) and generate the
HMAC key it then verifies notifications with; plus Adyen's error body for an unknown
merchant account."""

from __future__ import annotations

import asyncio

import pytest
from pact import Pact, match
from pact_support import fast_policy, from_state, write_pact

from integration.adapters.adyen import AdyenManagement
from integration.adapters.http import VendorError, make_client
from integration.settings import RetrySettings

KEY = {"X-API-Key": match.regex("AQE_o2c_test_key", regex=r"^AQE\w+$")}
JSON = "application/json"
URL = "http://127.0.0.1:8100/webhooks/adyen"
HOOK = r"^[A-Z0-9-]+$"


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a request to set up the layer's standard webhook")
     .with_request("POST", "/v3/merchants/O2CHarnessECOM/webhooks")
     .with_headers(KEY)
     .with_header("Idempotency-Key", match.regex(f"o2c-webhook:O2CHarnessECOM:{URL}",
                                                 regex=r"^o2c-webhook:\w+:https?://.+$"))
     .with_body({"type": "standard", "url": match.regex(URL, regex=r"^https?://.+$"),
                 "active": True, "communicationFormat": "json"}, content_type=JSON)
     .will_respond_with(200)
     .with_body({"id": match.regex("S2-AQMHTHNY6HSM", regex=HOOK),
                 "type": "standard", "url": match.regex(URL, regex=r"^https?://.+$"),
                 "active": True}, content_type=JSON))

    (pact.upon_receiving("a request to generate the HMAC key of a webhook")
     .given("a standard webhook exists for merchant O2CHarnessECOM")
     .with_request("POST", from_state(
         "/v3/merchants/O2CHarnessECOM/webhooks/S2-AQMHTHNY6HSM/generateHmac",
         "/v3/merchants/O2CHarnessECOM/webhooks/${webhookId}/generateHmac",
         r"^/v3/merchants/\w+/webhooks/[A-Z0-9-]+/generateHmac$"))
     .with_headers(KEY)
     .will_respond_with(200)
     .with_body({"hmacKey": match.regex("6F2C9E0D1A7B4C3E8F5A2D9B0C7E6F1A3B8D5C2E9F0A7B4C1D6E3F"
                                        "8A5B2C9D0E", regex=r"^[0-9A-F]{64}$")},
                content_type=JSON))

    (pact.upon_receiving("a request to set up a webhook for an unknown merchant account")
     .with_request("POST", "/v3/merchants/NoSuchMerchant/webhooks")
     .with_headers(KEY)
     .with_header("Idempotency-Key", match.regex(f"o2c-webhook:NoSuchMerchant:{URL}",
                                                 regex=r"^o2c-webhook:\w+:https?://.+$"))
     .with_body({"type": "standard", "url": match.regex(URL, regex=r"^https?://.+$"),
                 "active": True, "communicationFormat": "json"}, content_type=JSON)
     .will_respond_with(403)
     .with_body({"status": 403, "errorCode": match.regex("00_403", regex=r"^\d+_\d+$"),
                 "title": match.str("Forbidden"),
                 "detail": match.str("Merchant account NoSuchMerchant is not accessible")},
                content_type=JSON))


async def exercise(url: str) -> None:
    payments = AdyenManagement(make_client("payments", url, settings=RetrySettings(attempts=1),
                                           headers={"X-API-Key": "AQE_o2c_test_key"}),
                               fast_policy())
    try:
        hook = await payments.register_webhook("O2CHarnessECOM", URL)
        assert hook["id"] and len(hook["hmacKey"]) == 64
        with pytest.raises(VendorError) as unknown:
            await payments.register_webhook("NoSuchMerchant", URL)
        assert (unknown.value.status, unknown.value.code) == (403, "00_403")
    finally:
        await payments.aclose()


def test_payments_adapter_contract() -> None:
    pact = Pact("integration-layer", "adyen-payments").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
