"""OpenAPI description of what the legacy ERP serves: one SOAP endpoint, its WSDL, admin views.

OpenAPI cannot type XML bodies against an XSD, so the SOAP bodies are documented as
``text/xml`` strings and the contract proper is the WSDL served at ``GET /soap/LegacyErp?wsdl``.
"""

from __future__ import annotations

from typing import Any

from .wsdl import OPERATIONS, soap_action

TAG = "LegacyErp"
ADMIN_TAG = "admin"

_XML = {"type": "string", "contentMediaType": "text/xml"}


def _xml(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/xml": {"schema": _XML}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_FAULT_HELP = ("a SOAP 1.1 envelope with soap:Fault (faultcode soap:Client, soap:Server or "
               "soap:VersionMismatch; detail/erp:ErpError with Code and Message)")

SOAP_OPERATION: dict[str, Any] = {
    "tags": [TAG],
    "operationId": "legacyErpSoap",
    "summary": "SOAP 1.1 document/literal endpoint of every LegacyErp operation",
    "description": (
        "Operations: " + ", ".join(OPERATIONS) + ". The body is a SOAP 1.1 envelope whose "
        "soap:Body holds one wrapper element of namespace urn:o2c:legacy-erp:v1 (see the "
        "WSDL). Authenticate with a WS-Security UsernameToken in soap:Header (PasswordText or "
        "PasswordDigest) or with HTTP Basic. Not idempotent: posting the same "
        "ExternalReference twice books two documents. Outside the batch window postings may "
        "be refused (BATCH_WINDOW_CLOSED) or queued (Status QUEUED)."),
    "parameters": [{
        "name": "SOAPAction", "in": "header", "required": True,
        "description": "the operation's soapAction URI from the WSDL (quoted, as zeep sends "
                       "it), or \"\" to dispatch on the body element",
        "schema": {"type": "string",
                   "enum": [f'"{soap_action(op)}"' for op in OPERATIONS] + ['""']},
    }],
    "requestBody": {"required": True, "content": {"text/xml": {"schema": _XML}}},
    "responses": {
        "200": _xml("the operation's response envelope (e.g. erp:PostInvoiceResponse)"),
        "400": _xml("the body is not XML or not a SOAP 1.1 envelope: " + _FAULT_HELP
                    + ", Code MALFORMED_XML"),
        "429": {**_xml("rate limited: " + _FAULT_HELP + ", Code RATE_LIMIT_EXCEEDED"),
                "headers": {"Retry-After": {"schema": {"type": "integer"},
                                            "description": "seconds to wait"}}},
        "500": _xml("every business, validation and authentication error (SOAP 1.1 puts "
                    "faults on HTTP 500): " + _FAULT_HELP),
        "503": _xml("system unavailable: " + _FAULT_HELP + ", Code SYSTEM_UNAVAILABLE"),
        "504": _xml("the ERP did not answer in time: " + _FAULT_HELP
                    + ", Code GATEWAY_TIMEOUT"),
    },
    "security": [{"basicAuth": []}, {}],
}

_WSDL_GET: dict[str, Any] = {
    "tags": [TAG],
    "summary": "The service's WSDL 1.1 (XSD inline); soap:address is this server's URL",
    "security": [],
    "responses": {"200": _xml("WSDL document")},
}

_DOCUMENT = {
    "type": "object",
    "required": ["DocumentNumber", "CompanyCode", "CustomerNumber", "ExternalReference",
                 "GrossAmount", "OpenAmount", "Currency", "Status", "posted_at"],
    "properties": {
        "DocumentNumber": {"type": "string"}, "FiscalYear": {"type": "integer"},
        "CompanyCode": {"type": "string"}, "CustomerNumber": {"type": "string"},
        "ExternalReference": {"type": "string"}, "InvoiceDate": {"type": "string"},
        "DueDate": {"type": "string"}, "PostingDate": {"type": "string"},
        "Currency": {"type": "string"}, "NetAmount": {"type": "string"},
        "TaxAmount": {"type": "string"}, "GrossAmount": {"type": "string"},
        "OpenAmount": {"type": "string"},
        "Status": {"enum": ["OPEN", "PARTIALLY_CLEARED", "CLEARED"]},
        "Lines": {"type": "array", "items": {"type": "object"}},
        "QueueTicket": {"type": ["string", "null"]},
        "posted_at": {"type": "number", "description": "simulator clock, epoch seconds"},
        "clearings": {"type": "array", "items": {"type": "string"}},
    },
}

_DOCUMENTS_LIST = {
    "type": "object",
    "required": ["data", "duplicates", "clearings"],
    "properties": {
        "data": {"type": "array", "items": _DOCUMENT},
        "duplicates": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}},
            "description": "ExternalReference → company:document of every reference booked "
                           "more than once"},
        "clearings": {"type": "array", "items": {"type": "object"}},
    },
}

_QUEUE_LIST = {
    "type": "object",
    "required": ["data", "window_open"],
    "properties": {
        "window_open": {"type": "boolean"},
        "data": {"type": "array", "items": {
            "type": "object",
            "required": ["QueueTicket", "kind", "Status", "queued_at"],
            "properties": {
                "QueueTicket": {"type": "string"}, "kind": {"enum": ["invoice", "payment"]},
                "Status": {"enum": ["QUEUED", "BOOKED", "FAILED"]},
                "request": {"type": "object"}, "queued_at": {"type": "number"},
                "booked_at": {"type": ["number", "null"]},
                "result": {"type": ["object", "null"]}, "error": {"type": ["object", "null"]},
            }}},
    },
}


def _q(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
            "description": description}


def extra_paths() -> dict[str, Any]:
    """Path items of the routes served outside the kit pipeline."""
    return {
        "/soap/LegacyErp": {"get": {
            **_WSDL_GET, "operationId": "legacyErpWsdl",
            "parameters": [{"name": "wsdl", "in": "query", "required": False,
                            "allowEmptyValue": True, "schema": {"type": "string"},
                            "description": "conventionally present (?wsdl); ignored"}]}},
        "/soap/LegacyErp.wsdl": {"get": {**_WSDL_GET, "operationId": "legacyErpWsdlFile"}},
        "/_sim/legacy/documents": {"get": {
            "tags": [ADMIN_TAG], "security": [],
            "summary": "Every booked AR document, duplicates (same ExternalReference) included",
            "parameters": [_q("company_code", "only this company code"),
                           _q("external_reference", "only this ExternalReference")],
            "responses": {"200": _json("documents, duplicate references, clearing documents",
                                       _DOCUMENTS_LIST)}}},
        "/_sim/legacy/queue": {"get": {
            "tags": [ADMIN_TAG], "security": [],
            "summary": "Postings queued outside the batch window and what became of them",
            "responses": {"200": _json("queue entries", _QUEUE_LIST)}}},
    }


def components() -> dict[str, Any]:
    return {"securitySchemes": {"basicAuth": {
        "type": "http", "scheme": "basic",
        "description": "alternative to the WS-Security UsernameToken in the SOAP header"}}}
