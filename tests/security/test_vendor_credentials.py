"""Every simulator checks credentials the way its vendor does, seen through the vendor's own
SDK where one exists (stripe, avalara, Adyen, pyodata/requests, simple-salesforce, zeep):
the status, the error body, the exception the SDK raises — and no credential echoed back in
full. Plus the layer's Salesforce adapter: one re-login on INVALID_SESSION_ID, then the error.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import Adyen
import httpx
import pyodata
import pyodata.exceptions
import pytest
import requests
import stripe
import zeep
import zeep.exceptions
from avalara import AvataxClient
from lxml import etree
from simple_salesforce import Salesforce, SalesforceExpiredSession
from zeep.wsse.username import UsernameToken

from harness.canonical.secrets import reveal
from integration.adapters.http import RetryPolicy, VendorError, make_client
from integration.adapters.salesforce import Salesforce as SalesforceAdapter
from integration.settings import CrmSettings, RetrySettings
from simulators._kit import ThreadedServer, build_app, ensure_server_cert, serve_in_thread
from simulators.adyen_payments import AdyenSimulator
from simulators.adyen_payments import Config as AdyenConfig
from simulators.avalara_tax import AvalaraSimulator
from simulators.legacy_erp import Config as LegacyConfig
from simulators.legacy_erp import LegacyErpSimulator
from simulators.s4hana_erp import Config as S4Config
from simulators.s4hana_erp import S4HanaSimulator
from simulators.salesforce_crm import Config as CrmConfig
from simulators.salesforce_crm import SalesforceSimulator
from simulators.stripe_billing import StripeSimulator


def served(app: Any, name: str, **kw: Any) -> Iterator[ThreadedServer]:
    with serve_in_thread(app, name=name, **kw) as server:
        httpx.post(f"{server.url}/_sim/reset", verify=False).raise_for_status()
        yield server


# -- Stripe ------------------------------------------------------------------------------------
STRIPE_KEY = "sk_test_o2c_harness"


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    yield from (s.url for s in served(build_app(StripeSimulator()), "stripe"))


def stripe_sdk(url: str, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)


def test_stripe_without_a_key(stripe_url: str) -> None:
    r = httpx.get(f"{stripe_url}/v1/customers")
    assert r.status_code == 401
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(
        "You did not provide an API key. You need to provide your API key in the "
        "Authorization header, using Bearer auth")
    assert "code" not in error  # Stripe sends no code for a missing key


def test_stripe_bad_key_is_masked_and_the_sdk_raises_authentication_error(
        stripe_url: str) -> None:
    bad = "sk_test_51NotARealKeyAtAllXyz9"
    with pytest.raises(stripe.AuthenticationError) as err:
        stripe_sdk(stripe_url, bad).v1.customers.list()
    assert err.value.http_status == 401
    assert err.value.json_body["error"]["code"] == "api_key_invalid"
    message = str(err.value.user_message)
    assert message == "Invalid API Key provided: sk_test_" + "*" * 18 + "Xyz9"
    assert bad not in str(err.value.json_body)  # never echoed back in full
    # the same key as HTTP Basic user name (Stripe's other scheme) is refused alike
    basic = base64.b64encode(f"{bad}:".encode()).decode()
    r = httpx.get(f"{stripe_url}/v1/customers", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_invalid"


def test_stripe_publishable_key_on_a_secret_endpoint(stripe_url: str) -> None:
    with pytest.raises(stripe.AuthenticationError) as err:
        stripe_sdk(stripe_url, "pk_test_o2c_harness").v1.customers.create({"name": "X"})
    assert err.value.http_status == 401
    assert err.value.json_body["error"]["code"] == "secret_key_required"
    assert str(err.value.user_message).startswith(
        "This API call cannot be made with a publishable API key. Please use a secret API key.")


def test_stripe_good_key_works(stripe_url: str) -> None:
    assert stripe_sdk(stripe_url, STRIPE_KEY).v1.customers.list().data == []


# -- AvaTax ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def avatax_url() -> Iterator[str]:
    yield from (s.url for s in served(build_app(AvalaraSimulator()), "avatax"))


def avatax(url: str) -> AvataxClient:
    return AvataxClient("o2c-security", "1.0", "test", url, timeout_limit=10)


def assert_authentication_exception(response: Any) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["target"]) == ("AuthenticationException", "HttpRequestHeaders")
    detail = error["details"][0]
    assert (detail["code"], detail["number"], detail["severity"]) == \
        ("AuthenticationException", 30, "Error")
    assert detail["faultCode"] == "Client"
    assert detail["helpLink"].endswith("/AuthenticationException")


@pytest.mark.parametrize("credentials", [
    ("2000000001", "not-the-license"),     # right account, wrong license key
    ("2000000099", "o2c-test-license"),    # unknown account
    ("not-a-bearer-token",),               # bearer token
    None,                                  # none at all
])
def test_avatax_bad_credentials(avatax_url: str, credentials: tuple[str, ...] | None) -> None:
    client = avatax(avatax_url)
    if credentials is not None:
        client = client.add_credentials(*credentials)
    assert_authentication_exception(client.list_transactions_by_company("O2C"))
    ping = client.ping().json()  # ping answers anyone, and says who it authenticated
    assert ping["authenticated"] is False


def test_avatax_good_license(avatax_url: str) -> None:
    client = avatax(avatax_url).add_credentials("2000000001", "o2c-test-license")
    assert client.list_transactions_by_company("O2C").status_code == 200


# -- Adyen -------------------------------------------------------------------------------------
ADYEN_KEY = "AQE_o2c_test_key"


@pytest.fixture(scope="module")
def adyen_url() -> Iterator[str]:
    yield from (s.url for s in served(build_app(AdyenSimulator(AdyenConfig())), "adyen"))


def adyen_sdk(url: str, key: str) -> Adyen.Adyen:
    client = Adyen.Adyen(xapikey=key, platform="test")
    client.checkout.payments_api.baseUrl = f"{url}/v71"
    client.management.webhooks_merchant_level_api.baseUrl = f"{url}/v3"
    return client


def card_payment() -> dict[str, Any]:
    return {"merchantAccount": "O2CHarnessECOM", "reference": "SEC-1",
            "returnUrl": "https://shop.example/return",
            "amount": {"value": 1000, "currency": "EUR"},
            "paymentMethod": {"type": "scheme", "encryptedCardNumber": "test_4111111111111111",
                              "encryptedExpiryMonth": "test_03",
                              "encryptedExpiryYear": "test_2030",
                              "encryptedSecurityCode": "test_737"}}


@pytest.mark.parametrize("key", ["AQE_someone_elses_key", ""])
def test_adyen_checkout_bad_or_missing_key(adyen_url: str, key: str) -> None:
    with pytest.raises(Adyen.AdyenAPIAuthenticationError) as err:
        adyen_sdk(adyen_url, key or "x").checkout.payments_api.payments(card_payment())
    assert err.value.status_code == 401
    assert err.value.message == {"status": 401, "errorCode": "000",
                                 "message": "HTTP Status Response - Unauthorized",
                                 "errorType": "security"}
    headers = {"X-API-Key": key} if key else {}
    raw = httpx.post(f"{adyen_url}/v72/payments", json=card_payment(), headers=headers)
    assert raw.status_code == 401 and raw.json()["errorType"] == "security"


def test_adyen_management_api_bad_key_is_a_rest_service_error(adyen_url: str) -> None:
    r = httpx.post(f"{adyen_url}/v3/merchants/O2CHarnessECOM/webhooks",
                   headers={"X-API-Key": "AQE_wrong"}, json={"type": "standard"})
    assert r.status_code == 401
    body = r.json()
    assert (body["status"], body["errorCode"], body["title"]) == (401, "00_401", "Unauthorized")


def test_adyen_good_key_works(adyen_url: str) -> None:
    result = adyen_sdk(adyen_url, ADYEN_KEY).checkout.payments_api.payments(card_payment())
    assert result.message["resultCode"] == "Authorised"


# -- SAP S/4HANA: Basic auth and the CSRF handshake ------------------------------------------
SAP_USER, SAP_PASSWORD = "O2C_COMM_USER", "o2c-password"
BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"


@pytest.fixture(scope="module")
def sap_url() -> Iterator[str]:
    yield from (s.url for s in served(build_app(S4HanaSimulator(S4Config())), "s4"))


def partner() -> dict[str, Any]:
    return {"BusinessPartnerCategory": "2", "OrganizationBPName1": "Security GmbH",
            "BusinessPartnerGrouping": "BP02"}


@pytest.mark.parametrize("auth", [(SAP_USER, "wrong"), ("NOBODY", SAP_PASSWORD), None])
def test_sap_bad_basic_auth(sap_url: str, auth: tuple[str, str] | None) -> None:
    session = requests.Session()
    session.auth = auth
    r = session.get(f"{sap_url}{BP}/A_BusinessPartner", params={"$format": "json"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == \
        'Basic realm="SAP NetWeaver Application Server [O2C/100]"'
    error = r.json()["error"]
    assert error["code"] == "/IWFND/CM_CONSUMER/101"
    with pytest.raises(pyodata.exceptions.HttpError) as err:  # the SDK reads $metadata first
        pyodata.Client(f"{sap_url}{BP}", session)
    assert err.value.response.status_code == 401


def test_sap_write_without_csrf_token_is_refused(sap_url: str) -> None:
    session = requests.Session()
    session.auth = (SAP_USER, SAP_PASSWORD)
    before = session.get(f"{sap_url}{BP}/A_BusinessPartner/$count").text
    r = session.post(f"{sap_url}{BP}/A_BusinessPartner", json=partner())
    assert r.status_code == 403
    assert r.headers["x-csrf-token"] == "Required"
    assert r.json()["error"]["message"]["value"] == "CSRF token validation failed"
    # a token from another session (no matching cookie) is refused too
    other = requests.Session()
    other.auth = (SAP_USER, SAP_PASSWORD)
    token = other.head(f"{sap_url}{BP}/", headers={"x-csrf-token": "Fetch"}
                       ).headers["x-csrf-token"]
    stolen = session.post(f"{sap_url}{BP}/A_BusinessPartner", json=partner(),
                          headers={"x-csrf-token": token})
    assert stolen.status_code == 403
    assert session.get(f"{sap_url}{BP}/A_BusinessPartner/$count").text == before


def test_sap_write_after_the_csrf_handshake_through_pyodata(sap_url: str) -> None:
    session = requests.Session()
    session.auth = (SAP_USER, SAP_PASSWORD)
    fetched = session.head(f"{sap_url}{BP}/", headers={"x-csrf-token": "Fetch"})
    session.headers["x-csrf-token"] = fetched.headers["x-csrf-token"]
    client = pyodata.Client(f"{sap_url}{BP}", session)
    created = client.entity_sets.A_BusinessPartner.create_entity().set(**partner()).execute()
    assert created.BusinessPartner


# -- Salesforce: sessions --------------------------------------------------------------------
@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tls = ensure_server_cert(tmp_path_factory.mktemp("crm-ca"))
    app = build_app(SalesforceSimulator(CrmConfig()))
    with serve_in_thread(app, tls=tls, name="crm") as server:
        yield server.url, str(tls.ca_cert)


def crm_http(ca: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    session.headers["Connection"] = "close"
    return session


def crm_sdk(url: str, ca: str) -> Salesforce:
    c = CrmConfig()
    token = crm_http(ca).post(f"{url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": c.client_id,
        "client_secret": reveal(c.client_secret), "username": c.username,
        "password": f"{reveal(c.password)}{reveal(c.security_token)}"}).json()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=crm_http(ca))


SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_salesforce_unknown_token_is_invalid_session(crm: tuple[str, str]) -> None:
    url, ca = crm
    sf = Salesforce(instance_url=url, session_id="00Dforged!token", session=crm_http(ca))
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.status == 401
    assert err.value.content == SESSION_EXPIRED
    raw = crm_http(ca).get(f"{url}/services/data/v59.0/limits")  # no Authorization at all
    assert raw.status_code == 401 and raw.json() == SESSION_EXPIRED
    assert raw.headers["WWW-Authenticate"] == "Token"


def test_salesforce_admin_expires_live_sessions(crm: tuple[str, str]) -> None:
    url, ca = crm
    sf = crm_sdk(url, ca)
    sf.query("SELECT Id FROM Account")
    admin = crm_http(ca).post(f"{url}/_sim/crm/sessions/expire")
    assert admin.status_code == 200 and admin.json()["expired"] >= 1
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM Account")
    assert err.value.content == SESSION_EXPIRED
    assert crm_sdk(url, ca).query("SELECT Id FROM Account")["done"] is True  # a new login works


def test_salesforce_session_lifetime_runs_on_the_simulator_clock(crm: tuple[str, str]) -> None:
    url, ca = crm
    sf = crm_sdk(url, ca)
    crm_http(ca).post(f"{url}/_sim/clock/advance",
                      json={"seconds": CrmConfig().session_lifetime_s + 1}).raise_for_status()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")


class CountingAdapter(SalesforceAdapter):
    logins = 0

    async def login(self) -> None:
        self.logins += 1
        await super().login()


def run_adapter(url: str, ca: str, steps: Any) -> tuple[CountingAdapter, Any]:
    async def main() -> tuple[CountingAdapter, Any]:
        retry = RetrySettings(attempts=2, wait_initial_s=0, wait_max_s=0, wait_jitter_s=0)
        client = make_client("crm", url, settings=retry,
                             transport=httpx.AsyncHTTPTransport(
                                 verify=ssl.create_default_context(cafile=ca)))
        adapter = CountingAdapter(client, RetryPolicy(retry), CrmSettings(url=url))
        try:
            return adapter, await steps(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(main())


def test_layer_adapter_logs_in_again_once_on_invalid_session(crm: tuple[str, str]) -> None:
    url, ca = crm
    admin = crm_http(ca)

    async def steps(adapter: CountingAdapter) -> list[int]:
        sizes = [len(await adapter.query("SELECT Id FROM Account"))]
        admin.post(f"{url}/_sim/crm/sessions/expire").raise_for_status()
        sizes.append(len(await adapter.query("SELECT Id FROM Account")))
        return sizes

    adapter, sizes = run_adapter(url, ca, steps)
    assert adapter.logins == 2  # the first login, and exactly one after the expiry
    assert sizes[0] == sizes[1]


def test_layer_adapter_gives_up_after_one_relogin(crm: tuple[str, str]) -> None:
    url, ca = crm
    admin = crm_http(ca)
    admin.put(f"{url}/_sim/faults", json={"rules": [
        {"kind": "error", "status": 401, "route": "/services/data/*/query*"}]}
              ).raise_for_status()
    try:
        async def steps(adapter: CountingAdapter) -> None:
            await adapter.query("SELECT Id FROM Account")

        with pytest.raises(VendorError) as err:
            run_adapter(url, ca, steps)
        assert (err.value.status, err.value.code) == (401, "INVALID_SESSION_ID")
    finally:
        admin.delete(f"{url}/_sim/faults").raise_for_status()


# -- Legacy SOAP ERP: WS-Security UsernameToken or HTTP Basic ----------------------------------
ERP_NS = "urn:o2c:legacy-erp:v1"
ERP_USER, ERP_PASSWORD = "O2C_RFC", "Legacy#2004"


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    app = build_app(LegacyErpSimulator(LegacyConfig(default_latency_ms=0)))
    yield from (s.url for s in served(app, "legacy"))


def soap_client(url: str, **token: Any) -> zeep.Client:
    wsse = UsernameToken(token.pop("user", ERP_USER), token.pop("password", ERP_PASSWORD),
                         **token) if token.get("use_digest") is not None else None
    return zeep.Client(f"{url}/soap/LegacyErp?wsdl", wsse=wsse)


def auth_fault(client: zeep.Client) -> str:
    with pytest.raises(zeep.exceptions.Fault) as err:
        client.service.GetOpenItems(CompanyCode="1000")
    assert err.value.code == "soap:Client"
    detail = err.value.detail
    assert detail is not None
    assert detail.findtext(f"{{{ERP_NS}}}ErpError/{{{ERP_NS}}}Code") == "AUTH", \
        etree.tostring(detail)
    return str(err.value.message)


@pytest.mark.parametrize("digest", [False, True])
def test_legacy_wrong_password_is_an_auth_fault(legacy_url: str, digest: bool) -> None:
    auth_fault(soap_client(legacy_url, password="wrong", use_digest=digest))


def test_legacy_no_credentials_is_an_auth_fault(legacy_url: str) -> None:
    assert "No credentials" in auth_fault(soap_client(legacy_url))


def test_legacy_bad_basic_auth_is_an_auth_fault(legacy_url: str) -> None:
    session = requests.Session()
    session.auth = (ERP_USER, "wrong")
    client = zeep.Client(f"{legacy_url}/soap/LegacyErp?wsdl",
                         transport=zeep.transports.Transport(session=session))
    auth_fault(client)


def test_legacy_password_digest_is_fresh_and_used_once(legacy_url: str) -> None:
    nonce = base64.b64encode(hashlib.sha256(b"fixed nonce").digest()[:16]).decode()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fixed = soap_client(legacy_url, use_digest=True, nonce=nonce,
                        created=datetime.fromisoformat(created.replace("Z", "+00:00")))
    fixed.service.GetOpenItems(CompanyCode="1000")  # accepted the first time
    # the very same token again (a captured message replayed): refused
    assert "already used" in auth_fault(fixed)
    # a token created longer ago than the window: refused (message expired)
    stale = soap_client(legacy_url, use_digest=True,
                        created=datetime.now(UTC) - timedelta(seconds=301))
    assert "expired" in auth_fault(stale)
    future = soap_client(legacy_url, use_digest=True,
                         created=datetime.now(UTC) + timedelta(seconds=120))
    assert "expired" in auth_fault(future)
    # a fresh token (zeep makes a new nonce per call) keeps working, call after call
    fresh = soap_client(legacy_url, use_digest=True)
    for _ in range(2):
        fresh.service.GetOpenItems(CompanyCode="1000")


def test_legacy_credentials_are_not_echoed(legacy_url: str) -> None:
    body = f"""<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:erp="{ERP_NS}"
  xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
 <soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>{ERP_USER}</wsse:Username>
  <wsse:Password>S3cret-Guess-991</wsse:Password></wsse:UsernameToken></wsse:Security>
 </soap:Header>
 <soap:Body><erp:GetOpenItems><erp:CompanyCode>1000</erp:CompanyCode></erp:GetOpenItems>
 </soap:Body></soap:Envelope>"""
    r = httpx.post(f"{legacy_url}/soap/LegacyErp", content=body.encode(), headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{ERP_NS}/GetOpenItems"'})
    assert r.status_code == 500 and b"<Code>AUTH</Code>" in r.content.replace(b"erp:", b"")
    assert b"S3cret-Guess-991" not in r.content
