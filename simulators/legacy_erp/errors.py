"""SOAP 1.1 faults of the legacy ERP, rendered as the old system does.

Every error is a ``soap:Fault`` with ``faultcode`` ``soap:Client`` (the request is wrong: do
not retry it unchanged) or ``soap:Server`` (the system could not process it: a retry may
succeed) and a ``detail/erp:ErpError`` carrying a stable ``Code``. SOAP 1.1 (and WS-I BP
R1126) put faults on HTTP 500; the exceptions are an unparseable request (400, WS-I R1113),
an unknown path or method (404/405), rate limiting (429 with ``Retry-After``) and injected
outages/timeouts (503/504), which all still carry a fault body.

Codes: ``AUTH``, ``MALFORMED_XML``,
``VERSION_MISMATCH`` (faultcode ``soap:VersionMismatch``), ``UNKNOWN_OPERATION``,
``INVALID_REQUEST``, ``REQUEST_REJECTED``,
``FIELD_TOO_LONG``, ``DUPLICATE_CUSTOMER``, ``CustomerNotFound``, ``COMPANY_CODE_UNKNOWN``,
``CUSTOMER_NOT_IN_COMPANY_CODE``, ``AMOUNT_MISMATCH``, ``DOCUMENT_NOT_FOUND``,
``AMBIGUOUS_REFERENCE``, ``ITEM_ALREADY_CLEARED``, ``OVERPAYMENT``, ``CURRENCY_MISMATCH``,
``BATCH_WINDOW_CLOSED``, ``SYSTEM_UNAVAILABLE``, ``SYSTEM_ERROR``, ``GATEWAY_TIMEOUT``,
``RATE_LIMIT_EXCEEDED``, ``NO_SUCH_ENDPOINT``, ``METHOD_NOT_ALLOWED``, ``INTERNAL_ERROR``.
"""

from __future__ import annotations

import re
from typing import Literal

from lxml import etree
from lxml.builder import ElementMaker
from starlette.responses import Response

from simulators._kit import SimulatorError

from .wsdl import NS, SOAP_ENV

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
FaultCode = Literal["Client", "Server", "VersionMismatch"]

# faultcode/faultstring/detail are unqualified (SOAP 1.1 §4.4): no default namespace anywhere
_SOAP = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV, "erp": NS})
_ERP = ElementMaker(namespace=NS, nsmap={"erp": NS})
_PLAIN = ElementMaker()


# characters XML 1.0 cannot carry (controls, NUL, lone surrogates, U+FFFE/FFFF)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` as XML can carry it: each character XML 1.0 forbids as its ``\\uXXXX``
    escape (a fault names what the caller sent, and that may be anything)."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ErpFault(SimulatorError):
    """A SOAP fault with an ``ErpError`` detail."""

    def __init__(self, code: str, message: str, *, faultcode: FaultCode = "Client",
                 status: int = 500, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.faultcode = faultcode
        self.status = status
        self.field = field
        self.headers = headers or {}

    def envelope(self) -> etree._Element:
        message = xml_text(self.message)
        error = _ERP.ErpError(_ERP.Code(self.code), _ERP.Message(message))
        if self.field:
            error.append(_ERP.Field(xml_text(self.field)))
        fault = _SOAP.Fault(
            _PLAIN.faultcode(f"soap:{self.faultcode}"),
            _PLAIN.faultstring(message),
            _PLAIN.detail(error),
        )
        return _SOAP.Envelope(_SOAP.Body(fault))

    def to_response(self) -> Response:
        body = etree.tostring(self.envelope(), xml_declaration=True, encoding="UTF-8")
        return Response(body, status_code=self.status, headers=self.headers,
                        media_type=XML_MEDIA_TYPE)


def client_fault(code: str, message: str, field: str | None = None) -> ErpFault:
    """The request is wrong (HTTP 500, ``soap:Client``)."""
    return ErpFault(code, message, faultcode="Client", field=field)


def server_fault(code: str, message: str, status: int = 500,
                 headers: dict[str, str] | None = None) -> ErpFault:
    """The system could not process the request (``soap:Server``); retrying may succeed."""
    return ErpFault(code, message, faultcode="Server", status=status, headers=headers)


def malformed(message: str) -> ErpFault:
    """Not XML or not a SOAP 1.1 envelope: HTTP 400 (WS-I BP R1113) with a Client fault."""
    return ErpFault("MALFORMED_XML", message, faultcode="Client", status=400)


def auth_failed(message: str = "Authentication failed: invalid user or password") -> ErpFault:
    return client_fault("AUTH", message)


def customer_not_found(number: str) -> ErpFault:
    return client_fault("CustomerNotFound", f"Customer {number} does not exist", "CustomerNumber")
