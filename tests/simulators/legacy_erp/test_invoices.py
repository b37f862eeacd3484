"""PostInvoice, ApplyPayment and GetOpenItems: the AR flow and its legacy traps."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import zeep
import zeep.exceptions

from .conftest import fault_code, invoice


def test_post_invoice_books_a_document_numbered_per_company_code(
        erp: zeep.Client, customer: Callable[..., str], admin: httpx.Client) -> None:
    us, de = customer("1000", "USD"), customer("2000", "EUR", Country="DE")
    first = erp.service.PostInvoice(**invoice(us, "in_1A"))
    second = erp.service.PostInvoice(**invoice(us, "in_1B"))
    german = erp.service.PostInvoice(**invoice(de, "in_1C", company="2000", currency="EUR"))
    assert (first.Status, first.DocumentNumber) == ("POSTED", "9000000001")
    assert second.DocumentNumber == "9000000002"
    assert german.DocumentNumber == "9000000001"  # number ranges are per company code
    assert first.PostingDate is not None and first.FiscalYear == first.PostingDate.year
    fact = admin.get("/_sim/await", params={"kind": "invoice.posted", "key": "in_1A",
                                            "timeout": 1}).json()["fact"]
    assert fact["data"]["DocumentNumber"] == "9000000001"
    assert fact["data"]["GrossAmount"] == "108.25"
    assert fact["data"]["CompanyCode"] == "1000"


def test_invoice_with_lines(erp: zeep.Client, customer: Callable[..., str]) -> None:
    number = customer()
    lines = {"Line": [
        {"LineNumber": 1, "Description": "Platform subscription", "Quantity": "1",
         "NetAmount": "80.00", "TaxAmount": "6.60"},
        {"LineNumber": 2, "Description": "API overage", "Quantity": "2000",
         "NetAmount": "20.00", "TaxAmount": "1.65"}]}
    posted = erp.service.PostInvoice(**invoice(number, "in_lines", Lines=lines))
    assert posted.Status == "POSTED"
    bad = {"Line": [{**lines["Line"][0], "NetAmount": "10.00"}]}
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.PostInvoice(**invoice(number, "in_lines_bad", Lines=bad))
    assert fault_code(err.value) == "AMOUNT_MISMATCH"


def test_posting_the_same_reference_twice_creates_two_documents(
        erp: zeep.Client, customer: Callable[..., str], admin: httpx.Client) -> None:
    number = customer()
    first = erp.service.PostInvoice(**invoice(number, "in_RETRIED"))
    again = erp.service.PostInvoice(**invoice(number, "in_RETRIED"))  # a naive retry
    assert first.DocumentNumber != again.DocumentNumber

    items = erp.service.GetOpenItems(CompanyCode="1000", ExternalReference="in_RETRIED")
    assert sorted(i.DocumentNumber for i in items) == sorted(
        [first.DocumentNumber, again.DocumentNumber])

    fact = admin.get("/_sim/await", params={"kind": "invoice.posted", "key": "in_RETRIED",
                                            "timeout": 1}).json()["fact"]
    assert fact["count"] == 2
    assert fact["data"]["DocumentNumber"] == first.DocumentNumber  # the first posting is kept

    books = admin.get("/_sim/legacy/documents", params={"external_reference": "in_RETRIED"})
    assert len(books.json()["data"]) == 2
    assert books.json()["duplicates"] == {"in_RETRIED": [
        f"1000:{first.DocumentNumber}", f"1000:{again.DocumentNumber}"]}


@pytest.mark.parametrize(("changes", "code"), [
    ({"gross": "100.00"}, "AMOUNT_MISMATCH"),
    ({"company": "2000", "currency": "EUR"}, "CUSTOMER_NOT_IN_COMPANY_CODE"),
    ({"company": "7777"}, "COMPANY_CODE_UNKNOWN"),
    ({"DueDate": "2024-02-01"}, "INVALID_REQUEST"),
    ({"net": "-5.00", "tax": "0.00"}, "INVALID_REQUEST"),
    ({"ExternalReference": "R" * 36}, "FIELD_TOO_LONG"),
])
def test_post_invoice_rejections(erp: zeep.Client, customer: Callable[..., str],
                                 changes: dict[str, str], code: str) -> None:
    number = customer()
    args = invoice(number, "in_bad", **{k: v for k, v in changes.items()
                                        if k in ("company", "currency", "net", "tax", "gross")})
    args.update({k: v for k, v in changes.items() if k[0].isupper()})
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.PostInvoice(**args)
    assert fault_code(err.value) == code


def test_post_invoice_for_unknown_customer(erp: zeep.Client) -> None:
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.PostInvoice(**invoice("424242", "in_x"))
    assert fault_code(err.value) == "CustomerNotFound"


def test_partial_then_full_payment_clears_the_item(
        erp: zeep.Client, customer: Callable[..., str], admin: httpx.Client) -> None:
    number = customer()
    posted = erp.service.PostInvoice(**invoice(number, "in_PAY", net="100.00", tax="19.00"))
    pay = {"CompanyCode": "1000", "CustomerNumber": number, "ExternalReference": "in_PAY",
           "Currency": "USD", "PaymentDate": "2024-03-15"}
    part = erp.service.ApplyPayment(**pay, Amount="19.00", PaymentReference="pi_1")
    assert (part.Status, part.OpenAmount) == ("PARTIALLY_CLEARED", Decimal("100.00"))
    assert part.ClearingDocumentNumber == "1400000001"
    [item] = erp.service.GetOpenItems(CompanyCode="1000", CustomerNumber=number)
    assert (item.Status, item.Amount, item.OpenAmount) == (
        "PARTIALLY_CLEARED", Decimal("119.00"), Decimal("100.00"))
    assert not admin.get("/_sim/facts", params={"kind": "payment.cleared"}).json()["data"]

    rest = erp.service.ApplyPayment(**pay, Amount="100.00", PaymentReference="pi_2")
    assert (rest.Status, rest.OpenAmount, rest.DocumentNumber) == (
        "CLEARED", Decimal("0.00"), posted.DocumentNumber)
    assert erp.service.GetOpenItems(CompanyCode="1000", CustomerNumber=number) == []
    [cleared] = erp.service.GetOpenItems(CompanyCode="1000", CustomerNumber=number,
                                         IncludeCleared=True)
    assert cleared.Status == "CLEARED"
    fact = admin.get("/_sim/await", params={"kind": "payment.cleared", "key": "in_PAY",
                                            "timeout": 1}).json()["fact"]
    assert fact["data"]["ClearingDocumentNumber"] == rest.ClearingDocumentNumber

    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.ApplyPayment(**pay, Amount="1.00", PaymentReference="pi_3")
    assert fault_code(err.value) == "ITEM_ALREADY_CLEARED"


def test_payment_rejections(erp: zeep.Client, customer: Callable[..., str]) -> None:
    number = customer()
    posted = erp.service.PostInvoice(**invoice(number, "in_P2"))
    base = {"CompanyCode": "1000", "CustomerNumber": number, "Currency": "USD",
            "PaymentDate": "2024-03-15", "PaymentReference": "pi_x", "Amount": "10.00"}
    cases = [
        ({"ExternalReference": "in_NOPE"}, "DOCUMENT_NOT_FOUND"),
        ({"DocumentNumber": "9000009999"}, "DOCUMENT_NOT_FOUND"),
        ({"ExternalReference": "in_P2", "Amount": "1000.00"}, "OVERPAYMENT"),
        ({"ExternalReference": "in_P2", "Currency": "EUR"}, "CURRENCY_MISMATCH"),
        ({}, "INVALID_REQUEST"),
        ({"ExternalReference": "in_P2", "Amount": "0.00"}, "INVALID_REQUEST"),
    ]
    for changes, code in cases:
        with pytest.raises(zeep.exceptions.Fault) as err:
            erp.service.ApplyPayment(**{**base, **changes})
        assert fault_code(err.value) == code, changes
    paid = erp.service.ApplyPayment(**{**base, "DocumentNumber": posted.DocumentNumber})
    assert paid.Status == "PARTIALLY_CLEARED"


def test_payment_by_reference_of_a_duplicated_posting_is_ambiguous(
        erp: zeep.Client, customer: Callable[..., str]) -> None:
    number = customer()
    first = erp.service.PostInvoice(**invoice(number, "in_DUP"))
    erp.service.PostInvoice(**invoice(number, "in_DUP"))
    pay = {"CompanyCode": "1000", "CustomerNumber": number, "Currency": "USD",
           "PaymentDate": "2024-03-15", "PaymentReference": "pi_d", "Amount": "108.25"}
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.ApplyPayment(**pay, ExternalReference="in_DUP")
    assert fault_code(err.value) == "AMBIGUOUS_REFERENCE"
    cleared = erp.service.ApplyPayment(**pay, DocumentNumber=first.DocumentNumber,
                                       ExternalReference="in_DUP")
    assert cleared.Status == "CLEARED"
    [left] = erp.service.GetOpenItems(CompanyCode="1000", ExternalReference="in_DUP")
    assert left.DocumentNumber != first.DocumentNumber


def test_get_open_items_filters(erp: zeep.Client, customer: Callable[..., str]) -> None:
    a, b = customer(), customer()
    erp.service.PostInvoice(**invoice(a, "in_A1"))
    erp.service.PostInvoice(**invoice(a, "in_A2"))
    erp.service.PostInvoice(**invoice(b, "in_B1"))
    assert len(erp.service.GetOpenItems(CompanyCode="1000")) == 3
    assert {i.ExternalReference for i in erp.service.GetOpenItems(
        CompanyCode="1000", CustomerNumber=a)} == {"in_A1", "in_A2"}
    assert erp.service.GetOpenItems(CompanyCode="2000") == []
    with pytest.raises(zeep.exceptions.Fault) as err:
        erp.service.GetOpenItems(CompanyCode="ZZZZ")
    assert fault_code(err.value) == "COMPANY_CODE_UNKNOWN"
