"""Auth, validation, idempotency and injected faults, as the SDK sees them."""

from __future__ import annotations

from typing import Any

import Adyen
import httpx
import pytest
from Adyen.exceptions import AdyenAPIResponseError

from .conftest import API_KEY, MERCHANT, card_payment, make_adyen


def test_bad_api_key_raises_the_sdk_authentication_error(sim_server, sim: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    client = make_adyen(sim_server.url, api_key="AQE_wrong")
    with pytest.raises(Adyen.AdyenAPIAuthenticationError) as err:
        client.checkout.payments_api.payments(card_payment("ORDER-401"))
    assert err.value.status_code == 401
    assert err.value.message == {"status": 401, "errorCode": "000",
                                 "message": "HTTP Status Response - Unauthorized",
                                 "errorType": "security"}
    assert sim.post("/v72/payments", json={}).status_code == 401


def test_unknown_merchant_account_is_403_code_901(adyen: Adyen.Adyen) -> None:
    with pytest.raises(Adyen.AdyenAPIInvalidPermission) as err:
        adyen.checkout.payments_api.payments(card_payment("ORDER-403",
                                                          merchantAccount="NotMine"))
    assert err.value.error_code == "901"
    assert err.value.message["errorType"] == "security"
    assert len(err.value.message["pspReference"]) == 16


@pytest.mark.parametrize(("change", "code"), [
    ({"amount": None}, "100"),
    ({"amount": {"currency": "XXX", "value": 100}}, "138"),
    ({"amount": {"currency": "EUR", "value": -5}}, "137"),
    ({"reference": None}, "130"),
    ({"returnUrl": None}, "14_030"),
    ({"paymentMethod": {"type": "scheme", "number": "4111111145551143", "expiryMonth": "03",
                        "expiryYear": "2030"}}, "101"),
    ({"paymentMethod": {"type": "scheme", "number": "4111111145551142", "expiryMonth": "13",
                        "expiryYear": "2030"}}, "129"),
    ({"paymentMethod": {"type": "scheme", "number": "4111111145551142", "expiryMonth": "03",
                        "expiryYear": "2030", "cvc": "73"}}, "103"),
    ({"paymentMethod": {"type": "sepadirectdebit", "iban": "NL00TEST0123456789",
                        "ownerName": "A. Klaassen"}}, "161"),
    ({"paymentMethod": {"type": "scheme", "encryptedCardNumber": "adyenjs_0_1_25$abc"}}, "174"),
])
def test_validation_errors_carry_adyen_codes(adyen: Adyen.Adyen, change: dict[str, Any],
                                             code: str) -> None:
    request = {k: v for k, v in {**card_payment("ORDER-422"), **change}.items()
               if v is not None}
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as err:
        adyen.checkout.payments_api.payments(request)
    assert err.value.status_code == 422
    assert err.value.error_code == code
    assert err.value.message["errorType"] == "validation"


def test_malformed_json_is_400_code_702(sim: httpx.Client) -> None:
    response = sim.post("/v71/payments", content=b'{"amount": ',
                        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "702"


def test_unknown_route_is_an_adyen_404(sim: httpx.Client) -> None:
    response = sim.post("/v71/nope", headers={"X-API-Key": API_KEY})
    assert response.status_code == 404
    assert set(response.json()) == {"status", "errorCode", "message", "errorType"}


def test_idempotency_key_replays_the_first_answer(adyen: Adyen.Adyen, sim: httpx.Client) -> None:
    api = adyen.checkout.payments_api
    first = api.payments(card_payment("ORDER-IDEM"), idempotency_key="idem-1")
    again = api.payments(card_payment("ORDER-IDEM"), idempotency_key="idem-1")
    assert again.message == first.message
    assert len(sim.get("/_sim/snapshot").json()["state"]["payments"]) == 1
    with pytest.raises(Adyen.AdyenAPIUnprocessableEntity) as err:
        api.payments(card_payment("ORDER-OTHER"), idempotency_key="idem-1")
    assert err.value.error_code == "704"
    assert err.value.headers["transient-error"] == "false"
    other = api.payments(card_payment("ORDER-IDEM"), idempotency_key="idem-2")
    assert other.psp != first.psp


def test_injected_500_is_an_adyen_internal_error(adyen: Adyen.Adyen, sim: httpx.Client) -> None:
    sim.put("/_sim/faults", json={"rules": [
        {"kind": "error", "status": 500, "route": "/v71/payments"}]}).raise_for_status()
    with pytest.raises(Adyen.AdyenAPICommunicationError) as err:
        adyen.checkout.payments_api.payments(card_payment("ORDER-500"))
    assert err.value.status_code == 500
    assert err.value.message["errorType"] == "internal"
    # other routes are untouched by a route-scoped rule
    assert adyen.checkout.payments_api.payment_methods({"merchantAccount": MERCHANT}).message


def test_injected_rate_limit_is_429_with_retry_after(adyen: Adyen.Adyen,
                                                     sim: httpx.Client) -> None:
    sim.put("/_sim/faults", json={"rules": [{"kind": "rate_limit", "retry_after_s": 3}]})
    with pytest.raises(AdyenAPIResponseError) as err:
        adyen.checkout.payments_api.payments(card_payment("ORDER-429"))
    assert err.value.status_code == 429
    assert err.value.headers["Retry-After"] == "3"
    assert err.value.message["status"] == 429
    sim.delete("/_sim/faults")
    assert adyen.checkout.payments_api.payments(card_payment("ORDER-429")).message["resultCode"]


def test_outage_is_503_in_adyen_shape(sim: httpx.Client) -> None:
    sim.put("/_sim/faults", json={"rules": [{"kind": "outage", "status": 503,
                                             "start_in_s": 0, "duration_s": 60}]})
    response = sim.post("/v72/payments", json=card_payment("ORDER-503"),
                        headers={"X-API-Key": API_KEY})
    assert response.status_code == 503
    assert response.json()["errorType"] == "internal"
