"""``/payments`` and ``/paymentMethods`` through the official SDK, one test-card outcome each."""

from __future__ import annotations

import Adyen
import httpx
import pytest

from simulators._kit.testing import wait_for

from .conftest import MERCHANT, Receiver, card_payment, make_adyen


def test_test_card_is_authorised_with_a_16_character_psp_reference(adyen: Adyen.Adyen,
                                                                   sim: httpx.Client) -> None:
    result = adyen.checkout.payments_api.payments(card_payment("ORDER-1001"))
    body = result.message
    assert result.status_code == 200
    assert body["resultCode"] == "Authorised"
    assert len(body["pspReference"]) == 16 and body["pspReference"].isalnum()
    assert result.psp == body["pspReference"]
    assert body["merchantReference"] == "ORDER-1001"
    assert body["amount"] == {"currency": "EUR", "value": 1000}
    assert body["paymentMethod"] == {"type": "scheme", "brand": "visa"}
    assert body["additionalData"]["cardSummary"] == "1142"
    assert len(body["additionalData"]["authCode"]) == 6
    fact = sim.get("/_sim/await", params={"kind": "payment.authorised", "key": "ORDER-1001",
                                          "timeout": 2}).json()
    assert fact["matched"] and fact["fact"]["data"]["pspReference"] == body["pspReference"]
    by_psp = sim.get("/_sim/await", params={"kind": "payment.authorised",
                                            "key": body["pspReference"], "timeout": 2}).json()
    assert by_psp["matched"] and by_psp["fact"]["data"]["amount"] == 1000


@pytest.mark.parametrize(("number", "brand"), [
    ("5555341244441115", "mc"), ("370000000000002", "amex"), ("3569990010095841", "jcb")])
def test_other_test_cards_are_authorised_with_their_brand(adyen: Adyen.Adyen, number: str,
                                                          brand: str) -> None:
    body = adyen.checkout.payments_api.payments(
        card_payment(f"ORDER-{brand}", number=number, currency="USD")).message
    assert (body["resultCode"], body["paymentMethod"]["brand"]) == ("Authorised", brand)


@pytest.mark.parametrize(("holder", "result_code", "reason", "code"), [
    ("DECLINED", "Refused", "Refused", "2"),
    ("CARD_EXPIRED", "Refused", "Expired Card", "6"),
    ("NOT_ENOUGH_BALANCE", "Refused", "Not enough balance", "12"),
    ("ERROR", "Error", "Acquirer Error", "4"),
])
def test_holder_name_selects_the_documented_test_outcome(adyen: Adyen.Adyen, sim: httpx.Client,
                                                         holder: str, result_code: str,
                                                         reason: str, code: str) -> None:
    body = adyen.checkout.payments_api.payments(
        card_payment(f"ORDER-{holder}", holder=holder)).message
    assert body["resultCode"] == result_code
    assert body["refusalReason"] == reason
    assert body["refusalReasonCode"] == code
    fact = sim.get("/_sim/await", params={"kind": "payment.refused", "key": f"ORDER-{holder}",
                                          "timeout": 2}).json()
    assert fact["matched"] and fact["fact"]["data"]["refusalReason"] == reason


def test_requested_test_acquirer_response_code_selects_the_outcome(adyen: Adyen.Adyen) -> None:
    body = adyen.checkout.payments_api.payments(card_payment(
        "ORDER-RTARC", additionalData={"RequestedTestAcquirerResponseCode": 5})).message
    assert (body["resultCode"], body["refusalReason"]) == ("Refused", "Blocked Card")


def test_real_looking_card_number_is_refused_on_the_test_platform(adyen: Adyen.Adyen) -> None:
    body = adyen.checkout.payments_api.payments(
        card_payment("ORDER-REAL", number="4242424242424242")).message
    assert (body["resultCode"], body["refusalReasonCode"]) == ("Refused", "2")


def test_encrypted_test_fields_are_accepted(adyen: Adyen.Adyen) -> None:
    request = card_payment("ORDER-ENC")
    request["paymentMethod"] = {
        "type": "scheme", "encryptedCardNumber": "test_5555341244441115",
        "encryptedExpiryMonth": "test_03", "encryptedExpiryYear": "test_2030",
        "encryptedSecurityCode": "test_737"}
    body = adyen.checkout.payments_api.payments(request).message
    assert (body["resultCode"], body["paymentMethod"]["brand"]) == ("Authorised", "mc")


def test_sepa_direct_debit_is_received_then_authorised_by_notification(
        adyen: Adyen.Adyen, sim: httpx.Client, receiver: Receiver) -> None:
    body = adyen.checkout.payments_api.payments({
        "amount": {"currency": "EUR", "value": 2500}, "reference": "ORDER-SEPA",
        "merchantAccount": MERCHANT, "returnUrl": "https://shop.example.com/return",
        "paymentMethod": {"type": "sepadirectdebit", "iban": "NL13TEST0123456789",
                          "ownerName": "A. Klaassen"}}).message
    assert body["resultCode"] == "Received"
    assert body["additionalData"]["sepadirectdebit.mandateId"] == body["pspReference"]
    assert not sim.get("/_sim/facts", params={"kind": "payment.authorised"}).json()["data"]
    item = wait_for(lambda: receiver.items("AUTHORISATION"))[0]
    assert (item["pspReference"], item["success"], item["paymentMethod"]) == (
        body["pspReference"], "true", "sepadirectdebit")
    fact = sim.get("/_sim/await", params={"kind": "payment.authorised", "key": "ORDER-SEPA",
                                          "timeout": 2}).json()
    assert fact["matched"]


def test_v71_and_v72_are_both_served(sim_server, sim: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    for version in ("v71", "v72"):
        client = make_adyen(sim_server.url, version)
        result = client.checkout.payments_api.payments(card_payment(f"ORDER-{version}"))
        assert result.message["resultCode"] == "Authorised"
    paths = [e["path"] for e in sim.get("/_sim/journal").json()["data"]]
    assert "/v71/payments" in paths and "/v72/payments" in paths


def test_payment_methods_depend_on_country_and_currency(adyen: Adyen.Adyen) -> None:
    api = adyen.checkout.payments_api
    nl = api.payment_methods({"merchantAccount": MERCHANT, "countryCode": "NL",
                              "amount": {"currency": "EUR", "value": 1000}}).message
    types = [m["type"] for m in nl["paymentMethods"]]
    assert types == ["scheme", "sepadirectdebit", "ideal"]
    assert {"visa", "mc"} <= set(nl["paymentMethods"][0]["brands"])
    us = api.payment_methods({"merchantAccount": MERCHANT, "countryCode": "US",
                              "amount": {"currency": "USD", "value": 1000}}).message
    assert [m["type"] for m in us["paymentMethods"]] == ["scheme"]
    jp = api.payment_methods({"merchantAccount": MERCHANT, "countryCode": "JP",
                              "amount": {"currency": "JPY", "value": 1000}}).message
    assert "jcb" in jp["paymentMethods"][0]["brands"]


def test_jpy_amounts_are_whole_yen(adyen: Adyen.Adyen, sim: httpx.Client) -> None:
    body = adyen.checkout.payments_api.payments(
        card_payment("ORDER-JPY", currency="JPY", value=1500)).message
    assert body["amount"] == {"currency": "JPY", "value": 1500}
    fact = sim.get("/_sim/await", params={"kind": "payment.authorised", "key": "ORDER-JPY",
                                          "timeout": 2}).json()["fact"]
    assert (fact["data"]["currency"], fact["data"]["amount"]) == ("JPY", 1500)
    assert fact["data"]["amountMajor"] == "1500"
