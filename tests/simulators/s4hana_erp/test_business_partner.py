"""API_BUSINESS_PARTNER through pyodata: deep insert, reading back with system query options,
navigation, and SAP's errors for bad master data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from pyodata.exceptions import HttpError
from pyodata.vendor.SAP import BusinessGatewayError

from .conftest import create_customer, sap_error


def test_deep_insert_creates_partner_address_customer_and_company_codes(
        bp_api: Any, admin: httpx.Client) -> None:
    bp = create_customer(bp_api, company_codes=("1010", "1710"))

    assert bp.BusinessPartner == "1000001"
    assert bp.BusinessPartnerCategory == "2"
    assert bp.BusinessPartnerFullName == "Müller Maschinenbau GmbH"
    assert bp.Customer == "1000001"
    assert bp.CreationDate.tzinfo == dt.UTC
    address = bp.to_BusinessPartnerAddress[0]
    assert (address.CityName, address.Country, address.PostalCode) == ("Walldorf", "DE", "69190")
    assert address.AddressID
    companies = {c.CompanyCode: c for c in bp.to_Customer.to_CustomerCompany}
    assert set(companies) == {"1010", "1710"}
    assert companies["1010"].ReconciliationAccount == "12100000"
    assert companies["1710"].PaymentTerms == "NT30"
    # numbering runs on in the configured range
    assert create_customer(bp_api, name="Second GmbH", search_term="CRM-2").BusinessPartner == \
        "1000002"
    for key in ("1000001", "CRM-0001"):
        fact = admin.get("/_sim/await", params={"kind": "business_partner.created", "key": key,
                                                "timeout": 1}).json()
        assert fact["matched"] and fact["fact"]["data"]["company_codes"] == ["1010", "1710"]


def test_read_back_with_filter_expand_select_top_and_inlinecount(bp_api: Any) -> None:
    create_customer(bp_api, name="Alpha GmbH", search_term="A-1")
    create_customer(bp_api, name="Beta SAS", search_term="B-1", company_codes=("1210",),
                    country="FR")
    create_customer(bp_api, name="Alpine Ltd", search_term="A-2", company_codes=("1110",),
                    country="GB")

    result = (bp_api.entity_sets.A_BusinessPartner.get_entities()
              .filter("startswith(OrganizationBPName1, 'Alp') eq true and "
                      "BusinessPartnerCategory eq '2'")
              .expand("to_Customer/to_CustomerCompany,to_BusinessPartnerAddress")
              .select("BusinessPartner,OrganizationBPName1,to_Customer,to_BusinessPartnerAddress")
              .order_by("OrganizationBPName1 desc")
              .top(1).count(inline=True).execute())

    assert result.total_count == 2
    assert len(result) == 1
    first = result[0]
    assert first.OrganizationBPName1 == "Alpine Ltd"
    assert first.to_Customer.to_CustomerCompany[0].CompanyCode == "1110"
    assert first.to_BusinessPartnerAddress[0].Country == "GB"

    skipped = (bp_api.entity_sets.A_BusinessPartner.get_entities()
               .filter(OrganizationBPName1__contains="Al").order_by("BusinessPartner")
               .skip(1).execute())
    assert [e.OrganizationBPName1 for e in skipped] == ["Alpine Ltd"]
    assert bp_api.entity_sets.A_BusinessPartner.get_entities().count().execute() == 3
    ored = bp_api.entity_sets.A_Customer.get_entities().filter(
        "(Customer eq '1000001' or Customer eq '1000003') and not (CustomerName eq 'x')"
    ).execute()
    assert sorted(c.Customer for c in ored) == ["1000001", "1000003"]


def test_select_returns_only_the_selected_properties(bp_api: Any, session: Any,
                                                     erp: Any) -> None:
    create_customer(bp_api)
    raw = session.get(f"{erp.url}/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner",
                      params={"$select": "BusinessPartner,SearchTerm1", "$format": "json"}).json()
    entity = raw["d"]["results"][0]
    assert set(entity) == {"__metadata", "BusinessPartner", "SearchTerm1"}
    assert entity["__metadata"]["type"] == "API_BUSINESS_PARTNER.A_BusinessPartnerType"
    assert entity["__metadata"]["uri"].endswith("/A_BusinessPartner('1000001')")


def test_get_by_key_navigation_and_alpha_conversion(bp_api: Any) -> None:
    create_customer(bp_api)
    bp = bp_api.entity_sets.A_BusinessPartner.get_entity("0001000001").execute()
    assert bp.BusinessPartner == "1000001"
    addresses = bp_api.entity_sets.A_BusinessPartner.get_entity("1000001") \
        .nav("to_BusinessPartnerAddress").get_entities().execute()
    assert [a.CityName for a in addresses] == ["Walldorf"]
    customer = bp_api.entity_sets.A_BusinessPartner.get_entity("1000001").nav(
        "to_Customer").execute()
    assert customer.CustomerName == "Müller Maschinenbau GmbH"
    company = bp_api.entity_sets.A_CustomerCompany.get_entity(
        Customer="1000001", CompanyCode="1010").execute()
    assert company.CustomerAccountGroup == "CUST"


def test_extend_customer_to_another_company_code_and_add_an_address(bp_api: Any) -> None:
    create_customer(bp_api)
    extended = bp_api.entity_sets.A_CustomerCompany.create_entity().set(
        Customer="1000001", CompanyCode="1510", PaymentTerms="NT60").execute()
    assert (extended.CompanyCode, extended.ReconciliationAccount) == ("1510", "12100000")
    with pytest.raises(HttpError) as exc:
        bp_api.entity_sets.A_CustomerCompany.create_entity().set(
            Customer="1000001", CompanyCode="1510").execute()
    assert sap_error(exc.value)["code"] == "F2/108"
    address = bp_api.entity_sets.A_BusinessPartnerAddress.create_entity().set(
        BusinessPartner="1000001", CityName="Tokyo", Country="JP").execute()
    assert address.BusinessPartner == "1000001"
    assert len(bp_api.entity_sets.A_BusinessPartner.get_entity("1000001")
               .expand("to_BusinessPartnerAddress").execute().to_BusinessPartnerAddress) == 2


def test_name_longer_than_40_characters_is_rejected_not_truncated(bp_api: Any) -> None:
    name = "Internationale Handelsgesellschaft für Maschinen mbH"  # 52 characters
    with pytest.raises(HttpError) as exc:
        create_customer(bp_api, name=name)
    assert exc.value.response.status_code == 400
    error = sap_error(exc.value)
    assert "exceeds the maximum length of 40" in error["message"]["value"]
    assert error["innererror"]["errordetails"][0]["propertyref"] == \
        "A_BusinessPartnerType/OrganizationBPName1"
    assert error["innererror"]["application"]["service_id"] == "API_BUSINESS_PARTNER"
    assert bp_api.entity_sets.A_BusinessPartner.get_entities().count().execute() == 0


def test_unknown_company_code_rejects_the_whole_deep_insert(bp_api: Any) -> None:
    with pytest.raises(HttpError) as exc:
        create_customer(bp_api, company_codes=("1010", "9999"))
    error = sap_error(exc.value)
    assert error["code"] == "F5/165"
    assert error["message"]["value"] == "Company code 9999 is not defined"
    assert error["innererror"]["errordetails"][0]["target"] == \
        "to_Customer/to_CustomerCompany[1]"
    assert bp_api.entity_sets.A_BusinessPartner.get_entities().count().execute() == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"BusinessPartnerCategory": "7"}, "R11/061"),
    ({"OrganizationBPName1": ""}, "R11/401"),
    ({"BusinessPartner": "42"}, "R1/087"),
])
def test_invalid_master_data_gives_sap_messages(bp_api: Any, change: dict[str, str],
                                                code: str) -> None:
    body = {"BusinessPartnerCategory": "2", "OrganizationBPName1": "Valid GmbH", **change}
    with pytest.raises(HttpError) as exc:
        bp_api.entity_sets.A_BusinessPartner.create_entity().set(**body).execute()
    assert sap_error(exc.value)["code"] == code


def test_invalid_country_and_unknown_property(bp_api: Any, session: Any, erp: Any) -> None:
    with pytest.raises(HttpError) as exc:
        create_customer(bp_api, country="XX")
    assert sap_error(exc.value)["code"] == "AM/216"
    raw = session.post(f"{erp.url}/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner",
                       json={"BusinessPartnerCategory": "2", "Nickname": "x"})
    assert raw.status_code == 400
    assert raw.json()["error"]["message"]["value"].startswith("Property 'Nickname' is invalid")


def test_not_found_by_key_is_an_sap_404(bp_api: Any) -> None:
    with pytest.raises(HttpError) as exc:
        bp_api.entity_sets.A_BusinessPartner.get_entity("4711").execute()
    assert exc.value.response.status_code == 404
    assert sap_error(exc.value)["code"] == "/IWBEP/CM_MGW_RT/020"
    assert "A_BusinessPartnerType" in sap_error(exc.value)["message"]["value"]


def test_business_gateway_error_parses_the_sap_body(bp_api: Any) -> None:
    """pyodata's SAP vendor error type reads message and errordetails from the body."""
    previous = HttpError.VendorType
    HttpError.VendorType = BusinessGatewayError
    try:
        with pytest.raises(BusinessGatewayError) as exc:
            create_customer(bp_api, company_codes=("0000",))
    finally:
        HttpError.VendorType = previous
    assert str(exc.value) == "Company code 0000 is not defined"
    assert exc.value.errordetails == ["Company code 0000 is not defined"]
