"""Address resolution, invalid addresses and AvaTax's error shape, through the official SDK."""

from __future__ import annotations

import pytest
from avalara import AvataxClient

from .conftest import sales_invoice

ERROR_DETAIL_KEYS = {"code", "number", "message", "description", "faultCode", "helpLink",
                     "severity"}


def assert_avatax_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["x-correlation-id"]
    error = response.json()["error"]
    assert error["code"] == code
    assert {"code", "message", "target", "details"} <= set(error)
    assert set(error["details"][0]) >= ERROR_DETAIL_KEYS
    assert error["details"][0]["helpLink"].endswith(code)
    return error


def test_resolve_us_address_post_and_get(avatax: AvataxClient) -> None:
    posted = avatax.resolve_address_post({"line1": "233 S Wacker Dr", "city": "Chicago",
                                          "region": "IL", "postalCode": "60606",
                                          "country": "US"})
    assert posted.status_code == 200
    body = posted.json()
    validated = body["validatedAddresses"][0]
    assert (validated["city"], validated["region"], validated["line1"]) == \
        ("CHICAGO", "IL", "233 S WACKER DR")
    assert body["coordinates"]["latitude"] == pytest.approx(41.88, abs=0.1)
    assert body["resolutionQuality"] == "PostalCentroidBest"
    assert [a["jurisdictionType"] for a in body["taxAuthorities"]] == \
        ["State", "County", "City", "Special"]
    fetched = avatax.resolve_address({"line1": "1 Main St", "city": "Seattle", "region": "WA",
                                      "textCase": "Mixed"}).json()
    assert fetched["validatedAddresses"][0]["city"] == "Seattle"
    assert fetched["validatedAddresses"][0]["postalCode"] == "98101"


@pytest.mark.parametrize(("address", "postal"), [
    ({"postalCode": "M5V3L9", "country": "CA"}, "M5V 3L9"),
    ({"postalCode": "10115", "country": "DE"}, "10115"),
    ({"postalCode": "sw1a 1aa", "country": "GB"}, "SW1A 1AA"),
    ({"postalCode": "100-0001", "country": "JP"}, "100-0001"),
])
def test_resolve_international_addresses_by_postal_format(avatax: AvataxClient, address: dict,
                                                          postal: str) -> None:
    body = avatax.resolve_address_post(address).json()
    assert "messages" not in body
    assert body["validatedAddresses"][0]["postalCode"] == postal
    assert body["taxAuthorities"][0]["jurisdictionType"] == "Country"


@pytest.mark.parametrize(("address", "summary"), [
    ({"postalCode": "00012", "country": "US"}, "not valid"),
    ({"postalCode": "98101", "region": "CA", "country": "US"}, "does not belong"),
    ({"postalCode": "1011", "country": "DE"}, "not valid"),
    ({"postalCode": "12345", "country": "XX"}, "not a recognized country"),
    ({"line1": "1 Main", "city": "Springfield", "region": "ZZ", "country": "US"},
     "not a recognized region"),
])
def test_unresolvable_addresses_carry_error_messages(avatax: AvataxClient, address: dict,
                                                     summary: str) -> None:
    response = avatax.resolve_address_post(address)
    assert response.status_code == 200
    message = response.json()["messages"][0]
    assert summary in message["summary"]
    assert (message["severity"], message["refersTo"]) == ("Error", "Address")
    assert "validatedAddresses" not in response.json()


def test_incomplete_address_cannot_be_resolved(avatax: AvataxClient) -> None:
    error = assert_avatax_error(avatax.resolve_address_post({"line1": "2720 W Main Street"}),
                                400, "GetTaxError")
    assert error["details"][0]["refersTo"] == "Addresses[0]"
    assert_avatax_error(avatax.resolve_address_post({"postalCode": "98101", "textCase": "Loud"}),
                        400, "InvalidAddressTextCase")


def test_an_address_field_that_is_not_a_string_is_refused(avatax: AvataxClient) -> None:
    """Found by fuzzing: numbers were dropped and the rest resolved as if they were absent."""
    error = assert_avatax_error(avatax.resolve_address_post(
        {"line1": "233 S Wacker Dr", "city": "Chicago", "region": "IL", "country": "US",
         "postalCode": 60606}), 400, "ModelStateInvalid")
    assert "postalCode" in error["message"]


