"""Injected faults (admin API) render as SOAP faults; the default latency makes the ERP slow."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import zeep
import zeep.exceptions

from simulators._kit import build_app, serve_in_thread
from simulators.legacy_erp import Config, LegacyErpSimulator

from .conftest import fault_code, invoice
from .test_protocol import BASIC, GET_CUSTOMER, envelope, raw_fault


def test_injected_outage_is_a_server_fault_system_unavailable(
        erp: zeep.Client, admin: httpx.Client, customer: Callable[..., str]) -> None:
    number = customer()
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "error", "status": 503, "route": "/soap/LegacyErp"}]}).raise_for_status()
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.PostInvoice(**invoice(number, "in_DOWN"))
    assert fault_code(err.value) == "SYSTEM_UNAVAILABLE"
    assert err.value.code == "soap:Server"
    # the WSDL stays reachable: it is served outside the fault pipeline
    assert admin.get("/soap/LegacyErp?wsdl").status_code == 200
    admin.delete("/_sim/faults")
    assert erp.service.PostInvoice(**invoice(number, "in_DOWN")).Status == "POSTED"


def test_injected_500_is_system_error(erp: zeep.Client, admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [{"kind": "error", "status": 500}]})
    response = admin.post("/soap/LegacyErp", content=envelope(GET_CUSTOMER),
                          headers={"SOAPAction": '""'}, auth=BASIC)
    assert response.status_code == 500
    assert raw_fault(response) == ("soap:Server", "SYSTEM_ERROR")


def test_rate_limit_is_429_with_retry_after_and_a_soap_fault(erp: zeep.Client,
                                                             admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [
        {"kind": "rate_limit", "retry_after_s": 7, "route": "/soap/*"}]}).raise_for_status()
    response = admin.post("/soap/LegacyErp", content=envelope(GET_CUSTOMER),
                          headers={"SOAPAction": '""'}, auth=BASIC)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert raw_fault(response) == ("soap:Server", "RATE_LIMIT_EXCEEDED")
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.GetCustomer(CustomerNumber="1")
    assert fault_code(err.value) == "RATE_LIMIT_EXCEEDED"


def test_injected_timeout_is_gateway_timeout(erp: zeep.Client, admin: httpx.Client) -> None:
    admin.put("/_sim/faults", json={"rules": [{"kind": "timeout", "timeout_s": 0}]})
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.GetOpenItems(CompanyCode="1000")
    assert fault_code(err.value) == "GATEWAY_TIMEOUT"


def test_default_latency_profile_is_installed_and_survives_reset() -> None:
    kit = build_app(LegacyErpSimulator(Config(default_latency_ms=150,
                                              default_latency_sigma_ms=10))).state.kit
    [rule] = kit.ctx.faults.describe()["rules"]
    assert (rule["kind"], rule["route"], rule["methods"]) == ("latency", "/soap/LegacyErp",
                                                              ["POST"])
    assert rule["latency"] == {"distribution": "normal", "ms": 150.0, "sigma_ms": 10.0,
                               "tail_ms": 0.0, "tail_probability": 0.0}
    kit.reset()
    assert len(kit.ctx.faults.describe()["rules"]) == 1
    quick = build_app(LegacyErpSimulator(Config(default_latency_ms=0))).state.kit
    assert quick.ctx.faults.describe()["rules"] == []


def test_default_latency_slows_soap_calls() -> None:
    app = build_app(LegacyErpSimulator(Config(default_latency_ms=120,
                                              default_latency_sigma_ms=0)))
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url, timeout=10,
                                                      auth=BASIC) as http:
        http.post("/soap/LegacyErp", content=envelope(GET_CUSTOMER),
                  headers={"SOAPAction": '""'})
        [entry] = http.get("/_sim/journal", params={"path": "/soap"}).json()["data"]
    assert entry["duration_ms"] >= 120
    assert entry["fault"] == "latency"
