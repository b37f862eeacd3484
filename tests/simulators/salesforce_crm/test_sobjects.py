"""sObject resources through simple-salesforce: describe, CRUD, upsert and their errors."""

from __future__ import annotations

import pytest
from simple_salesforce import (
    Salesforce,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from .conftest import Org


def test_versions_and_resources(org: Org, sf: Salesforce) -> None:
    versions = org.admin.get("/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert sf.restful("")["query"] == "/services/data/v59.0/query"


def test_describe_reports_field_metadata(sf: Salesforce) -> None:
    account = sf.Account.describe()
    assert account["keyPrefix"] == "001"
    fields = {f["name"]: f for f in account["fields"]}
    assert fields["Name"]["type"] == "string" and fields["Name"]["length"] == 255
    assert fields["Name"]["nillable"] is False and fields["Name"]["createable"] is True
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["Id"]["updateable"] is False
    stage = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}["StageName"]
    assert [p["value"] for p in stage["picklistValues"]] == [
        "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
        "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
        "Negotiation/Review", "Closed Won", "Closed Lost"]
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["AccountId"]["referenceTo"] == ["Account"]
    assert contact["AccountId"]["relationshipName"] == "Account"


def test_create_get_update_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Globex GmbH", "BillingCity": "Berlin",
                                 "BillingCountry": "DE", "CurrencyIsoCode": "EUR",
                                 "VAT_Number__c": "DE123456789", "Legal_Entity__c": "DE01"})
    assert created["success"] is True and created["errors"] == []
    account_id = created["id"]
    assert len(account_id) == 18 and account_id.startswith("001")
    got = sf.Account.get(account_id)
    assert got["attributes"] == {"type": "Account",
                                 "url": f"/services/data/v59.0/sobjects/Account/{account_id}"}
    assert got["Name"] == "Globex GmbH" and got["CurrencyIsoCode"] == "EUR"
    assert got["CreatedDate"].endswith("+0000") and got["IsDeleted"] is False
    assert sf.Account.get(account_id[:15])["Id"] == account_id  # 15-char ids work too
    assert sf.Account.update(account_id, {"Phone": "+49 30 1234567"}) == 204
    assert sf.Account.get(account_id)["Phone"] == "+49 30 1234567"
    contact = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace",
                                 "AccountId": account_id, "Email": "ada@globex.test"})
    assert contact["id"].startswith("003")
    assert sf.Contact.get(contact["id"])["Name"] == "Ada Lovelace"
    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get(account_id)
    assert exc.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    # the contact went to the recycle bin with its account
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(contact["id"])


def test_get_with_field_list_and_by_external_id(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Initech", "External_Id__c": "CUST-42", "Industry": "Banking"})
    got = sf.Account.get_by_custom_id("External_Id__c", "CUST-42")
    assert got["Name"] == "Initech"
    slim = sf.Account.get(got["Id"], params={"fields": "Name,Industry"})
    assert set(slim) == {"attributes", "Name", "Industry"}


def test_upsert_creates_201_then_updates_200(sf: Salesforce) -> None:
    resp = sf.Account.upsert("External_Id__c/ERP-1001", {"Name": "Umbrella Corp"},
                             raw_response=True)
    assert resp.status_code == 201
    assert resp.json()["created"] is True and resp.json()["id"].startswith("001")
    resp = sf.Account.upsert("External_Id__c/ERP-1001", {"Phone": "555-0100"},
                             raw_response=True)
    assert resp.status_code == 200  # API 46.0 and later answer an update with 200
    assert resp.json() == {"id": resp.json()["id"], "success": True, "errors": [],
                           "created": False}
    assert sf.Account.get_by_custom_id("External_Id__c", "ERP-1001")["Phone"] == "555-0100"


def test_upsert_update_is_204_before_api_46(org: Org) -> None:
    sf = org.sdk(version="45.0")
    assert sf.Account.upsert("External_Id__c/ERP-7", {"Name": "Old API Co"}) == 201
    assert sf.Account.upsert("External_Id__c/ERP-7", {"Phone": "1"}) == 204


@pytest.mark.parametrize(("body", "code", "fields"), [
    ({"Phone": "123"}, "REQUIRED_FIELD_MISSING", ["Name"]),
    ({"Name": "x", "Colour__c": "red"}, "INVALID_FIELD", []),
    ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
    ({"Name": "x", "IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsDeleted"]),
    ({"Name": "x", "CurrencyIsoCode": "XXX"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
     ["CurrencyIsoCode"]),
    ({"Name": ["x"]}, "JSON_PARSER_ERROR", ["Name"]),
])
def test_invalid_records_raise_malformed_request(sf: Salesforce, body: dict[str, object],
                                                 code: str, fields: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create(body)
    assert exc.value.status == 400
    assert exc.value.content[0]["errorCode"] == code
    assert exc.value.content[0]["fields"] == fields


def test_reference_and_uniqueness_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Nobody", "AccountId": "003000000000000"})
    assert exc.value.content[0]["errorCode"] == "MALFORMED_ID"
    sf.Account.create({"Name": "A", "External_Id__c": "DUP-1"})
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "B", "External_Id__c": "dup-1"})
    assert exc.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_missing_records_and_types_are_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get("001000000000000AAA")
    assert exc.value.content == [{"message": "The requested resource does not exist",
                                  "errorCode": "NOT_FOUND", "fields": []}]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.describe()
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get_by_custom_id("Phone", "555")  # not an external id field


def test_sobject_basic_info_lists_recent_items(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Recent One"})
    info = sf.Account.metadata()
    assert info["objectDescribe"]["name"] == "Account"
    assert info["recentItems"][0]["Name"] == "Recent One"
