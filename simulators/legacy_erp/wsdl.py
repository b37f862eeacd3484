"""The service contract: the XSD (inline in the WSDL's types) and the WSDL itself, built with lxml.

The XSD is the single source of truth for request shapes: the server validates every request
body against it (so a field longer than the old system's column is rejected by the schema, as
the old system did), and zeep builds its client from the same document.
"""

from __future__ import annotations

import threading

from lxml import etree
from lxml.builder import ElementMaker

NS = "urn:o2c:legacy-erp:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_HTTP = "http://schemas.xmlsoap.org/soap/http"
SERVICE = "LegacyErp"
SERVICE_PATH = "/soap/LegacyErp"

OPERATIONS = ("CreateCustomer", "GetCustomer", "PostInvoice", "ApplyPayment", "GetOpenItems")


def soap_action(operation: str) -> str:
    """The SOAPAction URI of an operation (as the WSDL binding declares it)."""
    return f"{NS}/{operation}"


X = ElementMaker(namespace=XSD_NS, nsmap={"xsd": XSD_NS, "erp": NS})


def _restricted(name: str, base: str, **facets: str) -> etree._Element:
    return X.simpleType(X.restriction(*[X(f, value=v) for f, v in facets.items()], base=base),
                        name=name)


def _el(name: str, type_: str, optional: bool = False, many: bool = False) -> etree._Element:
    attrs = {"name": name, "type": type_}
    if optional:
        attrs["minOccurs"] = "0"
    if many:
        attrs["maxOccurs"] = "unbounded"
    return X.element(**attrs)


def _complex(name: str, *elements: etree._Element) -> etree._Element:
    return X.complexType(X.sequence(*elements), name=name)


def _wrapper(name: str, *elements: etree._Element) -> etree._Element:
    return X.element(X.complexType(X.sequence(*elements)), name=name)


def build_schema() -> etree._Element:
    """The ``xsd:schema`` of the service (types, request/response wrappers, the fault detail)."""
    simple = [
        _restricted("CustomerNumber", "xsd:string", pattern="[A-Z0-9]{1,10}"),
        _restricted("CompanyCode", "xsd:string", pattern="[A-Z0-9]{4}"),
        _restricted("CurrencyCode", "xsd:string", pattern="[A-Z]{3}"),
        _restricted("CountryCode", "xsd:string", pattern="[A-Z]{2}"),
        _restricted("DocumentNumber", "xsd:string", pattern="[0-9]{10}"),
        _restricted("Text35", "xsd:string", minLength="1", maxLength="35"),
        _restricted("Text50", "xsd:string", minLength="1", maxLength="50"),
        _restricted("PostalCode", "xsd:string", minLength="1", maxLength="10"),
        _restricted("TaxId", "xsd:string", minLength="1", maxLength="20"),
        _restricted("Amount", "xsd:decimal", totalDigits="15", fractionDigits="2",
                    minInclusive="0"),
        _restricted("PositiveAmount", "xsd:decimal", totalDigits="15", fractionDigits="2",
                    minExclusive="0"),
        _restricted("Quantity", "xsd:decimal", totalDigits="13", fractionDigits="3",
                    minExclusive="0"),
        _restricted("LineNumber", "xsd:int", minInclusive="1", maxInclusive="999"),
        X.simpleType(X.restriction(
            *[X.enumeration(value=v) for v in ("OPEN", "PARTIALLY_CLEARED", "CLEARED", "QUEUED")],
            base="xsd:string"), name="ItemStatus"),
        X.simpleType(X.restriction(
            *[X.enumeration(value=v) for v in ("POSTED", "QUEUED")], base="xsd:string"),
            name="PostingStatus"),
        X.simpleType(X.restriction(
            *[X.enumeration(value=v) for v in ("CLEARED", "PARTIALLY_CLEARED", "QUEUED")],
            base="xsd:string"), name="PaymentStatus"),
    ]
    def customer_fields() -> list[etree._Element]:  # fresh elements: lxml nodes have one parent
        return [
        _el("Name", "erp:Text35"),
        _el("Street", "erp:Text35", optional=True),
        _el("City", "erp:Text35", optional=True),
        _el("PostalCode", "erp:PostalCode", optional=True),
        _el("Country", "erp:CountryCode"),
        _el("Currency", "erp:CurrencyCode"),
        _el("CompanyCode", "erp:CompanyCode"),
        _el("TaxId", "erp:TaxId", optional=True),
        ]
    complex_types = [
        _complex("Customer", _el("CustomerNumber", "erp:CustomerNumber"),
                 *customer_fields(),
                 _el("CreatedAt", "xsd:dateTime")),
        _complex("InvoiceLine",
                 _el("LineNumber", "erp:LineNumber"),
                 _el("Description", "erp:Text50"),
                 _el("Quantity", "erp:Quantity", optional=True),
                 _el("NetAmount", "erp:Amount"),
                 _el("TaxAmount", "erp:Amount", optional=True)),
        _complex("InvoiceLines", _el("Line", "erp:InvoiceLine", many=True)),
        _complex("OpenItem",
                 _el("DocumentNumber", "erp:DocumentNumber", optional=True),
                 _el("FiscalYear", "xsd:int", optional=True),
                 _el("QueueTicket", "xsd:string", optional=True),
                 _el("CompanyCode", "erp:CompanyCode"),
                 _el("CustomerNumber", "erp:CustomerNumber"),
                 _el("ExternalReference", "erp:Text35"),
                 _el("InvoiceDate", "xsd:date"),
                 _el("PostingDate", "xsd:date", optional=True),
                 _el("DueDate", "xsd:date"),
                 _el("Amount", "erp:Amount"),
                 _el("OpenAmount", "erp:Amount"),
                 _el("Currency", "erp:CurrencyCode"),
                 _el("Status", "erp:ItemStatus")),
        _complex("ErpErrorType",
                 _el("Code", "xsd:string"),
                 _el("Message", "xsd:string"),
                 _el("Field", "xsd:string", optional=True)),
    ]
    wrappers = [
        _wrapper("CreateCustomer", _el("CustomerNumber", "erp:CustomerNumber", optional=True),
                 *customer_fields()),
        _wrapper("CreateCustomerResponse", _el("CustomerNumber", "erp:CustomerNumber")),
        _wrapper("GetCustomer", _el("CustomerNumber", "erp:CustomerNumber")),
        _wrapper("GetCustomerResponse", _el("Customer", "erp:Customer")),
        _wrapper("PostInvoice",
                 _el("CompanyCode", "erp:CompanyCode"),
                 _el("CustomerNumber", "erp:CustomerNumber"),
                 _el("ExternalReference", "erp:Text35"),
                 _el("InvoiceDate", "xsd:date"),
                 _el("DueDate", "xsd:date"),
                 _el("Currency", "erp:CurrencyCode"),
                 _el("NetAmount", "erp:Amount"),
                 _el("TaxAmount", "erp:Amount"),
                 _el("GrossAmount", "erp:Amount"),
                 _el("Lines", "erp:InvoiceLines", optional=True)),
        _wrapper("PostInvoiceResponse",
                 _el("Status", "erp:PostingStatus"),
                 _el("DocumentNumber", "erp:DocumentNumber", optional=True),
                 _el("FiscalYear", "xsd:int", optional=True),
                 _el("PostingDate", "xsd:date", optional=True),
                 _el("QueueTicket", "xsd:string", optional=True)),
        _wrapper("ApplyPayment",
                 _el("CompanyCode", "erp:CompanyCode"),
                 _el("CustomerNumber", "erp:CustomerNumber"),
                 _el("ExternalReference", "erp:Text35", optional=True),
                 _el("DocumentNumber", "erp:DocumentNumber", optional=True),
                 _el("Amount", "erp:PositiveAmount"),
                 _el("Currency", "erp:CurrencyCode"),
                 _el("PaymentDate", "xsd:date"),
                 _el("PaymentReference", "erp:Text35")),
        _wrapper("ApplyPaymentResponse",
                 _el("Status", "erp:PaymentStatus"),
                 _el("ClearingDocumentNumber", "erp:DocumentNumber", optional=True),
                 _el("DocumentNumber", "erp:DocumentNumber", optional=True),
                 _el("OpenAmount", "erp:Amount", optional=True),
                 _el("QueueTicket", "xsd:string", optional=True)),
        _wrapper("GetOpenItems",
                 _el("CompanyCode", "erp:CompanyCode"),
                 _el("CustomerNumber", "erp:CustomerNumber", optional=True),
                 _el("ExternalReference", "erp:Text35", optional=True),
                 _el("IncludeCleared", "xsd:boolean", optional=True)),
        _wrapper("GetOpenItemsResponse", _el("OpenItem", "erp:OpenItem", optional=True,
                                             many=True)),
        X.element(name="ErpError", type="erp:ErpErrorType"),
    ]
    return X.schema(*simple, *complex_types, *wrappers, targetNamespace=NS,
                    elementFormDefault="qualified")


