"""Opportunity stage machine, Closed Won facts, signed change events and polling."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

import httpx
import orjson
import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from simulators._kit import TLSFiles
from simulators._kit.testing import WebhookRecorder, wait_for
from simulators.salesforce_crm import Config

from .conftest import Org, serve_org, trust


def _opportunity(sf: Salesforce, **fields: Any) -> str:
    account = sf.Account.create({"Name": "Acme Corp"})["id"]
    body = {"Name": "Acme - Platform", "StageName": "Prospecting", "CloseDate": "2030-01-31",
            "Amount": 12000, "AccountId": account, "CurrencyIsoCode": "EUR", **fields}
    return str(sf.Opportunity.create(body)["id"])


def test_stage_derives_probability_closed_and_won(sf: Salesforce) -> None:
    opp = _opportunity(sf)
    got = sf.Opportunity.get(opp)
    assert (got["Probability"], got["IsClosed"], got["IsWon"]) == (10, False, False)
    sf.Opportunity.update(opp, {"StageName": "Negotiation/Review"})
    got = sf.Opportunity.get(opp)
    assert (got["Probability"], got["ForecastCategoryName"]) == (90, "Commit")
    sf.Opportunity.update(opp, {"StageName": "Closed Lost"})
    got = sf.Opportunity.get(opp)
    assert (got["Probability"], got["IsClosed"], got["IsWon"]) == (0, True, False)


def test_closed_stages_are_terminal(sf: Salesforce) -> None:
    opp = _opportunity(sf, StageName="Closed Won")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Opportunity.update(opp, {"StageName": "Negotiation/Review"})
    assert exc.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert exc.value.content[0]["fields"] == ["StageName"]
    assert sf.Opportunity.update(opp, {"Amount": 13000}) == 204  # other fields stay editable


def test_bad_stage_is_a_restricted_picklist_error(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _opportunity(sf, StageName="Won-ish")
    assert exc.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_closed_won_emits_a_signed_change_event_and_a_fact(org: Org, sf: Salesforce,
                                                          receiver: WebhookRecorder) -> None:
    resp = org.admin.post("/_sim/crm/subscriptions", json={"url": receiver.url,
                                                          "secret": "whsec-crm"})
    assert resp.status_code == 201
    assert org.admin.get("/_sim/crm/subscriptions").json()["data"][0]["url"] == receiver.url
    opp = _opportunity(sf)
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})

    fact = org.admin.get("/_sim/await", params={"kind": "opportunity.closed_won", "key": opp,
                                                "timeout": 5}).json()
    assert fact["matched"] is True
    assert fact["fact"]["data"]["Amount"] == 12000
    assert fact["fact"]["data"]["CurrencyIsoCode"] == "EUR"

    first = wait_for(lambda: receiver.received and receiver.received[0])
    headers, body = first.headers, first.body
    signed = headers["x-sfdc-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(b"whsec-crm", signed, hashlib.sha256).digest()).decode()
    assert headers["x-sfdc-signature"] == expected
    event = orjson.loads(body)
    header = event["payload"]["ChangeEventHeader"]
    assert header["entityName"] == "Opportunity" and header["recordIds"] == [opp]
    assert header["changeType"] == "UPDATE"
    assert {"StageName", "IsWon", "IsClosed", "Probability"} <= set(header["changedFields"])
    assert event["payload"]["StageName"] == "Closed Won"
    assert isinstance(event["event"]["replayId"], int)
    assert header["commitTimestamp"] == int(
        dt.datetime.strptime(event["payload"]["LastModifiedDate"],
                             "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def test_change_event_urls_from_config_and_polling(tls: TLSFiles,
                                                   receiver: WebhookRecorder) -> None:
    config = Config(change_event_urls=[receiver.url])
    with serve_org(tls, config) as server, httpx.Client(base_url=server.url, verify=trust(tls),
                                                        timeout=10) as admin:
        org = Org(server.url, str(tls.ca_cert), admin)
        sf = org.sdk()
        opp = _opportunity(sf)
        before = sf.Opportunity.get(opp)["LastModifiedDate"]
        since = before.replace("+0000", "Z")
        org.admin.post("/_sim/clock/advance", json={"seconds": 5}).raise_for_status()
        sf.Opportunity.update(opp, {"StageName": "Closed Won"})
        body = wait_for(lambda: receiver.bodies() and receiver.bodies()[0])
        signature = receiver.received[0].headers["x-sfdc-signature"]
        signed = receiver.received[0].headers["x-sfdc-timestamp"].encode() + b"." + body
        key = config.change_event_secret.get_secret_value().encode()
        mac = hmac.new(key, signed, hashlib.sha256).digest()
        assert signature == base64.b64encode(mac).decode()
        polled = sf.query(f"SELECT Id, StageName FROM Opportunity "
                          f"WHERE LastModifiedDate > {since} AND IsWon = true")
        assert [r["Id"] for r in polled["records"]] == [opp]
        for session in org.sessions:
            session.close()


def test_opportunity_created_closed_won_records_the_fact(org: Org, sf: Salesforce) -> None:
    opp = _opportunity(sf, StageName="Closed Won")
    facts = org.admin.get("/_sim/facts", params={"kind": "opportunity.closed_won"}).json()
    assert [f["key"] for f in facts["data"]] == [opp]


def test_unsubscribe_and_admin_validation(org: Org) -> None:
    assert org.admin.post("/_sim/crm/subscriptions", json={"url": "ftp://x"}).status_code == 422
    sub = org.admin.post("/_sim/crm/subscriptions", json={"url": "http://127.0.0.1:9/x"}).json()
    assert "secret" not in sub
    assert org.admin.delete(f"/_sim/crm/subscriptions/{sub['id']}").status_code == 200
    assert org.admin.delete(f"/_sim/crm/subscriptions/{sub['id']}").status_code == 404
