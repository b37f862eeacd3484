"""Financial accounting: customer invoices (DR), incoming payments (DZ), clearing, open items.

Rules the ledger enforces, as SAP FI does:

- a company code must exist and the customer must be extended to it;
- the posting period (calendar month of the posting date; fiscal year = calendar year) must be
  open — periods are closed by config or ``PUT /_sim/erp/periods``;
- the document balances to zero in transaction currency (F5/702) — the customer line is
  generated from the header amount, the caller's ``to_Item`` lines are the credit side; without
  items the simulator posts revenue and output tax lines itself;
- with ``duplicate_reference_check`` a second invoice with the same ``DocumentReferenceID`` in
  the same company code is rejected (F5/117), protecting against double posting;
- document numbers run per company code and fiscal year: invoices from 1800000000, payments
  from 1400000000;
- a payment clears the open item of one invoice. An exact payment clears it; a smaller one
  clears it and opens a *residual item* for the remainder in the payment document (residual
  item method); a larger one is rejected (F5/263: no payments on account).

An invoice's header ``IsCleared`` turns true only when nothing of it is open any more.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .config import CURRENCIES, CURRENCY_DECIMALS, CompanyCode
from .errors import (
    AMOUNT_INVALID,
    BALANCE_NOT_ZERO,
    CLEARING_DIFFERENCE,
    COMPANY_CODE_UNKNOWN,
    CURRENCY_MISMATCH,
    CUSTOMER_NOT_IN_COMPANY,
    DOCUMENT_TYPE_INVALID,
    DUPLICATE_REFERENCE,
    NO_OPEN_ITEMS,
    PERIOD_CLOSED,
    bad_request,
)
from .partners import alpha

if TYPE_CHECKING:
    from .models import S4Backend

DOCS, PAYMENTS, REFS, PERIODS = "journal_entries", "incoming_payments", "references", "periods"
INVOICE_RANGE, PAYMENT_RANGE = 1800000000, 1400000000
DAY_MS = 86_400_000
Row = dict[str, Any]
JE = "A_JournalEntryType"
PAY = "A_IncomingPaymentType"


def date_of(ms: int) -> dt.date:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)).date()


def midnight(ms: int) -> int:
    return ms - ms % DAY_MS


def money(amount: Decimal, currency: str) -> str:
    places = CURRENCY_DECIMALS.get(currency, 2)
    return str(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


class Ledger:
    """Posts and clears documents; every check runs before the first write."""

    def __init__(self, backend: S4Backend) -> None:
        self.backend = backend

    def _coll(self, name: str) -> Any:
        return self.backend.ctx.store.collection(name)

    # -- reads -----------------------------------------------------------------------------
    def documents(self) -> list[dict[str, Any]]:
        return list(self._coll(DOCS).values())

    def document(self, company: str, year: str, number: str) -> dict[str, Any] | None:
        return self._coll(DOCS).get(f"{company}|{year}|{number}")  # type: ignore[no-any-return]

    def payments(self) -> list[dict[str, Any]]:
        return list(self._coll(PAYMENTS).values())

    def payment(self, company: str, year: str, number: str) -> dict[str, Any] | None:
        return self._coll(PAYMENTS).get(f"{company}|{year}|{number}")  # type: ignore[no-any-return]

    def items(self) -> list[dict[str, Any]]:
        return [item for doc in self.documents() for item in doc["_items"]]

    def open_items(self) -> list[dict[str, Any]]:
        """Uncleared customer items as ``A_OpenItem`` rows."""
        out = []
        for doc in self.documents():
            for item in doc["_items"]:
                if item.get("_open") and not item["IsCleared"]:
                    out.append(self._open_item_row(doc, item))
        return out

    def _open_item_row(self, doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        invoice = item.get("_invoice") or ""
        return {
            "CompanyCode": doc["CompanyCode"], "FiscalYear": doc["FiscalYear"],
            "AccountingDocument": doc["AccountingDocument"],
            "AccountingDocumentItem": item["AccountingDocumentItem"],
            "Customer": item["Customer"], "AccountingDocumentType": doc["AccountingDocumentType"],
            "DocumentReferenceID": item.get("_reference", doc["DocumentReferenceID"]),
            "InvoiceReference": invoice.split("|")[2] if invoice else "",
            "PostingDate": doc["PostingDate"], "DocumentDate": doc["DocumentDate"],
            "NetDueDate": item["NetDueDate"],
            "AmountInTransactionCurrency": item["AmountInTransactionCurrency"],
            "TransactionCurrency": item["TransactionCurrency"],
            "PaymentTerms": item.get("_terms", ""),
        }

    # -- periods ---------------------------------------------------------------------------
    def period_closed(self, company: str, year: int, period: int) -> bool:
        coll = self._coll(PERIODS)
        exact = coll.get(f"{company}/{year}/{period:03d}")
        if exact is not None:
            return bool(exact["closed"])
        for pattern in (f"{company}/{year}/*", f"*/{year}/{period:03d}", f"*/{year}/*"):
            entry = coll.get(pattern)
            if entry is not None and entry["closed"]:
                return True
        return False

    def set_period(self, company: str, year: int, period: int | None, closed: bool) -> dict[
            str, Any]:
        key = f"{company}/{year}/{'*' if period is None else f'{period:03d}'}"
        entry = {"period": key, "closed": closed}
        self._coll(PERIODS).put(key, entry)
        return entry

    def periods(self) -> list[dict[str, Any]]:
        return sorted(self._coll(PERIODS).values(), key=lambda e: e["period"])

    # -- shared checks ---------------------------------------------------------------------
    def _company(self, data: dict[str, Any], type_name: str) -> CompanyCode:
        code = data.get("CompanyCode") or ""
        company = self.backend.config.company(code)
        if company is None:
            raise bad_request(COMPANY_CODE_UNKNOWN, f"Company code {code or '(empty)'} is not "
                              "defined", propertyref=f"{type_name}/CompanyCode")
        return company  # type: ignore[no-any-return]

    def _customer_in(self, data: dict[str, Any], company: CompanyCode,
                     type_name: str) -> dict[str, Any]:
        customer = alpha(data.get("Customer") or "")
        extension = self.backend.partners.customer_company(customer, company.code)
        if extension is None:
            raise bad_request(CUSTOMER_NOT_IN_COMPANY, f"Customer {customer or '(empty)'} is "
                              f"not defined in company code {company.code}",
                              propertyref=f"{type_name}/Customer")
        return extension

    def _amount(self, value: Any, currency: str, name: str, type_name: str) -> Decimal:
        if value is None:
            raise bad_request(AMOUNT_INVALID, f"Enter an amount in {name}",
                              propertyref=f"{type_name}/{name}")
        amount = Decimal(value)
        if abs(amount) >= Decimal("1e13"):  # CURR 16,3 holds 13 integer digits
            raise bad_request(AMOUNT_INVALID, f"Amount {amount} is too large",
                              propertyref=f"{type_name}/{name}")
        places = CURRENCY_DECIMALS.get(currency, 2)
        if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
            raise bad_request(AMOUNT_INVALID, f"Amount {amount} has too many decimal places for "
                              f"currency {currency} (maximum {places})",
                              propertyref=f"{type_name}/{name}")
        return amount

    def _currency(self, data: dict[str, Any], company: CompanyCode, type_name: str) -> str:
        currency = (data.get("TransactionCurrency") or company.currency).upper()
        if currency not in CURRENCIES:
            raise bad_request(CURRENCY_MISMATCH, f"Currency {currency} is not defined",
                              propertyref=f"{type_name}/TransactionCurrency")
        return currency

    def _dates(self, data: dict[str, Any], company: CompanyCode,
               type_name: str) -> tuple[int, int, int, int]:
        """(posting date, document date, fiscal year, period) after the period check."""
        posting = midnight(data.get("PostingDate") or self.backend.today_ms())
        document = midnight(data.get("DocumentDate") or posting)
        day = date_of(posting)
        if not 1900 <= day.year <= 9998:
            raise bad_request(PERIOD_CLOSED, f"Posting date {day} is outside the fiscal year "
                              "variant", propertyref=f"{type_name}/PostingDate")
        if self.period_closed(company.code, day.year, day.month):
            raise bad_request(PERIOD_CLOSED, f"Posting period {day.month:03d} {day.year} is not "
                              f"open (company code {company.code})",
                              propertyref=f"{type_name}/PostingDate")
        return posting, document, day.year, day.month

    def _number(self, company: str, year: int, start: int) -> str:
        n = self.backend.ctx.ids.sequence(f"document:{company}:{year}:{start}")
        return str(start + n - 1)

    # -- invoices --------------------------------------------------------------------------
    def post_invoice(self, data: dict[str, Any], user: str) -> dict[str, Any]:
        """Post a customer invoice (``DR``); records ``invoice.posted`` keyed by the reference."""
        company = self._company(data, JE)
        doc_type = data.get("AccountingDocumentType") or "DR"
        if doc_type != "DR":
            raise bad_request(DOCUMENT_TYPE_INVALID, f"Document type {doc_type} is not allowed "
                              "here: post customer invoices with type DR; payments go through "
                              "API_O2C_INCOMINGPAYMENT_SRV",
                              propertyref=f"{JE}/AccountingDocumentType")
        extension = self._customer_in(data, company, JE)
        currency = self._currency(data, company, JE)
        gross = self._amount(data.get("AmountInTransactionCurrency"), currency,
                             "AmountInTransactionCurrency", JE)
        if gross <= 0:
            raise bad_request(AMOUNT_INVALID, "The invoice amount must be positive",
                              propertyref=f"{JE}/AmountInTransactionCurrency")
        tax = self._amount(data.get("TaxAmount") or Decimal(0), currency, "TaxAmount", JE)
        if not 0 <= tax <= gross:
            raise bad_request(AMOUNT_INVALID, "The tax amount must lie between 0 and the invoice "
                              "amount", propertyref=f"{JE}/TaxAmount")
        posting, document, year, period = self._dates(data, company, JE)
        reference = data.get("DocumentReferenceID") or ""
        if reference and self.backend.config.duplicate_reference_check:
            existing = self._coll(REFS).get(f"{company.code}|{reference}")
            if existing is not None:
                raise bad_request(DUPLICATE_REFERENCE, "Check whether document has already been "
                                  f"entered under number {company.code} "
                                  f"{existing['AccountingDocument']} {existing['FiscalYear']} "
                                  f"(reference {reference})",
                                  propertyref=f"{JE}/DocumentReferenceID")
        lines = self._credit_lines(data.get("to_Item"), company, gross, tax, currency)

        number = self._number(company.code, year, INVOICE_RANGE)
        terms = extension["PaymentTerms"]
        due = posting + self.backend.config.payment_terms.get(terms, 0) * DAY_MS
        base = {"CompanyCode": company.code, "FiscalYear": str(year), "AccountingDocument": number}
        customer = extension["Customer"]
        items = [{**base, "AccountingDocumentItem": "001",
                  "GLAccount": extension["ReconciliationAccount"], "Customer": customer,
                  "DebitCreditCode": "S", "AmountInTransactionCurrency": money(gross, currency),
                  "TransactionCurrency": currency, "TaxCode": "", "DocumentItemText": "",
                  "NetDueDate": due, "IsCleared": False, "ClearingAccountingDocument": "",
                  "ClearingDate": None, "_open": True, "_terms": terms}]
        for i, line in enumerate(lines, start=2):
            amount = line["amount"]
            items.append({**base, "AccountingDocumentItem": f"{i:03d}",
                          "GLAccount": line["GLAccount"], "Customer": "",
                          "DebitCreditCode": "S" if amount >= 0 else "H",
                          "AmountInTransactionCurrency": money(amount, currency),
                          "TransactionCurrency": currency, "TaxCode": line.get("TaxCode") or "",
                          "DocumentItemText": line.get("DocumentItemText") or "",
                          "NetDueDate": None, "IsCleared": False,
                          "ClearingAccountingDocument": "", "ClearingDate": None})
        doc = {**base, "AccountingDocumentType": "DR", "DocumentDate": document,
               "PostingDate": posting, "FiscalPeriod": f"{period:03d}",
               "DocumentReferenceID": reference,
               "AccountingDocumentHeaderText": data.get("AccountingDocumentHeaderText") or "",
               "Customer": customer, "AmountInTransactionCurrency": money(gross, currency),
               "TaxAmount": money(tax, currency), "TransactionCurrency": currency,
               "ClearingAccountingDocument": "", "ClearingDate": None, "IsCleared": False,
               "AccountingDocCreatedByUser": user,
               "AccountingDocumentCreationDate": self.backend.today_ms(), "_items": items}
        self._coll(DOCS).put(f"{company.code}|{year}|{number}", doc)
        if reference:
            self._coll(REFS).put(f"{company.code}|{reference}", {
                "AccountingDocument": number, "FiscalYear": str(year)})
            self.backend.ctx.facts.record(
                "invoice.posted", reference, CompanyCode=company.code, FiscalYear=str(year),
                AccountingDocument=number, Customer=customer, amount=money(gross, currency),
                currency=currency, PostingDate=date_of(posting).isoformat(),
                posted_at=self.backend.clock.now())
        return doc

    def _credit_lines(self, given: Any, company: CompanyCode, gross: Decimal, tax: Decimal,
                      currency: str) -> list[dict[str, Any]]:
        if not given:
            lines = [{"GLAccount": company.revenue_account, "amount": -(gross - tax)}]
            if tax:
                lines.append({"GLAccount": company.output_tax_account, "amount": -tax})
            return lines
        lines = []
        for i, item in enumerate(given):
            if not item.get("GLAccount"):
                raise bad_request(AMOUNT_INVALID, f"Item {i + 1}: enter a G/L account",
                                  propertyref="A_JournalEntryItemType/GLAccount",
                                  target=f"to_Item[{i}]")
            amount = self._amount(item.get("AmountInTransactionCurrency"), currency,
                                  "AmountInTransactionCurrency", "A_JournalEntryItemType")
            lines.append({**item, "amount": amount})
        balance = gross + sum((line["amount"] for line in lines), Decimal(0))
        if balance != 0:
            raise bad_request(BALANCE_NOT_ZERO, f"Balance in transaction currency: "
                              f"{money(balance, currency)} {currency} (the items must offset "
                              "the invoice amount; credit lines are negative)",
                              propertyref="A_JournalEntryItemType/AmountInTransactionCurrency")
        return lines

    # -- payments --------------------------------------------------------------------------
    def _invoice_for(self, data: dict[str, Any], company: CompanyCode, customer: str,
                     year: int) -> dict[str, Any]:
        reference = data.get("InvoiceReference") or ""
        number = data.get("InvoiceAccountingDocument") or ""
        doc = None
        if reference:
            ref = self._coll(REFS).get(f"{company.code}|{reference}")
            if ref is not None:
                doc = self.document(company.code, ref["FiscalYear"], ref["AccountingDocument"])
        elif number:
            doc = self.document(company.code, data.get("InvoiceFiscalYear") or str(year), number)
        else:
            raise bad_request(NO_OPEN_ITEMS, "Specify the invoice to clear: InvoiceReference or "
                              "InvoiceAccountingDocument", propertyref=f"{PAY}/InvoiceReference")
        if doc is None or doc["Customer"] != customer or doc["AccountingDocumentType"] != "DR":
            raise bad_request(NO_OPEN_ITEMS, f"No open items found for customer {customer} in "
                              f"company code {company.code} with reference "
                              f"{reference or number}", propertyref=f"{PAY}/InvoiceReference")
        return doc

    def _open_item_of(self, invoice: Row) -> tuple[Row, Row] | None:
        """(document, item) of the invoice's open item: its own line or its latest residual."""
        invoice_id = f"{invoice['CompanyCode']}|{invoice['FiscalYear']}|" \
                     f"{invoice['AccountingDocument']}"
        for item in invoice["_items"]:  # the usual case, without scanning the ledger
            if item.get("_open") and not item["IsCleared"]:
                return invoice, item
        for doc in self.documents():
            for item in doc["_items"]:
                if not item.get("_open") or item["IsCleared"]:
                    continue
                if self._same(doc, invoice) or item.get("_invoice") == invoice_id:
                    return doc, item
        return None

    @staticmethod
    def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return all(a[k] == b[k] for k in ("CompanyCode", "FiscalYear", "AccountingDocument"))

    def post_payment(self, data: dict[str, Any], user: str) -> dict[str, Any]:
        """Post an incoming payment (``DZ``) and clear the invoice's open item with it."""
        company = self._company(data, PAY)
        extension = self._customer_in(data, company, PAY)
        customer = extension["Customer"]
        currency = self._currency(data, company, PAY)
        amount = self._amount(data.get("AmountInTransactionCurrency"), currency,
                              "AmountInTransactionCurrency", PAY)
        if amount <= 0:
            raise bad_request(AMOUNT_INVALID, "The payment amount must be positive",
                              propertyref=f"{PAY}/AmountInTransactionCurrency")
        posting, document, year, period = self._dates(data, company, PAY)
        invoice = self._invoice_for(data, company, customer, year)
        found = self._open_item_of(invoice)
        reference = invoice["DocumentReferenceID"]
        if found is None:
            raise bad_request(NO_OPEN_ITEMS, f"No open items found: invoice "
                              f"{invoice['AccountingDocument']} ({reference}) is already cleared "
                              f"by {invoice['ClearingAccountingDocument']}",
                              propertyref=f"{PAY}/InvoiceReference")
        item_doc, open_item = found
        if open_item["TransactionCurrency"] != currency:
            raise bad_request(CURRENCY_MISMATCH, f"Payment currency {currency} differs from the "
                              f"open item's currency {open_item['TransactionCurrency']}",
                              propertyref=f"{PAY}/TransactionCurrency")
        open_amount = Decimal(open_item["AmountInTransactionCurrency"])
        if amount > open_amount:
            raise bad_request(CLEARING_DIFFERENCE, f"Difference too large for clearing: payment "
                              f"{money(amount, currency)} exceeds the open amount "
                              f"{money(open_amount, currency)} {currency}",
                              propertyref=f"{PAY}/AmountInTransactionCurrency")

        number = self._number(company.code, year, PAYMENT_RANGE)
        base = {"CompanyCode": company.code, "FiscalYear": str(year), "AccountingDocument": number}
        residual = open_amount - amount
        common = {"TransactionCurrency": currency, "TaxCode": "", "DocumentItemText": "",
                  "ClearingAccountingDocument": "", "ClearingDate": None}
        items = [
            {**base, **common, "AccountingDocumentItem": "001", "GLAccount": company.bank_account,
             "Customer": "", "DebitCreditCode": "S", "NetDueDate": None, "IsCleared": False,
             "AmountInTransactionCurrency": money(amount, currency)},
            {**base, **common, "AccountingDocumentItem": "002",
             "GLAccount": extension["ReconciliationAccount"], "Customer": customer,
             "DebitCreditCode": "H", "NetDueDate": None, "IsCleared": True,
             "ClearingAccountingDocument": number, "ClearingDate": posting,
             "AmountInTransactionCurrency": money(-open_amount, currency)},
        ]
        invoice_id = f"{invoice['CompanyCode']}|{invoice['FiscalYear']}|" \
                     f"{invoice['AccountingDocument']}"
        if residual:
            items.append({**base, **common, "AccountingDocumentItem": "003",
                          "GLAccount": extension["ReconciliationAccount"], "Customer": customer,
                          "DebitCreditCode": "S", "NetDueDate": open_item["NetDueDate"],
                          "IsCleared": False, "_open": True, "_invoice": invoice_id,
                          "_reference": reference, "_terms": open_item.get("_terms", ""),
                          "AmountInTransactionCurrency": money(residual, currency)})
        pay_ref = data.get("DocumentReferenceID") or ""
        doc = {**base, "AccountingDocumentType": "DZ", "DocumentDate": document,
               "PostingDate": posting, "FiscalPeriod": f"{period:03d}",
               "DocumentReferenceID": pay_ref,
               "AccountingDocumentHeaderText": data.get("AccountingDocumentHeaderText") or "",
               "Customer": customer, "AmountInTransactionCurrency": money(amount, currency),
               "TaxAmount": money(Decimal(0), currency), "TransactionCurrency": currency,
               "ClearingAccountingDocument": "" if residual else number,
               "ClearingDate": None if residual else posting, "IsCleared": not residual,
               "AccountingDocCreatedByUser": user,
               "AccountingDocumentCreationDate": self.backend.today_ms(), "_items": items}
        open_item.update(IsCleared=True, ClearingAccountingDocument=number, ClearingDate=posting)
        self._coll(DOCS).put(f"{item_doc['CompanyCode']}|{item_doc['FiscalYear']}|"
                             f"{item_doc['AccountingDocument']}", item_doc)
        if not residual:
            invoice.update(IsCleared=True, ClearingAccountingDocument=number,
                           ClearingDate=posting)
            self._coll(DOCS).put(invoice_id, invoice)
        self._coll(DOCS).put(f"{company.code}|{year}|{number}", doc)
        payment = {**base, "Customer": customer, "DocumentDate": document,
                   "PostingDate": posting, "AmountInTransactionCurrency": money(amount, currency),
                   "TransactionCurrency": currency, "DocumentReferenceID": pay_ref,
                   "AccountingDocumentHeaderText": doc["AccountingDocumentHeaderText"],
                   "InvoiceReference": reference,
                   "InvoiceAccountingDocument": invoice["AccountingDocument"],
                   "InvoiceFiscalYear": invoice["FiscalYear"],
                   "ClearedAmount": money(amount, currency),
                   "ResidualAmount": money(residual, currency),
                   "ResidualItem": "003" if residual else "", "IsFullyCleared": not residual}
        self._coll(PAYMENTS).put(f"{company.code}|{year}|{number}", payment)
        self._record_payment(invoice, payment, residual, currency)
        return payment

    def _record_payment(self, invoice: dict[str, Any], payment: dict[str, Any],
                        residual: Decimal, currency: str) -> None:
        reference = invoice["DocumentReferenceID"]
        if not reference:
            return
        facts = self.backend.ctx.facts
        data = {"CompanyCode": invoice["CompanyCode"], "FiscalYear": invoice["FiscalYear"],
                "AccountingDocument": invoice["AccountingDocument"],
                "clearing_document": payment["AccountingDocument"],
                "clearing_fiscal_year": payment["FiscalYear"],
                "amount": payment["AmountInTransactionCurrency"], "currency": currency,
                "residual": money(residual, currency),
                "ClearingDate": date_of(payment["PostingDate"]).isoformat(),
                "cleared_at": self.backend.clock.now()}
        facts.record("payment.applied", reference, **data)
        if not residual:
            facts.record("payment.cleared", reference, **data)
