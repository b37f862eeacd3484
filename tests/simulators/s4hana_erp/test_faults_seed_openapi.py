"""Injected faults in SAP's shape, deterministic seeding, and an honest OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import requests
from pyodata.exceptions import HttpError

from .conftest import ROOT, create_customer, sap_error


def test_injected_503_and_429_carry_sap_error_bodies(bp_api: Any, admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "error", "status": 503, "route": f"{ROOT}/API_BUSINESS_PARTNER/*",
         "methods": ["POST"]}]}).raise_for_status()
    with pytest.raises(HttpError) as exc:
        create_customer(bp_api)
    assert exc.value.response.status_code == 503
    assert sap_error(exc.value)["code"] == "/IWFND/CM_BEC/026"

    admin.put("/_sim/faults", json={"rules": [
        {"kind": "rate_limit", "retry_after_s": 2.5}]}).raise_for_status()
    with pytest.raises(HttpError) as exc:
        bp_api.entity_sets.A_BusinessPartner.get_entities().execute()
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "3"
    assert "retry after 3 seconds" in sap_error(exc.value)["message"]["value"]

    admin.delete("/_sim/faults").raise_for_status()
    assert create_customer(bp_api).BusinessPartner == "1000001"


def test_injected_500_has_the_sap_shape(erp: Any, session: requests.Session,
                                        admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [{"kind": "error", "status": 500}]})
    response = session.get(f"{erp.url}{ROOT}/API_O2C_INCOMINGPAYMENT_SRV/A_OpenItem")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/000"
    assert re.fullmatch(r"\d{14}\.\d{7}", response.json()["error"]["innererror"]["timestamp"])


def _seeded_view(admin: httpx.Client, session: requests.Session, url: str) -> Any:
    admin.post("/_sim/reset").raise_for_status()
    counts = admin.post("/_sim/seed", json={
        "seed": 7, "size": 12, "locales": ["de_DE", "en_US", "fr_FR", "en_GB", "ja_JP"],
        "dirtiness": 0.5}).json()["created"]
    partners = session.get(f"{url}{ROOT}/API_BUSINESS_PARTNER/A_BusinessPartner", params={
        "$expand": "to_BusinessPartnerAddress,to_Customer/to_CustomerCompany"}).json()
    items = session.get(f"{url}{ROOT}/API_O2C_INCOMINGPAYMENT_SRV/A_OpenItem").json()
    names = [(p["BusinessPartner"], p["OrganizationBPName1"],
              p["to_BusinessPartnerAddress"]["results"][0]["Country"],
              [c["CompanyCode"] for c in p["to_Customer"]["to_CustomerCompany"]["results"]])
             for p in partners["d"]["results"]]
    open_amounts = [(i["CompanyCode"], i["AccountingDocument"], i["AmountInTransactionCurrency"])
                    for i in items["d"]["results"]]
    return counts, names, open_amounts


def test_seeding_is_deterministic_and_realistic(erp: Any, admin: httpx.Client,
                                                session: requests.Session) -> None:
    first = _seeded_view(admin, session, erp.url)
    second = _seeded_view(admin, session, erp.url)
    assert first == second
    counts, names, open_amounts = first
    assert counts["business_partners"] == 12 and counts["invoices"] > 0
    assert {country for _, _, country, _ in names} == {"DE", "US", "FR", "GB", "JP"}
    by_country = {country: codes[0] for _, _, country, codes in names}
    assert by_country == {"DE": "1010", "US": "1710", "FR": "1210", "GB": "1110", "JP": "1510"}
    assert all(len(name) <= 40 for _, name, _, _ in names)
    assert open_amounts, "some seeded invoices stay open"
    jp = [amount for cc, _, amount in open_amounts if cc == "1510"]
    assert all("." not in amount for amount in jp)  # JPY has no decimals


def test_openapi_documents_every_served_route(erp: Any, erp_app: Any) -> None:
    spec = httpx.get(f"{erp.url}/openapi.json").json()
    app_routes = {(route.path, method.lower())
                  for route in erp_app.routes if hasattr(route, "methods")
                  for method in route.methods if method != "HEAD"}
    vendor = {(path, method) for path, method in app_routes if path.startswith("/sap/")}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert vendor and vendor <= documented
    assert ("/_sim/erp/periods", "put") in documented
    assert spec["paths"]["/_sim/erp/periods"]["put"]["tags"] == ["admin"]
    assert spec["security"] == [{"basicAuth": []}]
    post = spec["paths"][f"{ROOT}/API_BUSINESS_PARTNER/A_BusinessPartner"]["post"]
    assert {"201", "400", "401", "403"} <= set(post["responses"])
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["OrganizationBPName1"]["maxLength"] == 40
    get_one = spec["paths"][f"{ROOT}/API_BUSINESS_PARTNER/A_BusinessPartner({{key}})"]["get"]
    assert {"200", "400", "404"} <= set(get_one["responses"])
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"',
                                  str(operation).replace("'", '"')):
                assert ref in spec["components"]["schemas"], (path, method, ref)
