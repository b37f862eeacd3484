"""OpenAPI for the Stripe subset: built from the same operation table and params models
that validate requests, so the document cannot drift from what is served.

Request bodies are ``application/x-www-form-urlencoded`` with ``deepObject`` encoding of
nested params (Stripe's bracket notation); GET/DELETE params are in the query string.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .routes import Operation, operations

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
_PATH_PARAM = re.compile(r"{([^}]+)}")
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_NINT = {"type": ["integer", "null"]}
_BOOL = {"type": "boolean"}
_META = {"type": "object", "additionalProperties": {"type": "string"}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


@cache
def _params_schema(model: type) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[no-any-return,attr-defined]


def _is_nested(prop: dict[str, Any]) -> bool:
    kinds = [prop.get("type")] + [p.get("type") for p in prop.get("anyOf", [])]
    return "$ref" in prop or any(k in ("object", "array") for k in kinds) or any(
        "$ref" in p for p in prop.get("anyOf", []))


def operation(op: Operation) -> dict[str, Any]:
    """The OpenAPI operation object of one Stripe operation."""
    schema = _params_schema(op.params)
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "maxLength": 5000}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    out: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": (op.method.lower() + _PATH_PARAM.sub(r"\1", op.path)
                        .replace("/", "_").replace("__", "_")),
    }
    if op.method in ("GET", "DELETE"):
        for name, prop in props.items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": {k: v for k, v in prop.items()
                                                if k != "title"}}
            if _is_nested(prop):
                param["style"] = "deepObject"
                param["explode"] = True
            parameters.append(param)
    else:
        body_schema = {k: v for k, v in schema.items() if k != "$defs"}
        encoding = {name: {"style": "deepObject", "explode": True}
                    for name, prop in props.items() if _is_nested(prop)}
        media: dict[str, Any] = {"schema": body_schema}
        if encoding:
            media["encoding"] = encoding
        out["requestBody"] = {"required": bool(required),
                              "content": {"application/x-www-form-urlencoded": media}}
    if parameters:
        out["parameters"] = parameters
    responses: dict[str, Any] = {
        "200": _json(_ref(op.returns), "Successful response."),
        "400": _json(ERROR, "Invalid request: bad or unknown parameters, or a state the "
                            "object does not allow."),
        "401": _json(ERROR, "No API key, or an invalid one."),
        "404": _json(ERROR, "A referenced object (or the route) does not exist."),
        "429": _json(ERROR, "Rate limited (injected fault); carries Retry-After."),
        "500": _json(ERROR, "Internal or injected error."),
        "503": _json(ERROR, "Injected outage."),
        "default": _json(ERROR, "Any other injected fault status."),
    }
    if op.idempotent:
        responses["409"] = _json(ERROR, "Another request with this Idempotency-Key is in "
                                        "flight.")
        out["parameters"] = [*out.get("parameters", []), {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 255}}]
    out["responses"] = dict(sorted(responses.items()))
    return out


def _obj(kind: str, props: dict[str, Any] | None = None, *, with_id: bool = True
         ) -> dict[str, Any]:
    required = ["object"] + (["id"] if with_id else [])
    properties: dict[str, Any] = {"object": {"type": "string", "const": kind}}
    if with_id:
        properties["id"] = _STR
    properties.update(props or {})
    return {"type": "object", "required": required, "properties": properties}


def _list(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["object", "data", "has_more", "url"],
            "properties": {"object": {"type": "string", "const": "list"},
                           "data": {"type": "array", "items": _ref(item)},
                           "has_more": _BOOL, "url": _STR}}


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for op in operations():
        schemas.update(_params_schema(op.params).get("$defs", {}))
    amounts = {k: _INT for k in ("amount_due", "amount_paid", "amount_remaining", "subtotal",
                                 "total", "post_payment_credit_notes_amount",
                                 "pre_payment_credit_notes_amount")}
    objects = {
        "Customer": _obj("customer", {"email": _NSTR, "name": _NSTR, "metadata": _META,
                                      "created": _INT, "test_clock": _NSTR,
                                      "invoice_prefix": _NSTR, "balance": _INT}),
        "Product": _obj("product", {"name": _STR, "active": _BOOL, "metadata": _META}),
        "Price": _obj("price", {"currency": _STR, "unit_amount": _NINT, "product": _STR,
                                "type": {"enum": ["one_time", "recurring"]}}),
        "TaxRate": _obj("tax_rate", {"percentage": {"type": "number"}, "inclusive": _BOOL}),
        "SubscriptionItem": _obj("subscription_item", {
            "current_period_start": _INT, "current_period_end": _INT,
            "price": _ref("Price"), "quantity": _NINT}),
        "Subscription": _obj("subscription", {
            "customer": {"anyOf": [_STR, _ref("Customer")]},
            "status": _STR, "items": _list("SubscriptionItem"),
            "latest_invoice": {"anyOf": [_NSTR, _ref("Invoice")]}}),
        "Meter": _obj("billing.meter", {"event_name": _STR, "status": _STR}),
        "MeterEvent": _obj("billing.meter_event", {"event_name": _STR, "identifier": _STR,
                                                   "payload": _META, "timestamp": _INT},
                           with_id=False),
        "InvoiceItem": _obj("invoiceitem", {"amount": _INT, "currency": _STR,
                                            "invoice": _NSTR}),
        "LineItem": _obj("line_item", {"amount": _INT, "currency": _STR, "invoice": _STR}),
        "Invoice": _obj("invoice", {
            "status": {"enum": ["draft", "open", "paid", "uncollectible", "void"]},
            "number": _NSTR, "customer": {"anyOf": [_STR, _ref("Customer")]},
            "lines": _list("LineItem"), **amounts}),
        "CreditNoteLineItem": _obj("credit_note_line_item", {"amount": _INT}),
        "CreditNote": _obj("credit_note", {
            "status": {"enum": ["issued", "void"]}, "total": _INT,
            "invoice": {"anyOf": [_STR, _ref("Invoice")]},
            "lines": _list("CreditNoteLineItem")}),
        "WebhookEndpoint": _obj("webhook_endpoint", {
            "url": _STR, "enabled_events": {"type": "array", "items": _STR},
            "secret": {"type": "string", "description": "only on create"}}),
        "Event": _obj("event", {"type": _STR, "created": _INT, "data": {
            "type": "object", "required": ["object"], "properties": {
                "object": {"type": "object"}}}}),
        "TestClock": _obj("test_helpers.test_clock", {
            "frozen_time": _INT, "status": {"enum": ["advancing", "internal_failure",
                                                     "ready"]}}),
        "Deleted": {"type": "object", "required": ["id", "object", "deleted"],
                    "properties": {"id": _STR, "object": _STR,
                                   "deleted": {"type": "boolean", "const": True}}},
        "ErrorResponse": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["type", "message"],
                "properties": {
                    "type": {"enum": ["api_error", "card_error", "idempotency_error",
                                      "invalid_request_error"]},
                    "code": _STR, "message": _STR, "param": _STR, "doc_url": _STR,
                    "request_log_url": _STR}}}},
    }
    objects["CustomerOrDeleted"] = {"anyOf": [_ref("Customer"), _ref("Deleted")]}
    for name in ("Customer", "Product", "Price", "TaxRate", "Subscription",
                 "SubscriptionItem", "Meter", "InvoiceItem", "Invoice", "LineItem",
                 "CreditNote", "CreditNoteLineItem", "WebhookEndpoint", "Event", "TestClock"):
        objects[f"{name}List"] = _list(name)
    schemas.update(objects)
    return {
        "schemas": schemas,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A secret key (sk_test_...) as the bearer token."},
            "basicAuth": {"type": "http", "scheme": "basic",
                          "description": "The secret key as username, empty password."},
        },
    }
