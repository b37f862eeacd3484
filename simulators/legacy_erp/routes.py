"""The wire: SOAP 1.1 envelopes in, backend calls, SOAP envelopes out (built with lxml).

One endpoint (``POST /soap/LegacyErp``) carries every operation; the operation is the body's
wrapper element (document/literal wrapped) and must agree with a non-empty ``SOAPAction``.
Each request body is validated against the WSDL's XSD before the backend sees it.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker
from starlette.requests import Request
from starlette.responses import Response

from simulators._kit import Call

from .errors import XML_MEDIA_TYPE, ErpFault, auth_failed, client_fault, malformed
from .models import LegacyErpBackend
from .wsdl import NS, OPERATIONS, SERVICE_PATH, SOAP_ENV, build_wsdl, request_schema, soap_action

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"

_SOAP = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV, "erp": NS})
_E = ElementMaker(namespace=NS, nsmap={"erp": NS})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_comments=True, load_dtd=False)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
_ACTIONS = {soap_action(op): op for op in OPERATIONS}

CUSTOMER_FIELDS = ("CustomerNumber", "Name", "Street", "City", "PostalCode", "Country",
                   "Currency", "CompanyCode", "TaxId", "CreatedAt")
OPEN_ITEM_FIELDS = ("DocumentNumber", "FiscalYear", "QueueTicket", "CompanyCode",
                    "CustomerNumber", "ExternalReference", "InvoiceDate", "PostingDate",
                    "DueDate", "Amount", "OpenAmount", "Currency", "Status")
POST_INVOICE_FIELDS = ("Status", "DocumentNumber", "FiscalYear", "PostingDate", "QueueTicket")
APPLY_PAYMENT_FIELDS = ("Status", "ClearingDocumentNumber", "DocumentNumber", "OpenAmount",
                        "QueueTicket")
_DATE_FIELDS = {"InvoiceDate", "DueDate", "PaymentDate"}
_BOOL_FIELDS = {"IncludeCleared"}


# -- request side ---------------------------------------------------------------------------
def parse_envelope(body: bytes) -> etree._Element:
    """The ``soap:Envelope`` of a request, or a fault for anything else."""
    if not body.strip():
        raise malformed("Empty request: a SOAP 1.1 envelope is expected")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise malformed(f"Request is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise malformed("DTDs are not allowed in SOAP messages")
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise ErpFault("VERSION_MISMATCH", "SOAP 1.2 is not supported; use SOAP 1.1",
                       faultcode="VersionMismatch")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise malformed("Root element is not a SOAP 1.1 Envelope")
    return root


def authenticate(request: Request, envelope: etree._Element, backend: LegacyErpBackend) -> str:
    """The user of a WS-Security UsernameToken (primary) or of HTTP Basic credentials."""
    header = envelope.find(f"{{{SOAP_ENV}}}Header")
    token = None if header is None else header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is not None:
        user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
        password = token.find(f"{{{WSSE}}}Password")
        if not user or password is None:
            raise auth_failed("UsernameToken needs Username and Password")
        digest = (password.get("Type") or "").endswith("#PasswordDigest")
        nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        if digest:
            ok = backend.check_digest(user, password.text or "", nonce, created)
        else:
            ok = backend.check_password(user, password.text or "")
        if not ok:
            raise auth_failed()
        if digest:  # a digest can be replayed verbatim: it must be fresh and used once
            backend.accept_digest_token(nonce, created, time.time())
        return user
    basic = request.headers.get("authorization", "")
    if basic[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(basic[6:].strip(), validate=True).decode(
                "utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise auth_failed("Malformed HTTP Basic credentials") from None
        if not backend.check_password(user, password):
            raise auth_failed()
        return user
    raise auth_failed("No credentials: send a WS-Security UsernameToken or HTTP Basic")


def operation_of(request: Request, envelope: etree._Element) -> tuple[str, etree._Element]:
    """The operation name and its wrapper element, checked against ``SOAPAction``."""
    action = request.headers.get("soapaction")
    if action is None:
        raise client_fault("UNKNOWN_OPERATION", "SOAPAction HTTP header is required")
    action = action.strip().strip('"')
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise client_fault("INVALID_REQUEST", "soap:Body must hold exactly one element")
    payload = children[0]
    qname = etree.QName(payload)
    if qname.namespace != NS or qname.localname not in OPERATIONS:
        raise client_fault("UNKNOWN_OPERATION", f"Unknown operation {qname.text}")
    if action and _ACTIONS.get(action) != qname.localname:
        raise client_fault("UNKNOWN_OPERATION", f"SOAPAction {action!r} does not match the "
                           f"body element {qname.localname}")
    return qname.localname, payload


def validate(payload: etree._Element) -> None:
    """Check the payload against the XSD; the first violation becomes the fault."""
    schema = request_schema()
    if schema.validate(payload):
        return
    error = schema.error_log[0]
    field = re.search(r"Element '(?:\{[^}]*\})?([^']+)'", error.message)
    name = field.group(1) if field else None
    if error.type_name == "SCHEMAV_CVC_MAXLENGTH_VALID":
        raise client_fault("FIELD_TOO_LONG", f"{name}: {error.message.split(': ', 1)[-1]}", name)
    raise client_fault("INVALID_REQUEST", f"Schema validation failed: {error.message}", name)


def to_dict(element: etree._Element) -> dict[str, Any]:
    """A validated wrapper element as a plain dict (``Lines`` becomes a list)."""
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "Lines":
            out[name] = [to_dict(line) for line in child if isinstance(line.tag, str)]
        elif len(child):
            out[name] = to_dict(child)
        elif name in _DATE_FIELDS:
            match = _DATE.match((child.text or "").strip())
            if match is None:
                raise client_fault("INVALID_REQUEST", f"{name}: dates are YYYY-MM-DD", name)
            out[name] = match.group(1)
        elif name in _BOOL_FIELDS:
            out[name] = (child.text or "").strip() in ("true", "1")
        else:
            out[name] = (child.text or "").strip()
    return out


# -- response side --------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _record(tag: str, data: dict[str, Any], fields: tuple[str, ...]) -> etree._Element:
    return _E(tag, *[_E(f, _text(data[f])) for f in fields if data.get(f) is not None])


def soap_response(payload: etree._Element) -> Response:
    envelope = _SOAP.Envelope(_SOAP.Body(payload))
    return Response(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"),
                    media_type=XML_MEDIA_TYPE)


# -- operations -----------------------------------------------------------------------------
def create_customer(backend: LegacyErpBackend, req: dict[str, Any]) -> etree._Element:
    customer = backend.create_customer(req)
    return _E.CreateCustomerResponse(_E.CustomerNumber(customer["CustomerNumber"]))


def get_customer(backend: LegacyErpBackend, req: dict[str, Any]) -> etree._Element:
    customer = backend.get_customer(req["CustomerNumber"])
    return _E.GetCustomerResponse(_record("Customer", customer, CUSTOMER_FIELDS))


def post_invoice(backend: LegacyErpBackend, req: dict[str, Any]) -> etree._Element:
    return _record("PostInvoiceResponse", backend.post_invoice(req), POST_INVOICE_FIELDS)


def apply_payment(backend: LegacyErpBackend, req: dict[str, Any]) -> etree._Element:
    return _record("ApplyPaymentResponse", backend.apply_payment(req), APPLY_PAYMENT_FIELDS)


def get_open_items(backend: LegacyErpBackend, req: dict[str, Any]) -> etree._Element:
    items = backend.open_items(req["CompanyCode"], req.get("CustomerNumber"),
                               req.get("ExternalReference"), bool(req.get("IncludeCleared")))
    return _E.GetOpenItemsResponse(*[_record("OpenItem", i, OPEN_ITEM_FIELDS) for i in items])


OPERATION_HANDLERS: dict[str, Callable[[LegacyErpBackend, dict[str, Any]], etree._Element]] = {
    "CreateCustomer": create_customer,
    "GetCustomer": get_customer,
    "PostInvoice": post_invoice,
    "ApplyPayment": apply_payment,
    "GetOpenItems": get_open_items,
}


def soap_endpoint(call: Call) -> Response:
    """``POST /soap/LegacyErp``: parse, authenticate, dispatch, validate, run, answer."""
    envelope = parse_envelope(call.body)
    authenticate(call.request, envelope, call.backend)
    operation, payload = operation_of(call.request, envelope)
    validate(payload)
    return soap_response(OPERATION_HANDLERS[operation](call.backend, to_dict(payload)))


# -- routes outside the pipeline (no auth, no faults) ---------------------------------------
def service_location(request: Request) -> str:
    """The endpoint URL as the caller sees this server (scheme honours TLS and proxies)."""
    base = str(request.base_url).rstrip("/")
    proto = request.headers.get("x-forwarded-proto")
    if proto in ("http", "https"):
        base = f"{proto}:{base.split(':', 1)[1]}"
    return base + SERVICE_PATH


def wsdl_response(request: Request) -> Response:
    return Response(build_wsdl(service_location(request)), media_type=XML_MEDIA_TYPE)