@pytest.mark.parametrize(("ship_to", "code"), [
    ({"line1": "1 Main St", "city": "Seattle", "region": "WA", "postalCode": "98101"},
     "InvalidAddress"),
    ({"line1": "1 Main St", "country": "US"}, "InvalidAddress"),
    ({"postalCode": "00000", "country": "US"}, "InvalidPostalCode"),
    ({"postalCode": "98101", "region": "NY", "country": "US"}, "InvalidPostalCode"),
    ({"city": "Toronto", "line1": "1 King St", "country": "CA"}, "InvalidAddress"),
    ({"postalCode": "12345", "country": "QQ"}, "InvalidCountry"),
    ({"line1": "1 Main", "city": "X", "region": "QQ", "country": "US"}, "InvalidCountryRegion"),
    ({"postalCode": "ABCDE", "country": "FR"}, "InvalidPostalCode"),
])
def test_bad_addresses_fail_the_transaction(avatax: AvataxClient, ship_to: dict,
                                            code: str) -> None:
    error = assert_avatax_error(avatax.create_transaction(sales_invoice("INV-BAD",
                                                                        ship_to=ship_to)),
                                400, code)
    assert error["target"] == "IncorrectData"
    assert "ShipTo" in error["details"][0]["refersTo"]
    assert avatax.get_transaction_by_code("O2C", "INV-BAD").status_code == 404


def test_missing_addresses_and_lines(avatax: AvataxClient) -> None:
    model = sales_invoice("INV-NA")
    del model["addresses"]
    error = assert_avatax_error(avatax.create_transaction(model), 400, "InvalidAddress")
    assert error["message"] == "The address value was incomplete."
    no_lines = sales_invoice("INV-NL", lines=[])
    assert_avatax_error(avatax.create_transaction(no_lines), 400, "MissingLine")


@pytest.mark.parametrize(("change", "code"), [
    ({"date": None}, "ValueRequiredError"),
    ({"date": "14/03/2025"}, "DateFormatError"),
    ({"customerCode": None}, "ValueRequiredError"),
    ({"type": "Invoice"}, "InvalidEnumValue"),
    ({"entityUseCode": "ZZ"}, "ModelStateInvalid"),
    ({"currencyCode": "dollars"}, "ModelStateInvalid"),
    ({"lines": [{"amount": "lots"}]}, "ModelStateInvalid"),
    ({"lines": [{"quantity": 1}]}, "ValueRequiredError"),
])
def test_invalid_models_are_rejected(avatax: AvataxClient, change: dict, code: str) -> None:
    model = {**sales_invoice("INV-M"), **change}
    model = {k: v for k, v in model.items() if v is not None}
    assert_avatax_error(avatax.create_transaction(model), 400, code)


def test_bodies_that_are_not_models(avatax: AvataxClient, admin) -> None:
    headers = {"Authorization": "Basic MjAwMDAwMDAwMTpvMmMtdGVzdC1saWNlbnNl",
               "Content-Type": "application/json"}
    not_json = admin.post("/api/v2/transactions/create", content=b"{nope", headers=headers)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "JsonFormatError"
    empty = admin.post("/api/v2/transactions/create", content=b"", headers=headers)
    assert empty.json()["error"]["code"] == "ModelRequiredException"
    array = admin.post("/api/v2/transactions/createoradjust", content=b"[]", headers=headers)
    assert array.json()["error"]["code"] == "ModelRequiredException"
    unknown = admin.get("/api/v2/nothing-here", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "IncorrectPathError"


def test_bad_license_key_is_authentication_exception(server) -> None:
    client = AvataxClient("o2c-harness", "1.0", "test-machine", server.url)
    wrong = client.add_credentials("2000000001", "not-the-key")
    error = assert_avatax_error(wrong.create_transaction(sales_invoice("INV-A")), 401,
                                "AuthenticationException")
    assert (error["target"], error["details"][0]["number"]) == ("HttpRequestHeaders", 30)
    anonymous = AvataxClient("o2c-harness", "1.0", "test-machine", server.url)
    assert_avatax_error(anonymous.list_transactions_by_company("O2C"), 401,
                        "AuthenticationException")
    assert wrong.ping().json()["authenticated"] is False


def test_ping_reports_the_authenticated_account(avatax: AvataxClient, server) -> None:
    ping = avatax.ping().json()
    assert (ping["authenticated"], ping["authenticationType"], ping["authenticatedAccountId"]) \
        == (True, "AccountIdLicenseKey", 2000000001)
    assert ping["version"]
    bearer = AvataxClient("o2c-harness", "1.0", "m", server.url).add_credentials(
        "o2c-test-bearer-token")
    assert bearer.ping().json()["authenticationType"] == "OpenIdBearerToken"
    assert bearer.list_transactions_by_company("O2C").status_code == 200