_local = threading.local()


def request_schema() -> etree.XMLSchema:
    """The compiled XSD the server validates request bodies with (one per thread: a validator
    keeps its last error log, so simulators served in several threads must not share one)."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        schema = _local.schema = etree.XMLSchema(build_schema())
    return schema


def build_wsdl(location: str) -> bytes:
    """The WSDL 1.1 document; ``location`` is the endpoint URL zeep will call."""
    W = ElementMaker(namespace=WSDL_NS, nsmap={
        "wsdl": WSDL_NS, "soap": WSDL_SOAP_NS, "xsd": XSD_NS, "erp": NS})
    S = ElementMaker(namespace=WSDL_SOAP_NS)
    messages = [W.message(W.part(name="fault", element="erp:ErpError"), name="ErpFault")]
    port_ops = []
    binding_ops = []
    for op in OPERATIONS:
        messages.append(W.message(W.part(name="parameters", element=f"erp:{op}"),
                                  name=f"{op}Request"))
        messages.append(W.message(W.part(name="parameters", element=f"erp:{op}Response"),
                                  name=f"{op}Response"))
        port_ops.append(W.operation(
            W.input(message=f"erp:{op}Request"),
            W.output(message=f"erp:{op}Response"),
            W.fault(message="erp:ErpFault", name="ErpFault"),
            name=op))
        binding_ops.append(W.operation(
            S.operation(soapAction=soap_action(op), style="document"),
            W.input(S.body(use="literal")),
            W.output(S.body(use="literal")),
            W.fault(S.fault(name="ErpFault", use="literal"), name="ErpFault"),
            name=op))
    definitions = W.definitions(
        W.documentation("Legacy on-premise ERP (FI-AR): customers, invoice postings, payment "
                        "clearing and open items. SOAP 1.1, document/literal. Authenticate "
                        "with a WS-Security UsernameToken (or HTTP Basic)."),
        W.types(build_schema()),
        *messages,
        W.portType(*port_ops, name="LegacyErpPortType"),
        W.binding(S.binding(style="document", transport=SOAP_HTTP), *binding_ops,
                  name="LegacyErpBinding", type="erp:LegacyErpPortType"),
        W.service(W.port(S.address(location=location), name="LegacyErpPort",
                         binding="erp:LegacyErpBinding"), name=SERVICE),
        name=SERVICE, targetNamespace=NS)
    return bytes(etree.tostring(definitions, xml_declaration=True, encoding="UTF-8",
                                pretty_print=True))
