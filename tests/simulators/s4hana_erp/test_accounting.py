"""Journal entries and incoming payments through pyodata: posting, open items, clearing with
residual items, and FI's checks (closed period, duplicate reference, balance, overpayment)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from pyodata.exceptions import HttpError

from simulators._kit import build_app, serve_in_thread
from simulators.s4hana_erp import Config, S4HanaSimulator

from .conftest import client, create_customer, post_invoice, sap_error, sap_session


def open_items(pay_api: Any, customer: str, company_code: str = "1010") -> list[Any]:
    return pay_api.entity_sets.A_OpenItem.get_entities().filter(
        f"Customer eq '{customer}' and CompanyCode eq '{company_code}'").execute()


def test_post_invoice_then_clear_it_with_a_partial_and_a_final_payment(
        bp_api: Any, je_api: Any, pay_api: Any, admin: httpx.Client) -> None:
    customer = create_customer(bp_api).BusinessPartner
    doc = post_invoice(je_api, customer, "in_1001", amount="1190.00", tax="190.00")

    assert doc.AccountingDocument == "1800000000"
    assert doc.FiscalYear == str(doc.PostingDate.year)
    assert doc.FiscalPeriod == f"{doc.PostingDate.month:03d}"
    assert doc.IsCleared is False
    lines = [(i.AccountingDocumentItem, i.GLAccount, i.DebitCreditCode,
              i.AmountInTransactionCurrency) for i in doc.to_Item]
    assert lines == [("001", "12100000", "S", "1190.00"), ("002", "41000000", "H", "-1000.00"),
                     ("003", "22000000", "H", "-190.00")]
    posted = admin.get("/_sim/await", params={"kind": "invoice.posted", "key": "in_1001",
                                              "timeout": 1}).json()
    assert posted["matched"]
    assert posted["fact"]["data"]["AccountingDocument"] == "1800000000"
    assert posted["fact"]["data"]["amount"] == "1190.00"

    [item] = open_items(pay_api, customer)
    assert (item.AccountingDocument, item.AmountInTransactionCurrency,
            item.DocumentReferenceID) == ("1800000000", "1190.00", "in_1001")
    assert item.NetDueDate - item.PostingDate == dt.timedelta(days=30)  # NT30

    partial = pay_api.entity_sets.A_IncomingPayment.create_entity().set(
        CompanyCode="1010", Customer=customer, AmountInTransactionCurrency="1000.00",
        TransactionCurrency="EUR", InvoiceReference="in_1001",
        DocumentReferenceID="psp_881").execute()
    assert partial.AccountingDocument == "1400000000"
    assert (partial.ResidualAmount, partial.IsFullyCleared) == ("190.00", False)
    [residual] = open_items(pay_api, customer)
    assert (residual.AccountingDocument, residual.AccountingDocumentItem,
            residual.AmountInTransactionCurrency, residual.DocumentReferenceID,
            residual.InvoiceReference) == ("1400000000", "003", "190.00", "in_1001",
                                           "1800000000")
    not_yet = admin.get("/_sim/await", params={"kind": "payment.cleared", "key": "in_1001",
                                               "timeout": 0}).json()
    assert not not_yet["matched"]

    final = pay_api.entity_sets.A_IncomingPayment.create_entity().set(
        CompanyCode="1010", Customer=customer, AmountInTransactionCurrency="190.00",
        InvoiceReference="in_1001").execute()
    assert final.IsFullyCleared is True
    assert open_items(pay_api, customer) == []
    invoice = je_api.entity_sets.A_JournalEntry.get_entity(
        CompanyCode="1010", FiscalYear=doc.FiscalYear, AccountingDocument="1800000000").execute()
    assert (invoice.IsCleared, invoice.ClearingAccountingDocument) == (True, "1400000001")
    cleared = admin.get("/_sim/await", params={"kind": "payment.cleared", "key": "in_1001",
                                               "timeout": 1}).json()
    assert cleared["matched"]
    assert cleared["fact"]["data"]["clearing_document"] == "1400000001"
    # the original item carries the clearing of the first payment
    item = je_api.entity_sets.A_JournalEntryItem.get_entity(
        CompanyCode="1010", FiscalYear=doc.FiscalYear, AccountingDocument="1800000000",
        AccountingDocumentItem="001").execute()
    assert (item.IsCleared, item.ClearingAccountingDocument) == (True, "1400000000")


def test_document_numbers_run_per_company_code(bp_api: Any, je_api: Any) -> None:
    customer = create_customer(bp_api, company_codes=("1010", "1510")).BusinessPartner
    assert post_invoice(je_api, customer, "A-1").AccountingDocument == "1800000000"
    assert post_invoice(je_api, customer, "A-2").AccountingDocument == "1800000001"
    jp = post_invoice(je_api, customer, "A-1", amount="11000", tax="1000",
                      company_code="1510", currency="JPY")
    assert (jp.AccountingDocument, jp.AmountInTransactionCurrency) == ("1800000000", "11000")
    found = je_api.entity_sets.A_JournalEntry.get_entities().filter(
        "TransactionCurrency eq 'JPY' and AmountInTransactionCurrency ge 10000.5M").execute()
    assert [d.CompanyCode for d in found] == ["1510"]


def test_explicit_items_must_balance(bp_api: Any, je_api: Any) -> None:
    customer = create_customer(bp_api).BusinessPartner
    doc = post_invoice(je_api, customer, "B-1", amount="100.00", tax="0.00", to_Item=[
        {"GLAccount": "41000000", "AmountInTransactionCurrency": "-60.00",
         "DocumentItemText": "licence"},
        {"GLAccount": "41000100", "AmountInTransactionCurrency": "-40.00"}])
    assert [i.GLAccount for i in doc.to_Item] == ["12100000", "41000000", "41000100"]
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "B-2", amount="100.00", tax="0.00", to_Item=[
            {"GLAccount": "41000000", "AmountInTransactionCurrency": "-90.00"}])
    assert sap_error(exc.value)["code"] == "F5/702"
    assert "10.00 EUR" in sap_error(exc.value)["message"]["value"]


def test_posting_into_a_closed_period_is_refused(bp_api: Any, je_api: Any,
                                                 admin: httpx.Client) -> None:
    customer = create_customer(bp_api).BusinessPartner
    year = dt.datetime.now(dt.UTC).year - 1
    closed = admin.put("/_sim/erp/periods", json={"company_code": "1010", "fiscal_year": year,
                                                  "period": 3, "closed": True})
    assert closed.json()["data"] == [{"period": f"1010/{year}/003", "closed": True}]
    march = dt.datetime(year, 3, 15, tzinfo=dt.UTC)
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "C-1", PostingDate=march)
    error = sap_error(exc.value)
    assert error["code"] == "F5/201"
    assert error["message"]["value"].startswith(f"Posting period 003 {year} is not open")
    assert post_invoice(je_api, customer, "C-1",
                        PostingDate=march.replace(month=4)).FiscalPeriod == "004"
    admin.put("/_sim/erp/periods", json={"company_code": "1010", "fiscal_year": year,
                                         "period": 3, "closed": False})
    assert post_invoice(je_api, customer, "C-2", PostingDate=march).FiscalPeriod == "003"
    assert admin.put("/_sim/erp/periods", json={"company_code": "10", "fiscal_year": year,
                                                "closed": True}).status_code == 422


def test_duplicate_reference_is_refused_per_company_code(bp_api: Any, je_api: Any) -> None:
    customer = create_customer(bp_api, company_codes=("1010", "1210")).BusinessPartner
    first = post_invoice(je_api, customer, "in_dup")
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "in_dup")
    error = sap_error(exc.value)
    assert error["code"] == "F5/117"
    assert f"1010 {first.AccountingDocument} {first.FiscalYear}" in error["message"]["value"]
    # another company code is another ledger
    assert post_invoice(je_api, customer, "in_dup", company_code="1210").CompanyCode == "1210"


def test_duplicate_check_can_be_switched_off() -> None:
    with serve_in_thread(build_app(S4HanaSimulator(Config(
            duplicate_reference_check=False)))) as server:
        session = sap_session(server.url)
        customer = create_customer(client(server, session, "API_BUSINESS_PARTNER"))
        je_api = client(server, session, "API_O2C_JOURNALENTRY_SRV")
        numbers = {post_invoice(je_api, customer.BusinessPartner, "same").AccountingDocument
                   for _ in range(2)}
        assert numbers == {"1800000000", "1800000001"}


def test_customer_must_be_extended_to_the_company_code(bp_api: Any, je_api: Any) -> None:
    customer = create_customer(bp_api).BusinessPartner
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "D-1", company_code="1710", currency="USD")
    assert sap_error(exc.value)["code"] == "F5/151"
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "D-1", company_code="7777")
    assert sap_error(exc.value)["code"] == "F5/165"
    with pytest.raises(HttpError) as exc:
        post_invoice(je_api, customer, "D-1", amount="10.005", tax="0")
    assert sap_error(exc.value)["code"] == "F5/024"


def test_payment_errors(bp_api: Any, je_api: Any, pay_api: Any) -> None:
    customer = create_customer(bp_api).BusinessPartner
    post_invoice(je_api, customer, "E-1", amount="50.00", tax="0.00")

    def pay(**fields: Any) -> Any:
        body = {"CompanyCode": "1010", "Customer": customer,
                "AmountInTransactionCurrency": "50.00", "InvoiceReference": "E-1", **fields}
        return pay_api.entity_sets.A_IncomingPayment.create_entity().set(**body).execute()

    for fields, code in [({"AmountInTransactionCurrency": "50.01"}, "F5/263"),
                         ({"InvoiceReference": "nope"}, "F5/185"),
                         ({"TransactionCurrency": "USD"}, "F5/045")]:
        with pytest.raises(HttpError) as exc:
            pay(**fields)
        assert sap_error(exc.value)["code"] == code
    by_number = pay(InvoiceReference=None, InvoiceAccountingDocument="1800000000")
    assert by_number.IsFullyCleared is True
    with pytest.raises(HttpError) as exc:
        pay()
    assert sap_error(exc.value)["code"] == "F5/185"
    assert "already cleared by 1400000000" in sap_error(exc.value)["message"]["value"]
