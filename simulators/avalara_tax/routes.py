"""Thin handlers: AvaTax wire format ↔ :class:`AvaTaxBackend` calls."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

from simulators._kit import Call
from simulators._kit import json_response as _json_response

from .calculation import DOC_TYPES
from .errors import AvaTaxError, invalid_value, model_required

# AvaTax's escapes for characters that cannot appear in a URL path segment
_CODE_ESCAPES = {"_-ava2f-_": "/", "_-ava2b-_": "+", "_-ava3f-_": "?", "_-ava25-_": "%",
                 "_-ava23-_": "#"}
ADDRESS_FIELDS = ("line1", "line2", "line3", "city", "region", "postalCode", "country")


def json_response(call: Call, data: Any, status: int = 200) -> Response:
    """A JSON response with AvaTax's ``X-Correlation-Id`` (the caller's, when it sent one)."""
    correlation = call.header("x-correlation-id") or str(uuid.uuid4())
    return _json_response(data, status, headers={"X-Correlation-Id": correlation})


def _json_body(call: Call, model: str) -> Any:
    if not call.body.strip():
        raise model_required(model)
    try:
        return orjson.loads(call.body)
    except orjson.JSONDecodeError:
        raise AvaTaxError("JsonFormatError", "The request body is not valid JSON.",
                          f"Your request must include a JSON body of type '{model}'.",
                          target="HttpRequest") from None


def _code(call: Call) -> str:
    code = call.path_params["transactionCode"]
    for escape, char in _CODE_ESCAPES.items():
        code = code.replace(escape, char)
    return code


def _document_type(call: Call) -> str | None:
    value = call.query.get("documentType")
    if value is None or value == "":
        return None
    if value not in DOC_TYPES:
        raise AvaTaxError("InvalidEnumValue", f"'{value}' is not a valid DocumentType.",
                          f"Allowed values: {', '.join(sorted(DOC_TYPES))}.",
                          refers_to="documentType")
    return value


def _includes(call: Call) -> set[str]:
    raw = call.query.get("$include") or call.query.get("include") or ""
    return {part.strip().lower() for part in raw.split(",") if part.strip()}


def shape(doc: dict[str, Any], includes: set[str]) -> dict[str, Any]:
    """Honour ``SummaryOnly`` (no lines) and ``LinesOnly`` (lines without details)."""
    if "summaryonly" in includes:
        return {k: v for k, v in doc.items() if k != "lines"}
    if "linesonly" in includes:
        return {**doc, "lines": [{k: v for k, v in line.items() if k != "details"}
                                 for line in doc.get("lines", [])],
                "summary": []}
    return doc


def ping(call: Call) -> Response:
    account = call.simulator.try_authenticate(call.request)
    auth_type = {"basic": "AccountIdLicenseKey", "bearer": "OpenIdBearerToken"}
    return json_response(call, {
        "version": "25.6.1",
        "authenticated": account is not None,
        "authenticationType": auth_type[account[0]] if account else "None",
        "authenticatedUserName": f"account-{account[1]}" if account else None,
        "authenticatedUserId": int(account[1]) % 1_000_000 if account else None,
        "authenticatedAccountId": int(account[1]) if account else None,
        "crmid": None,
    })


def create_transaction(call: Call) -> Response:
    doc = call.backend.create_transaction(_json_body(call, "CreateTransactionModel"))
    return json_response(call, shape(doc, _includes(call)), 201)


def create_or_adjust(call: Call) -> Response:
    doc = call.backend.create_or_adjust(_json_body(call, "CreateOrAdjustTransactionModel"))
    return json_response(call, shape(doc, _includes(call)), 201)


def get_transaction(call: Call) -> Response:
    doc = call.backend.transaction(call.path_params["companyCode"], _code(call),
                                   _document_type(call))
    return json_response(call, shape(doc, _includes(call)))


def commit_transaction(call: Call) -> Response:
    doc = call.backend.commit(call.path_params["companyCode"], _code(call),
                              _document_type(call), _json_body(call, "CommitTransactionModel"))
    return json_response(call, shape(doc, _includes(call)))


def void_transaction(call: Call) -> Response:
    doc = call.backend.void(call.path_params["companyCode"], _code(call), _document_type(call),
                            _json_body(call, "VoidTransactionModel"))
    return json_response(call, shape(doc, _includes(call)))


def _int_query(call: Call, name: str, default: int, high: int) -> int:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= high:
        raise AvaTaxError("InvalidQueryValue", f"The value of '{name}' is not valid.",
                          f"'{name}' must be an integer between 0 and {high}.", refers_to=name)
    return value


def list_transactions(call: Call) -> Response:
    top = _int_query(call, "$top", 1000, 1000) or 1000
    skip = _int_query(call, "$skip", 0, 10_000_000)
    total, docs = call.backend.list_transactions(call.path_params["companyCode"],
                                                 call.query.get("$filter"), top, skip)
    includes = _includes(call)
    wanted = {"lines", "details", "summary", "addresses", "linesonly"} & includes
    if not wanted:  # a listing carries document headers unless asked for more
        docs = [{k: v for k, v in d.items() if k not in ("lines", "addresses", "summary")}
                for d in docs]
    else:
        docs = [shape(d, includes) for d in docs]
    body: dict[str, Any] = {"@recordsetCount": total, "value": docs}
    if skip + len(docs) < total:
        body["@nextLink"] = (f"/api/v2/companies/{call.path_params['companyCode']}/transactions"
                             f"?$top={top}&$skip={skip + top}")
    return json_response(call, body)


def list_companies(call: Call) -> Response:
    companies = list(call.backend.ctx.store.collection("companies").values())
    return json_response(call, {"@recordsetCount": len(companies), "value": companies})


def resolve_address_get(call: Call) -> Response:
    address = {k: call.query.get(k) for k in ADDRESS_FIELDS if call.query.get(k)}
    return json_response(call, call.backend.resolve_address(address, call.query.get("textCase")))


def resolve_address_post(call: Call) -> Response:
    body = _json_body(call, "AddressValidationInfo")
    if not isinstance(body, dict):
        raise model_required("AddressValidationInfo")
    for field in ADDRESS_FIELDS:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise invalid_value(field, f"The value of '{field}' must be a string.")
    address = {k: body.get(k) for k in ADDRESS_FIELDS if isinstance(body.get(k), str)}
    text_case = body.get("textCase")
    return json_response(call, call.backend.resolve_address(
        address, None if text_case is None else str(text_case)))
