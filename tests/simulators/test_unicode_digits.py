"""Digits that are not ASCII ('²', '①', '٣') are refused as each vendor refuses bad input,
never a 500: ``str.isdigit`` takes them and ``int()`` then raises (found by ``harness fuzz``
in the CRM's SOQL tokenizer)."""

from __future__ import annotations

import pytest

from simulators._kit import is_digits
from simulators.adyen_payments.catalog import iban_ok, luhn_ok
from simulators.adyen_payments.validation import ValidationError, _card
from simulators.s4hana_erp.filter import FilterError, parse_filter
from simulators.s4hana_erp.partners import alpha
from simulators.salesforce_crm.soql import SoqlError, parse
from simulators.stripe_billing.forms import decode

ODD = ("²", "①", "٣", "1²", "²3")


@pytest.mark.parametrize("text", ODD)
def test_only_ascii_digits_are_digits(text: str) -> None:
    assert text.isdigit()  # what the old checks trusted
    assert not is_digits(text)
    assert is_digits("0123456789") and not is_digits("")


@pytest.mark.parametrize("text", ODD)
def test_soql_refuses_them_as_a_malformed_query(text: str) -> None:
    with pytest.raises(SoqlError):
        parse(f"SELECT Id FROM Account LIMIT {text}")


@pytest.mark.parametrize("text", ODD)
def test_odata_filter_refuses_them(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(f"FiscalYear eq {text}")


@pytest.mark.parametrize("text", ODD)
def test_adyen_card_checks_refuse_them(text: str) -> None:
    assert not luhn_ok(f"411111114555114{text}")
    assert not iban_ok(f"NL{text}ABNA0417164300")
    with pytest.raises(ValidationError):
        _card({"type": "scheme", "number": "4111111145551142", "expiryMonth": text,
               "expiryYear": "2030", "cvc": "737"}, lambda: "PSP")


def test_sap_alpha_conversion_leaves_them_alone() -> None:
    assert alpha("²") == "²" and alpha("0001000001") == "1000001"


def test_stripe_form_index_must_be_ascii() -> None:
    assert decode("items[%C2%B2][price]=p") == {"items": {"²": {"price": "p"}}}
    assert decode("items[0][price]=p") == {"items": [{"price": "p"}]}
