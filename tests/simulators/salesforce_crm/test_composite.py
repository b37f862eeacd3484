"""composite/sobjects and composite, called through the SDK's restful()."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce, SalesforceMalformedRequest


def test_collection_create_partial_success(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "Hooli"},
        {"attributes": {"type": "Contact"}, "FirstName": "No Last Name"},
        {"attributes": {"type": "Account"}, "Name": "Pied Piper"},
    ]})
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["id"].startswith("001")
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2


def test_collection_all_or_none_rolls_back(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "Hooli"},
        {"attributes": {"type": "Account"}},
    ]})
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_collection_limit_is_200(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert exc.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_composite_with_references(sf: Salesforce) -> None:
    base = "/services/data/v59.0"
    out = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "newAccount",
         "body": {"Name": "Soylent Corp", "External_Id__c": "S-1"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "newContact",
         "body": {"LastName": "Thorn", "AccountId": "@{newAccount.id}"}},
        {"method": "GET", "url": f"{base}/sobjects/Account/@{{newAccount.id}}",
         "referenceId": "readBack"},
        {"method": "GET", "url": f"{base}/query?q=SELECT+Id,Account.Name+FROM+Contact",
         "referenceId": "contacts"},
        {"method": "PATCH", "url": f"{base}/sobjects/Account/External_Id__c/S-1",
         "referenceId": "upsert", "body": {"Phone": "555"}},
    ]})["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 201, 200, 200, 200]
    assert out[2]["body"]["Name"] == "Soylent Corp"
    assert out[3]["body"]["records"][0]["Account"]["Name"] == "Soylent Corp"
    assert out[4]["body"]["created"] is False


def test_composite_all_or_none_failure_halts_and_rolls_back(sf: Salesforce) -> None:
    base = "/services/data/v59.0"
    out = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "a1",
         "body": {"Name": "Rolled Back Inc."}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "c1",
         "body": {"AccountId": "@{a1.id}"}},
        {"method": "GET", "url": f"{base}/sobjects/Account/@{{a1.id}}", "referenceId": "r1"},
    ]})["compositeResponse"]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0


def test_composite_without_all_or_none_keeps_successes(sf: Salesforce) -> None:
    base = "/services/data/v59.0"
    out = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "bad",
         "body": {"FirstName": "x"}},
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "good",
         "body": {"Name": "Kept"}},
        {"method": "GET", "url": f"{base}/sobjects/Contact/@{{bad.id}}", "referenceId": "ref"},
    ]})["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 201, 400]
    assert "Invalid reference specified" in out[2]["body"][0]["message"]
    assert sf.query("SELECT Name FROM Account")["records"][0]["Name"] == "Kept"


def test_composite_rejects_malformed_bodies(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": [{"method": "GET"}]})
