"""A record the vendor refuses in ``POST /_sim/import`` gets the vendor's own error body under
a 4xx status (a SOAP fault's HTTP 500 becomes 422: the record is the caller's error), names
the record in ``X-Sim-Import-Failed-At``, and conforms to the served OpenAPI."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from starlette.testclient import TestClient

import simulators
from simulators._kit import build_app

REFUSED: dict[str, tuple[str, dict[str, Any], str]] = {
    "legacy_erp": ("documents", {"CompanyCode": "1000", "CustomerNumber": "999999",
                                 "DocumentReference": "X1", "Amount": "10.00",
                                 "Currency": "EUR", "DocumentDate": "2026-01-01"}, "soap:Client"),
    "cloud_erp": ("A_JournalEntry", {"CompanyCode": "1010", "Customer": "NOPE",
                                     "AmountInTransactionCurrency": "10.00",
                                     "TransactionCurrency": "EUR"}, "F5/151"),
    "billing": ("invoice_payments", {}, "parameter_missing"),
    "crm": ("Account", {"Name": "Acme", "NoSuchField__c": 1}, "INVALID_FIELD"),
    "tax": ("exemptions", {"companyCode": "NOPE"}, "EntityNotFoundError"),
    "payments": ("payments", {"merchantAccount": "nope"}, "Invalid Merchant Account"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_import_record_answers_the_vendor_error_the_spec_documents(name: str) -> None:
    kind, record, marker = REFUSED[name]
    app = build_app(simulators.simulator_class(name)(simulators.config_class(name)()))
    client = TestClient(app)
    response = client.post("/_sim/import", json={"kind": kind, "records": [record]})

    assert 400 <= response.status_code < 500, response.text
    assert marker in response.text
    assert response.headers["X-Sim-Import-Failed-At"].startswith(f"{kind}[")
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    schema["/_sim/import"]["POST"].validate_response(response)


def test_legacy_fault_carries_what_xml_cannot_as_escapes() -> None:
    """A fault names what the caller sent; characters XML 1.0 forbids (found by fuzzing an
    import record's keys) come back escaped, not as a 500."""
    app = build_app(simulators.simulator_class("legacy_erp")(
        simulators.config_class("legacy_erp")()))
    client = TestClient(app)
    body = json.dumps({"kind": "customers", "records": [  # NUL and BEL, as JSON escapes
        {"Name": "Acme\u0005", "\u0000bad\u0007": 1}]})
    response = client.post("/_sim/import", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "\\u0000bad\\u0007" in response.text
    response = client.post("/_sim/import", json={"kind": "customers", "records": [
        {"Name": "Acme\u0005"}]})
    assert response.status_code == 422 and "Acme\\u0005" in response.text
