"""CreateCustomer / GetCustomer, as the legacy ERP's interface description shows them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import zeep
import zeep.exceptions

from .conftest import fault_code


def test_create_customer_generates_a_number_and_get_returns_it(erp: zeep.Client,
                                                               admin: httpx.Client) -> None:
    number = erp.service.CreateCustomer(Name="Müller Maschinenbau GmbH", Street="Hauptstr. 5",
                                        City="München", PostalCode="80331", Country="DE",
                                        Currency="EUR", CompanyCode="2000", TaxId="DE123456789")
    assert number == "100001"
    got = erp.service.GetCustomer(CustomerNumber=number)
    assert (got.Name, got.City, got.Country, got.CompanyCode, got.TaxId) == (
        "Müller Maschinenbau GmbH", "München", "DE", "2000", "DE123456789")
    assert got.CreatedAt is not None
    fact = admin.get("/_sim/await", params={"kind": "customer.created", "key": number,
                                            "timeout": 1}).json()
    assert fact["matched"] and fact["fact"]["data"]["CompanyCode"] == "2000"


def test_create_customer_with_a_chosen_number_then_duplicate_faults(
        customer: Callable[..., str], erp: zeep.Client) -> None:
    assert customer(CustomerNumber="C42") == "C42"
    with pytest.raises(zeep.exceptions.Fault) as err:
        customer(CustomerNumber="C42")
    assert fault_code(err.value) == "DUPLICATE_CUSTOMER"
    assert err.value.code == "soap:Client"
    # generated numbers never collide with a chosen one
    assert customer() == "100001"


def test_name_longer_than_35_characters_is_rejected(customer: Callable[..., str]) -> None:
    assert customer(Name="N" * 35)
    with pytest.raises(zeep.exceptions.Fault) as err:
        customer(Name="N" * 36)
    assert fault_code(err.value) == "FIELD_TOO_LONG"
    assert "Name" in err.value.message


def test_get_unknown_customer_faults_customer_not_found(erp: zeep.Client) -> None:
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.GetCustomer(CustomerNumber="999999")
    assert fault_code(err.value) == "CustomerNotFound"
    assert err.value.code == "soap:Client"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("CompanyCode", "9999", "COMPANY_CODE_UNKNOWN"),
    ("Country", "usa", "INVALID_REQUEST"),
    ("Currency", "US", "INVALID_REQUEST"),
    ("PostalCode", "123456789012", "FIELD_TOO_LONG"),
])
def test_invalid_customer_fields_fault(customer: Callable[..., str], field: str, value: str,
                                       code: str) -> None:
    with pytest.raises(zeep.exceptions.Fault) as err:
        customer(**{field: value})
    assert fault_code(err.value) == code
