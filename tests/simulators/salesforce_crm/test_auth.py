"""OAuth 2.0 token endpoint, SOAP login, bearer sessions and their expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed, SalesforceExpiredSession
from simple_salesforce.login import SalesforceLogin

from .conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SECURITY_TOKEN,
    USERNAME,
    LoginRedirect,
    Org,
)


def test_password_grant_returns_a_signed_token_for_this_instance(org: Org) -> None:
    token = org.token()
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == org.url
    assert token["instance_url"].startswith("https://")
    assert token["access_token"].startswith("00D")
    expected = base64.b64encode(hmac.new(CLIENT_SECRET.encode(),
                                         (token["id"] + token["issued_at"]).encode(),
                                         hashlib.sha256).digest()).decode()
    assert token["signature"] == expected


def test_client_credentials_grant_with_basic_auth(org: Org) -> None:
    resp = org.http().post(f"{org.url}/services/oauth2/token",
                           data={"grant_type": "client_credentials"},
                           auth=(CLIENT_ID, CLIENT_SECRET))
    assert resp.status_code == 200
    sf = Salesforce(instance_url=resp.json()["instance_url"],
                    session_id=resp.json()["access_token"], session=org.http())
    assert {s["name"] for s in sf.describe()["sobjects"]} >= {"Account", "Contact",
                                                             "Opportunity"}


@pytest.mark.parametrize(("form", "error"), [
    ({"password": "wrong"}, {"error": "invalid_grant",
                             "error_description": "authentication failure"}),
    ({"password": PASSWORD}, {"error": "invalid_grant",  # security token missing
                              "error_description": "authentication failure"}),
    ({"client_secret": "nope"}, {"error": "invalid_client",
                                 "error_description": "invalid client credentials"}),
    ({"client_id": "nope"}, {"error": "invalid_client_id",
                             "error_description": "client identifier invalid"}),
    ({"grant_type": "authorization_code"}, {"error": "unsupported_grant_type",
                                            "error_description": "grant type not supported"}),
])
def test_bad_credentials_get_the_oauth_error_shape(org: Org, form: dict[str, str],
                                                   error: dict[str, str]) -> None:
    data = {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "username": USERNAME, "password": PASSWORD + SECURITY_TOKEN, **form}
    resp = org.http().post(f"{org.url}/services/oauth2/token", data=data)
    assert resp.status_code == 400
    assert resp.json() == error


def test_unknown_or_missing_token_is_an_expired_session(org: Org) -> None:
    sf = Salesforce(instance_url=org.url, session_id="00Dbogus!token", session=org.http())
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.Account.describe()
    assert exc.value.content == [{"message": "Session expired or invalid",
                                  "errorCode": "INVALID_SESSION_ID"}]


def test_session_expires_on_the_simulator_clock(org: Org) -> None:
    sf = org.sdk()
    sf.Account.create({"Name": "Before Expiry"})
    org.admin.post("/_sim/clock/advance", json={"seconds": 7201}).raise_for_status()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


def test_sdk_soap_login_with_security_token_and_auto_relogin(org: Org) -> None:
    session = org.http()
    session.mount("https://login.salesforce.com", LoginRedirect(org.url))
    sf = Salesforce(username=USERNAME, password=PASSWORD, security_token=SECURITY_TOKEN,
                    session=session)
    assert sf.sf_instance == org.url.removeprefix("https://")
    sf.Account.create({"Name": "Via SOAP Login"})
    first_session = sf.session_id
    # the session expires; the SDK logs in again on INVALID_SESSION_ID and retries
    org.admin.post("/_sim/clock/advance", json={"seconds": 7201}).raise_for_status()
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Via SOAP Login"
    assert sf.session_id != first_session


def test_sdk_soap_login_failure(org: Org) -> None:
    session = org.http()
    session.mount("https://login.salesforce.com", LoginRedirect(org.url))
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(username=USERNAME, password="bad", security_token=SECURITY_TOKEN,
                   session=session)
    assert exc.value.code == "INVALID_LOGIN"


def test_sdk_oauth_password_flow_with_connected_app(org: Org) -> None:
    session = org.http()
    session.mount("https://login.salesforce.com", LoginRedirect(org.url))
    token, instance = SalesforceLogin(username=USERNAME, password=PASSWORD + SECURITY_TOKEN,
                                      consumer_key=CLIENT_ID, consumer_secret=CLIENT_SECRET,
                                      session=session)
    assert instance == org.url.removeprefix("https://")
    sf = Salesforce(instance_url=org.url, session_id=token, session=org.http())
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000
