"""API usage limits and injected faults, as simple-salesforce sees them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from simple_salesforce import Salesforce, SalesforceGeneralError, SalesforceRefusedRequest

from simulators._kit import TLSFiles
from simulators.salesforce_crm import Config

from .conftest import Org, serve_org, trust


def test_every_response_carries_limit_info(sf: Salesforce) -> None:
    accounts = sf.Account
    accounts.create({"Name": "Counted"})
    assert accounts.api_usage["api-usage"].total == 100_000
    first = accounts.api_usage["api-usage"].used
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == first + 1
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - first - 2


@pytest.fixture
def tiny_org(tls: TLSFiles) -> Iterator[Org]:
    with serve_org(tls, Config(daily_api_limit=3)) as server, \
            httpx.Client(base_url=server.url, verify=trust(tls), timeout=10) as admin:
        org = Org(server.url, str(tls.ca_cert), admin)
        yield org
        for session in org.sessions:
            session.close()


def test_request_limit_exceeded_after_the_daily_allowance(tiny_org: Org) -> None:
    sf = tiny_org.sdk()
    for _ in range(3):
        sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Account")
    assert exc.value.status == 403
    assert exc.value.content == [{"message": "TotalRequests Limit exceeded.",
                                  "errorCode": "REQUEST_LIMIT_EXCEEDED", "fields": []}]
    # the allowance is per day of the simulator clock
    tiny_org.admin.post("/_sim/clock/advance", json={"seconds": 86_400}).raise_for_status()
    sf = tiny_org.sdk()
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_injected_rate_limit_is_request_limit_exceeded_with_retry_after(org: Org,
                                                                       sf: Salesforce) -> None:
    org.admin.put("/_sim/faults", json={"rules": [
        {"kind": "rate_limit", "route": "/services/data/*/query*", "retry_after_s": 7}]})
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Account")
    assert exc.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    raw = org.http().get(f"{org.url}/services/data/v59.0/query", params={"q": "SELECT Id FROM "
                                                                          "Account"})
    assert raw.status_code == 403 and raw.headers["Retry-After"] == "7"
    assert sf.Account.create({"Name": "Other routes unaffected"})["success"] is True


def test_injected_outage_is_server_unavailable(org: Org, sf: Salesforce) -> None:
    org.admin.put("/_sim/faults", json={"rules": [{"kind": "error", "status": 503}]})
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.Account.create({"Name": "During outage"})
    assert exc.value.status == 503
    assert exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    org.admin.delete("/_sim/faults")
    assert sf.Account.create({"Name": "After outage"})["success"] is True


def test_injected_500_is_unknown_exception(org: Org, sf: Salesforce) -> None:
    org.admin.put("/_sim/faults", json={"rules": [{"kind": "error", "status": 500,
                                                   "methods": ["PATCH"]}]})
    account = sf.Account.create({"Name": "x"})["id"]
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.Account.update(account, {"Name": "y"})
    assert exc.value.status == 500
    assert exc.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"
