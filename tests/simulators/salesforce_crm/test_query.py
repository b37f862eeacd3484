"""SOQL over REST through simple-salesforce: operators, date literals, paging, queryAll."""

from __future__ import annotations

import datetime as dt

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest

from .conftest import Org


@pytest.fixture
def deals(org: Org, sf: Salesforce) -> dict[str, str]:
    """Accounts and opportunities with known values; close dates relative to the sim clock."""
    now = org.admin.get("/_sim/clock").json()["now"]
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    day = dt.timedelta(days=1)
    acme = sf.Account.create({"Name": "Acme Corp", "Industry": "Retail",
                              "BillingCountry": "US", "External_Id__c": "A-1"})["id"]
    wayne = sf.Account.create({"Name": "Wayne Enterprises", "Industry": "Finance",
                               "BillingCountry": "US"})["id"]
    sf.Account.create({"Name": "Stark_Industries", "BillingCountry": "GB"})
    opps = {
        "today": ("Prospecting", 100.0, today, acme),
        "yesterday": ("Qualification", 200.0, today - day, acme),
        "last10": ("Needs Analysis", 300.0, today - 10 * day, wayne),
        "next5": ("Value Proposition", 400.0, today + 5 * day, wayne),
        "won": ("Closed Won", 500.0, today - 40 * day, acme),
    }
    return {key: sf.Opportunity.create({"Name": f"Deal {key}", "StageName": stage,
                                        "Amount": amount, "CloseDate": close.isoformat(),
                                        "AccountId": account})["id"]
            for key, (stage, amount, close, account) in opps.items()}


def names(sf: Salesforce, soql: str) -> set[str]:
    return {r["Name"] for r in sf.query_all(soql)["records"]}


@pytest.mark.parametrize(("where", "expected"), [
    ("Name = 'acme corp'", {"Acme Corp"}),  # text comparison is case-insensitive
    ("Name != 'Acme Corp'", {"Wayne Enterprises", "Stark_Industries"}),
    ("Industry = null", {"Stark_Industries"}),
    ("Industry != null", {"Acme Corp", "Wayne Enterprises"}),
    ("Name < 'B'", {"Acme Corp"}),
    ("Name <= 'Stark_Industries'", {"Acme Corp", "Stark_Industries"}),
    ("Name > 'Stark'", {"Stark_Industries", "Wayne Enterprises"}),
    ("Name >= 'Wayne Enterprises'", {"Wayne Enterprises"}),
    ("BillingCountry IN ('GB', 'DE')", {"Stark_Industries"}),
    ("BillingCountry NOT IN ('GB')", {"Acme Corp", "Wayne Enterprises"}),
    ("Name LIKE 'a%'", {"Acme Corp"}),
    ("Name LIKE '%_Industries'", {"Stark_Industries"}),
    ("Name LIKE '%\\_%'", {"Stark_Industries"}),  # escaped underscore is literal
    ("Name LIKE 'Acm_ Corp'", {"Acme Corp"}),
    ("Industry = 'Retail' AND BillingCountry = 'US'", {"Acme Corp"}),
    ("Industry = 'Retail' OR Industry = 'Finance'", {"Acme Corp", "Wayne Enterprises"}),
    ("NOT Industry = 'Retail'", {"Wayne Enterprises", "Stark_Industries"}),
    ("(Industry = 'Retail' OR BillingCountry = 'GB') AND NOT (Name LIKE 'S%')", {"Acme Corp"}),
])
def test_where_operators(sf: Salesforce, deals: dict[str, str], where: str,
                         expected: set[str]) -> None:
    assert names(sf, f"SELECT Name FROM Account WHERE {where}") == expected


@pytest.mark.parametrize(("where", "expected"), [
    ("CloseDate = TODAY", {"today"}),
    ("CloseDate = YESTERDAY", {"yesterday"}),
    ("CloseDate = LAST_N_DAYS:15", {"today", "yesterday", "last10"}),
    ("CloseDate = NEXT_N_DAYS:7", {"next5"}),
    ("CloseDate < TODAY", {"yesterday", "last10", "won"}),
    ("CloseDate > TODAY", {"next5"}),
    ("CreatedDate = TODAY", {"today", "yesterday", "last10", "next5", "won"}),
    ("CreatedDate > 2020-01-01T00:00:00Z", {"today", "yesterday", "last10", "next5", "won"}),
    ("CloseDate >= 2020-01-01 AND Amount > 250", {"last10", "next5", "won"}),
    ("Amount <= 200.0", {"today", "yesterday"}),
    ("IsWon = true", {"won"}),
    ("IsClosed = false AND Account.Name = 'Acme Corp'", {"today", "yesterday"}),
    ("StageName IN ('Closed Won', 'Needs Analysis')", {"won", "last10"}),
])
def test_date_literals_and_typed_filters(sf: Salesforce, deals: dict[str, str], where: str,
                                         expected: set[str]) -> None:
    got = names(sf, f"SELECT Name FROM Opportunity WHERE {where}")
    assert got == {f"Deal {k}" for k in expected}


