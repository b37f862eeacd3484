"""integration-layer → salesforce-crm: the CRM adapter (``integration.adapters.salesforce``)
against the Pact mock server: the OAuth2 password grant (``instance_url`` comes back from the
token response and every later call goes there), SOQL for Closed Won opportunities with the
account fields onboarding needs, a single opportunity by id, and the change-event
subscription (the simulator's stand-in for a CDC channel)."""

from __future__ import annotations

import asyncio

from pact import Pact, match
from pact_support import OriginRouter, fast_policy, from_state, write_pact

from integration.adapters.http import make_client
from integration.adapters.salesforce import OPPORTUNITY_FIELDS, Salesforce
from integration.settings import CrmSettings, RetrySettings

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TOKEN = "00D5g000004SimA!AQContractToken"
OPP_ID = "0065g0000000001AAA"
V = "v59.0"
CLOSED_WON = (f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity WHERE "
              "StageName = 'Closed Won' ORDER BY LastModifiedDate ASC LIMIT 200")
BY_ID = f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity WHERE Id = '{OPP_ID}'"
SFID = r"^[a-zA-Z0-9]{18}$"
HOOK = "http://127.0.0.1:8100/webhooks/salesforce"


INSTANCE = "https://o2c-harness.my.salesforce.com"


def _instance_url() -> object:
    # any origin: the layer sends every later call there (in this test, OriginRouter sends
    # the example's origin to the mock server)
    return match.regex(INSTANCE, regex=r"^https?://[^/]+$")


def _opportunity() -> dict[str, object]:
    return {
        "Id": match.regex(OPP_ID, regex=SFID),
        "Name": match.str("Acme Analytics — subscription"),
        "StageName": "Closed Won",
        "IsWon": True,
        "Amount": match.number(588.0),
        "CurrencyIsoCode": match.regex("USD", regex=r"^[A-Z]{3}$"),
        "LastModifiedDate": match.regex("2026-01-31T10:00:00.000+0000",
                                        regex=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
                                              r"(\+0000|Z)$"),
        "AccountId": match.regex("0015g0000000001AAA", regex=SFID),
        "Account": {"Name": match.str("Acme Analytics Inc"),
                    "BillingCountry": match.regex("US", regex=r"^[A-Z]{2}$"),
                    "Legal_Entity__c": match.regex("US01", regex=r"^[A-Z]{2}\d{2}$"),
                    "CurrencyIsoCode": match.regex("USD", regex=r"^[A-Z]{3}$")},
    }


def _bearer() -> object:
    return from_state(f"Bearer {TOKEN}", "Bearer ${accessToken}", r"^Bearer \S+$")


def declare(pact: Pact) -> None:
    (pact.upon_receiving("a password-grant token request of the connected app")
     .with_request("POST", "/services/oauth2/token")
     .with_body({"grant_type": "password",
                 "client_id": match.str("3MVG9o2cHarnessSimulatorConsumerKey"),
                 "client_secret": match.str("o2c-client-secret"),
                 "username": match.regex("integration@o2c.test", regex=r"^\S+@\S+$"),
                 "password": match.str("o2c-passwordo2cSecurityToken")}, content_type=FORM)
     .will_respond_with(200)
     .with_body({"access_token": match.regex(TOKEN, regex=r"^\S+$"),
                 "instance_url": _instance_url(),
                 "token_type": "Bearer"}, content_type=JSON))

    (pact.upon_receiving("a SOQL query for Closed Won opportunities")
     .given("a Closed Won opportunity exists")
     .with_request("GET", f"/services/data/{V}/query")
     .with_header("Authorization", _bearer())
     .with_query_parameter("q", match.regex(CLOSED_WON, regex=r"^SELECT Id, .+ FROM "
                                            r"Opportunity WHERE StageName = 'Closed Won'.*$"))
     .will_respond_with(200)
     .with_body({"totalSize": match.int(1), "done": True,
                 "records": match.each_like(_opportunity(), min=1)}, content_type=JSON))

    (pact.upon_receiving("a SOQL query for one opportunity by id")
     .given("a Closed Won opportunity exists")
     .with_request("GET", f"/services/data/{V}/query")
     .with_header("Authorization", _bearer())
     .with_query_parameter("q", from_state(
         BY_ID, f"SELECT {', '.join(OPPORTUNITY_FIELDS)} FROM Opportunity WHERE "
                "Id = '${opportunityId}'", r"^SELECT Id, .+ FROM Opportunity WHERE Id = "
                                            r"'\w+'$"))
     .will_respond_with(200)
     .with_body({"totalSize": 1, "done": True,
                 "records": match.each_like(_opportunity(), min=1, max=1)}, content_type=JSON))

    (pact.upon_receiving("a request to subscribe the layer to change events")
     .with_request("POST", "/_sim/crm/subscriptions")
     .with_body({"url": match.regex(HOOK, regex=r"^https?://.+$"),
                 "secret": match.str("o2c-cdc-secret")}, content_type=JSON)
     .will_respond_with(201)
     .with_body({"id": match.regex("sub_Fa06YxRkc2rD1I", regex=r"^\S+$"),
                 "url": match.regex(HOOK, regex=r"^https?://.+$")}, content_type=JSON))

    (pact.upon_receiving("a request for the change-event subscriptions")
     .given("the layer is subscribed to change events")
     .with_request("GET", "/_sim/crm/subscriptions")
     .will_respond_with(200)
     .with_body({"data": match.each_like({"id": match.regex("sub_Fa06YxRkc2rD1I",
                                                            regex=r"^\S+$"),
                                          "url": match.regex(HOOK, regex=r"^https?://.+$")})},
                content_type=JSON))


async def exercise(url: str) -> None:
    crm = Salesforce(make_client("crm", url, settings=RetrySettings(attempts=1),
                                 transport=OriginRouter(INSTANCE, url)),
                     fast_policy(), CrmSettings(url=url))
    try:
        won = await crm.closed_won_since(None)
        assert won and won[0]["StageName"] == "Closed Won"
        assert won[0]["Account"]["Legal_Entity__c"] == "US01"
        one = await crm.opportunity(OPP_ID)
        assert one is not None and one["Id"] == OPP_ID
        sub = await crm.subscribe_change_events(HOOK)
        assert sub["url"] == HOOK
        assert [s["url"] for s in await crm.change_event_subscriptions()] == [HOOK]
    finally:
        await crm.aclose()


def test_crm_adapter_contract() -> None:
    pact = Pact("integration-layer", "salesforce-crm").with_specification("V4")
    declare(pact)
    with pact.serve(addr="127.0.0.1") as server:
        asyncio.run(exercise(str(server.url)))
    write_pact(pact)
