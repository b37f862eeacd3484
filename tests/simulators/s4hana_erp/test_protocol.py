"""OData v2 and SAP Gateway conventions: $metadata, CSRF handshake, Basic auth, system query
option errors, and SAP-shaped 404/405 bodies."""

from __future__ import annotations

from typing import Any

import pyodata
import pytest
import requests
from lxml import etree
from pyodata.exceptions import HttpError

from .conftest import PASSWORD, ROOT, USER, create_customer, sap_error

BP = f"{ROOT}/API_BUSINESS_PARTNER"


def test_metadata_is_edmx_with_sap_annotations(erp: Any, session: requests.Session) -> None:
    response = session.get(f"{erp.url}{BP}/$metadata")
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"edmx": "http://schemas.microsoft.com/ado/2007/06/edmx",
          "edm": "http://schemas.microsoft.com/ado/2008/09/edm",
          "sap": "http://www.sap.com/Protocols/SAPData"}
    assert root.get("Version") == "1.0"
    name1 = root.find(".//edm:EntityType[@Name='A_BusinessPartnerType']"
                      "/edm:Property[@Name='OrganizationBPName1']", ns)
    assert name1.get("MaxLength") == "40"
    assert name1.get(f"{{{ns['sap']}}}label") == "Name 1"
    assert root.find(".//edm:EntityContainer/edm:AssociationSet", ns) is not None


def test_every_service_builds_a_pyodata_client(erp: Any, session: requests.Session) -> None:
    expected = {"API_BUSINESS_PARTNER": {"A_BusinessPartner", "A_BusinessPartnerAddress",
                                         "A_Customer", "A_CustomerCompany"},
                "API_O2C_JOURNALENTRY_SRV": {"A_JournalEntry", "A_JournalEntryItem"},
                "API_O2C_INCOMINGPAYMENT_SRV": {"A_IncomingPayment", "A_OpenItem"}}
    for service, sets in expected.items():
        api = pyodata.Client(f"{erp.url}{ROOT}/{service}", session)
        assert {s.name for s in api.schema.entity_sets} == sets
        assert api.schema.is_valid
    nav = pyodata.Client(f"{erp.url}{BP}", session).schema.entity_type(
        "A_BusinessPartnerType").nav_proprty("to_Customer")
    assert nav.to_role.multiplicity == "0..1"


def test_write_without_csrf_token_is_403_with_required_header(erp: Any) -> None:
    plain = requests.Session()
    plain.auth = (USER, PASSWORD)
    api = pyodata.Client(f"{erp.url}{BP}", plain)  # reads need no token
    with pytest.raises(HttpError) as exc:
        create_customer(api)
    assert exc.value.response.status_code == 403
    assert exc.value.response.headers["x-csrf-token"] == "Required"
    assert sap_error(exc.value)["message"]["value"] == "CSRF token validation failed"
    # a token without the session cookie it belongs to is no good either
    token = plain.head(f"{erp.url}{BP}/", headers={"x-csrf-token": "Fetch"}).headers[
        "x-csrf-token"]
    stranger = requests.post(f"{erp.url}{BP}/A_BusinessPartner", auth=(USER, PASSWORD),
                             json={}, headers={"x-csrf-token": token})
    assert stranger.status_code == 403
    # with the cookie (kept by the session) the same token works
    plain.headers["x-csrf-token"] = token
    assert create_customer(api).BusinessPartner == "1000001"


def test_token_is_stable_within_a_session(erp: Any, session: requests.Session) -> None:
    again = session.get(f"{erp.url}{BP}/", headers={"x-csrf-token": "fetch"})
    assert again.headers["x-csrf-token"] == session.headers["x-csrf-token"]
    assert again.json() == {"d": {"EntitySets": ["A_BusinessPartner", "A_BusinessPartnerAddress",
                                                 "A_Customer", "A_CustomerCompany"]}}


def test_bad_credentials_are_401(erp: Any) -> None:
    bad = requests.Session()
    bad.auth = (USER, "wrong")
    with pytest.raises(HttpError) as exc:
        pyodata.Client(f"{erp.url}{BP}", bad)
    assert exc.value.response.status_code == 401
    assert exc.value.response.headers["www-authenticate"].startswith("Basic realm=")
    assert requests.get(f"{erp.url}{BP}/A_Customer").json()["error"]["code"] == \
        "/IWFND/CM_CONSUMER/101"


@pytest.mark.parametrize(("params", "fragment"), [
    ({"$filter": "OrganizationBPName1 eq"}, "Invalid filter expression"),
    ({"$filter": "Nope eq 'x'"}, "property 'Nope' does not exist"),
    ({"$filter": "CreationDate eq 'yesterday'"}, "cannot compare datetime with string"),
    ({"$top": "-1"}, "$top"),
    ({"$inlinecount": "some"}, "$inlinecount"),
    ({"$expand": "to_Nowhere"}, "to_Nowhere"),
    ({"$select": "Nope"}, "Property 'Nope' not found"),
    ({"$orderby": "BusinessPartner sideways"}, "$orderby"),
    ({"$format": "xml"}, "JSON only"),
    ({"$search": "x"}, "$search"),
])
def test_invalid_query_options_are_sap_400s(erp: Any, session: requests.Session,
                                            params: dict[str, str], fragment: str) -> None:
    response = session.get(f"{erp.url}{BP}/A_BusinessPartner", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]["value"]


def test_datetime_filters_and_count_segment(erp: Any, bp_api: Any,
                                            session: requests.Session) -> None:
    create_customer(bp_api)
    url = f"{erp.url}{BP}/A_BusinessPartner"
    recent = session.get(url, params={"$filter": "CreationDate ge datetime'2000-01-01T00:00'"})
    assert len(recent.json()["d"]["results"]) == 1
    old = session.get(f"{url}/$count", params={"$filter": "year(CreationDate) lt 2000"})
    assert (old.status_code, old.text) == (200, "0")


def test_unknown_segments_keys_and_methods(erp: Any, session: requests.Session) -> None:
    missing = session.get(f"{erp.url}{BP}/A_Nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"]["value"] == \
        "Resource not found for segment 'A_Nothing'"
    service = session.get(f"{erp.url}{ROOT}/API_NOPE_SRV/$metadata")
    assert service.json()["error"]["code"] == "/IWFND/MED/170"
    bad_key = session.get(f"{erp.url}{BP}/A_BusinessPartnerAddress('1')")
    assert bad_key.status_code == 400
    assert "Invalid key predicate" in bad_key.json()["error"]["message"]["value"]
    not_allowed = session.post(f"{erp.url}{BP}/A_Customer", json={})
    assert not_allowed.status_code == 405
    assert not_allowed.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/021"
    malformed = session.post(f"{erp.url}{BP}/A_BusinessPartner", data=b"{nope",
                             headers={"content-type": "application/json"})
    assert malformed.status_code == 400
