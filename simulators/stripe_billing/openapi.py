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


def _without_null(schema: Any) -> Any:
    """A form or query value is never JSON null (an empty string unsets a field): the params
    models' ``X | None`` means "may be left out", so the wire schema drops the null branch."""
    if isinstance(schema, list):
        return [_without_null(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _without_null(v) for k, v in schema.items()
           if k != "title" and not (k == "default" and v is None)}
    if "anyOf" in out:
        branches = [b for b in out["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            del out["anyOf"]
            out = {**branches[0], **out}
        else:
            out["anyOf"] = branches
    return out


def _is_scalar_array(prop: dict[str, Any]) -> bool:
    items = prop.get("items", {})
    return prop.get("type") == "array" and "$ref" not in items and items.get("type") != "object"


def _array_of(prop: dict[str, Any]) -> dict[str, Any]:
    """The array branch of a ``name[]`` param (which also takes a lone value)."""
    return next((b for b in prop.get("anyOf", []) if b.get("type") == "array"), prop)


def _wire_props(schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Top-level params as they travel: an array of scalars is sent the way Stripe takes it,
    ``expand[]=a&expand[]=b`` (a bare repeated ``expand=a`` is "Invalid array" at Stripe), so
    it is documented under the name ``expand[]``, style form, exploded; a single value is a
    one-element list there, so the schema takes one value too."""
    props: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        nullable = {"type": "null"} in prop.get("anyOf", [])
        prop = _without_null(prop)
        if not nullable and prop.get("type") == "string" and "minLength" not in prop:
            prop = {**prop, "minLength": 1}  # "" would unset it: "cannot be unset"
        if name in required and prop.get("type") == "object":
            prop = {**prop, "minProperties": 1}  # an empty hash is not sent at all
        if prop == {"type": "null"}:  # declared only to be refused (not a param here)
            continue
        if _is_scalar_array(prop):
            # one `name[]=v` is the list [v] on the wire: a lone value is that list
            props[f"{name}[]"] = {"anyOf": [prop, prop.get("items", {})]} \
                if prop.get("minItems", 0) <= 1 else prop
            if name in required:
                required = (required - {name}) | {f"{name}[]"}
        else:
            props[name] = prop
    return props, required


def _expandable(returns: str) -> list[str]:
    """The paths ``expand[]`` takes for a response: the properties that hold an id or the
    object itself (any other path is "This property cannot be expanded"), under ``data.``
    for a list."""
    objects = _objects()
    name, prefix = (returns[:-4], "data.") if returns.endswith("List") else (returns, "")
    props = objects.get(name, {}).get("properties", {})
    return [prefix + key for key, prop in props.items()
            if any("$ref" in branch for branch in prop.get("anyOf", []))]


def _expand_schema(returns: str) -> dict[str, Any]:
    paths = _expandable(returns)
    if not paths:
        return {"type": "array", "maxItems": 0, "items": _STR}
    return {"type": "array", "items": {"type": "string", "enum": paths}}


# Refusals of schema-valid requests that depend on the object's state, as Stripe words them
STATE_REFUSALS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("DELETE", "/v1/invoices/{id}"): (
        ("You can only delete draft invoices", "only a draft invoice can be deleted"),),
    ("DELETE", "/v1/products/{id}"): (
        ("cannot be deleted because it has one or more user-created prices",
         "a product with prices cannot be deleted"),),
    ("DELETE", "/v1/subscriptions/{id}"): (
        ("A canceled subscription can only update", "a subscription is canceled once"),),
}


def operation(op: Operation) -> dict[str, Any]:
    """The OpenAPI operation object of one Stripe operation."""
    schema = _params_schema(op.params)
    props, required = _wire_props(schema)
    if "expand[]" in props:
        props["expand[]"] = _expand_schema(op.returns)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "maxLength": 5000}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    out: dict[str, Any] = {
        "tags": [op.tag],
        "summary": op.summary,
        "operationId": _op_id(op.method, op.path),
    }
    if op.method in ("GET", "DELETE"):
        for name, prop in props.items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": prop}
            if name.endswith("[]"):
                param["style"] = "form"
                param["explode"] = True
            elif _is_nested(prop):
                param["style"] = "deepObject"
                param["explode"] = True
            parameters.append(param)
    else:
        body_schema: dict[str, Any] = {
            **{k: v for k, v in schema.items() if k not in ("$defs", "title", "required")},
            "properties": props}
        indexed = {f"^{re.escape(name[:-2])}\\[\\d+\\]$": _array_of(prop).get("items", {})
                   for name, prop in props.items()
                   if name.endswith("[]") and _array_of(prop).get("maxItems") != 0}
        # a required list may come indexed instead: `name[]=v` or `name[0]=v`
        by_index = {name: pattern for pattern in indexed for name in required
                    if name.endswith("[]") and pattern == f"^{re.escape(name[:-2])}\\[\\d+\\]$"}
        if required - set(by_index):
            body_schema["required"] = sorted(required - set(by_index))
        if by_index:
            body_schema["allOf"] = [{"anyOf": [
                {"required": [name]},
                {"not": {"propertyNames": {"not": {"pattern": pattern}}}}]}
                for name, pattern in sorted(by_index.items())]
        if indexed:  # the SDKs send the indexed form, expand[0]=a, which Stripe takes too
            body_schema["patternProperties"] = indexed
        encoding = {name: ({"style": "form", "explode": True} if name.endswith("[]")
                           else {"style": "deepObject", "explode": True})
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
    refusals = STATE_REFUSALS.get((op.method, op.path))
    if refusals:  # schema-valid requests the object's state refuses (harness.fuzz reads them)
        responses["400"]["x-o2c-valid-input-rejections"] = [
            {"match": match, "why": why} for match, why in refusals]
    if op.idempotent:
        responses["409"] = _json(ERROR, "Another request with this Idempotency-Key is in "
                                        "flight.")
        out["parameters"] = [*out.get("parameters", []), {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "maxLength": 255}}]
    link = links(list(operations())).get((op.method, op.path))
    if link:
        responses["200"]["links"] = link
    out["responses"] = dict(sorted(responses.items()))
    if (op.method, op.path) == ("POST", "/v1/prices"):  # Stripe: one of the two is required
        out["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
            "anyOf"] = [{"required": ["product"]}, {"required": ["product_data"]}]
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
        schemas.update(_without_null(_params_schema(op.params).get("$defs", {})))
    schemas.update(_objects())
    return {
        "schemas": schemas,
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A secret key (sk_test_...) as the bearer token."},
            "basicAuth": {"type": "http", "scheme": "basic",
                          "description": "The secret key as username, empty password."},
        },
    }


def _op_id(method: str, path: str) -> str:
    return (method.lower() + _PATH_PARAM.sub(r"\1", path).replace("/", "_").replace("__", "_"))


# customer → subscription / invoice → credit note, product → price: a created object's id
# fills the next create's body (schemathesis' stateful phase follows these links)
_CREATES_FROM = {
    "/v1/customers": (("/v1/subscriptions", "customer"), ("/v1/invoices", "customer"),
                      ("/v1/invoiceitems", "customer")),
    "/v1/products": (("/v1/prices", "product"),),
    "/v1/invoices": (("/v1/credit_notes", "invoice"), ("/v1/invoiceitems", "invoice")),
    "/v1/subscriptions": (("/v1/invoices", "subscription"),),
}


def links(ops: list[Operation]) -> dict[tuple[str, str], dict[str, Any]]:
    """OpenAPI links of each create (POST to a collection): get → update → delete (and any
    action) of the created object by ``$response.body#/id``, and the creates it feeds."""
    by_path: dict[str, list[Operation]] = {}
    for op in ops:
        by_path.setdefault(op.path, []).append(op)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for op in ops:
        if op.method != "POST" or "{" in op.path:
            continue
        found: dict[str, Any] = {}
        for path, targets in by_path.items():
            if not path.startswith(op.path + "/{id}"):
                continue
            for target in targets:
                oid = _op_id(target.method, target.path)
                found[oid] = {"operationId": oid,
                              "parameters": {"path.id": "$response.body#/id"}}
        for path, param in _CREATES_FROM.get(op.path, ()):
            oid = _op_id("POST", path)
            found[f"{oid}_{param}"] = {"operationId": oid,
                                       "requestBody": {param: "$response.body#/id"}}
        if op.path == "/v1/subscriptions":  # the subscription's first invoice
            found["get_latest_invoice"] = {
                "operationId": _op_id("GET", "/v1/invoices/{id}"),
                "parameters": {"path.id": "$response.body#/latest_invoice"}}
        if found:
            out[(op.method, op.path)] = found
    return out


@cache
def _objects() -> dict[str, Any]:
    """Response objects (Stripe's resources, lists, the error body)."""
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
    return objects