def test_this_month_follows_the_simulator_clock(org: Org, sf: Salesforce,
                                                deals: dict[str, str]) -> None:
    assert names(sf, "SELECT Name FROM Opportunity WHERE CreatedDate = THIS_MONTH")
    org.admin.post("/_sim/clock/advance", json={"seconds": 40 * 86_400}).raise_for_status()
    sf = org.sdk()  # the old session expired while the clock moved
    assert names(sf, "SELECT Name FROM Opportunity WHERE CreatedDate = THIS_MONTH") == set()
    assert len(names(sf, "SELECT Name FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:45")) == 5


def test_relationship_fields_order_limit_offset(sf: Salesforce, deals: dict[str, str]) -> None:
    result = sf.query("SELECT Name, Amount, Account.Name FROM Opportunity "
                      "ORDER BY Amount DESC LIMIT 2 OFFSET 1")
    assert result["totalSize"] == 2 and result["done"] is True
    first = result["records"][0]
    assert first["Name"] == "Deal next5" and first["Amount"] == 400.0
    assert first["Account"]["Name"] == "Wayne Enterprises"
    assert first["Account"]["attributes"]["type"] == "Account"
    ordered = sf.query("SELECT Name, Industry FROM Account ORDER BY Industry NULLS LAST, Name")
    assert [r["Name"] for r in ordered["records"]] == ["Wayne Enterprises", "Acme Corp",
                                                       "Stark_Industries"]
    ordered = sf.query("SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST")
    assert ordered["records"][0]["Name"] == "Stark_Industries"


def test_count(sf: Salesforce, deals: dict[str, str]) -> None:
    result = sf.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = false")
    assert result["totalSize"] == 4 and result["records"] == []
    agg = sf.query("SELECT COUNT(Id) total FROM Account")["records"][0]
    assert agg["total"] == 3 and agg["attributes"]["type"] == "AggregateResult"


def test_paging_with_batch_size_and_next_records_url(org: Org, sf: Salesforce) -> None:
    org.admin.post("/_sim/seed", json={"seed": 7, "size": 450}).raise_for_status()
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name", headers=headers)
    assert first["totalSize"] == 450 and first["done"] is False
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 200 and second["nextRecordsUrl"].endswith("-400")
    everything = sf.query_all("SELECT Id FROM Account", headers=headers)
    assert everything["totalSize"] == 450
    assert len({r["Id"] for r in everything["records"]}) == 450
    # below Salesforce's minimum batch size of 200 the minimum applies
    small = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=5"})
    assert len(small["records"]) == 200


def test_query_all_includes_deleted_records(sf: Salesforce) -> None:
    gone = sf.Account.create({"Name": "Gone Ltd"})["id"]
    sf.Account.create({"Name": "Here Ltd"})
    sf.Account.delete(gone)
    assert names(sf, "SELECT Name FROM Account") == {"Here Ltd"}
    deleted = sf.query_all("SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true",
                           include_deleted=True)
    assert [r["Name"] for r in deleted["records"]] == ["Gone Ltd"]


@pytest.mark.parametrize(("soql", "code", "fragment"), [
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
     "MALFORMED_QUERY", "unexpected token: OR"),
    ("SELECT Id, Colour__c FROM Account", "INVALID_FIELD",
     "No such column 'Colour__c' on entity 'Account'"),
    ("SELECT Id FROM Lead", "INVALID_TYPE", "sObject type 'Lead' is not supported"),
    ("SELECT Id FROM Opportunity WHERE Amount = '5'", "INVALID_FIELD",
     "must be of type double and should not be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR",
     "invalid ID field: nope"),
    ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "INVALID_FIELD",
     "must be of type dateTime"),
    ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
])
def test_bad_soql_raises_malformed_request(sf: Salesforce, soql: str, code: str,
                                           fragment: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    error = exc.value.content[0]
    assert error["errorCode"] == code
    assert fragment in error["message"]


def test_malformed_query_message_points_at_the_token(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE Name = ")
    assert "ERROR at Row:1:Column:37" in exc.value.content[0]["message"]


def test_invalid_query_locator(org: Org, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more("01g5g0000000000AAA-200")
    assert exc.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
