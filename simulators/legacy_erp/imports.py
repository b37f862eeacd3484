"""``POST /_sim/import`` for the legacy ERP: history, checked against the WSDL's XSD.

Kinds, each a request of the SOAP operation as a JSON object (field names of the XSD):
``customers`` (CreateCustomer; ``CustomerNumber`` may be given, as the operation allows),
``documents`` (PostInvoice) and ``payments`` (ApplyPayment, by ``DocumentNumber`` or
``ExternalReference``). History bypasses the batch window (it was booked back then, at
``_at``) and is booked with the backend's own booking code, facts included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

from simulators._kit import UnknownImportKind

from .errors import client_fault, xml_text
from .routes import _E, to_dict, validate

if TYPE_CHECKING:
    from .models import LegacyErpBackend

KINDS = ("customers", "documents", "payments")
# XSD sequence order of each operation's fields
_ORDER = {
    "CreateCustomer": ("CustomerNumber", "Name", "Street", "City", "PostalCode", "Country",
                       "Currency", "CompanyCode", "TaxId"),
    "PostInvoice": ("CompanyCode", "CustomerNumber", "ExternalReference", "InvoiceDate",
                    "DueDate", "Currency", "NetAmount", "TaxAmount", "GrossAmount", "Lines"),
    "ApplyPayment": ("CompanyCode", "CustomerNumber", "ExternalReference", "DocumentNumber",
                     "Amount", "Currency", "PaymentDate", "PaymentReference"),
}
_LINE_ORDER = ("LineNumber", "Description", "Quantity", "NetAmount", "TaxAmount")


def _element(name: str, value: Any) -> etree._Element:
    try:
        return _E(name, value if isinstance(value, str) else str(value))
    except ValueError:  # NUL, control characters, lone surrogates: no XML can carry them
        raise client_fault("INVALID_REQUEST", f"{name} holds characters XML cannot carry: "
                           f"{xml_text(str(value))[:200]}", name) from None


def _request(operation: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as the operation's XML payload, validated and read back like the wire."""
    order = _ORDER[operation]
    unknown = sorted(set(record) - set(order))
    if unknown:
        raise client_fault("INVALID_REQUEST", f"Unknown element(s) {', '.join(unknown)} in "
                           f"{operation}", unknown[0])
    children = []
    for name in order:
        value = record.get(name)
        if value is None:
            continue
        if name == "Lines":
            if not isinstance(value, list):
                raise client_fault("INVALID_REQUEST", "Lines must be a list", "Lines")
            children.append(_E("Lines", *[
                _E("Line", *[_element(k, line[k]) for k in _LINE_ORDER
                             if isinstance(line, dict) and line.get(k) is not None])
                for line in value]))
        else:
            children.append(_element(name, value))
    payload = _E(operation, *children)
    validate(payload)
    return to_dict(payload)


def import_records(backend: LegacyErpBackend, kind: str,
                   records: list[dict[str, Any]]) -> dict[str, int]:
    if kind == "customers":
        return {"customers": backend.import_each(
            kind, records, lambda r: backend.create_customer(_request("CreateCustomer", r)))}
    if kind == "documents":
        def post(record: dict[str, Any]) -> None:
            req = _request("PostInvoice", record)
            backend.check_invoice(req)
            backend._book_invoice(req)

        return {"documents": backend.import_each(kind, records, post)}
    if kind == "payments":
        def pay(record: dict[str, Any]) -> None:
            req = _request("ApplyPayment", record)
            backend.check_payment(req)
            backend._book_payment(req)

        return {"payments": backend.import_each(kind, records, pay)}
    raise UnknownImportKind(kind, KINDS)
