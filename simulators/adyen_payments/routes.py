"""Thin handlers: JSON body in, backend call, JSON out (with Adyen's ``pspReference`` header)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from simulators._kit import Call, json_response

from .errors import ManagementError
from .validation import parse_json_object


def _answer(result: dict[str, Any], status: int = 200) -> Response:
    headers = {"pspReference": result["pspReference"]} if "pspReference" in result else None
    return json_response(result, status, headers)


def payments(call: Call) -> Response:
    return _answer(call.backend.make_payment(parse_json_object(call.body)))


def payment_methods(call: Call) -> Response:
    return _answer(call.backend.payment_methods(parse_json_object(call.body)))


def _modification(kind: str):  # type: ignore[no-untyped-def]
    def handler(call: Call) -> Response:
        result = call.backend.request_modification(
            kind, call.path_params["paymentPspReference"], parse_json_object(call.body))
        return _answer(result, 201)

    handler.__name__ = f"{kind}_payment"
    return handler


capture = _modification("capture")
refund = _modification("refund")
cancel = _modification("cancel")


def cancel_by_reference(call: Call) -> Response:
    result = call.backend.request_modification("cancel", None, parse_json_object(call.body))
    return _answer(result, 201)


def _management_body(raw: bytes, required: bool) -> dict[str, Any]:
    if not raw.strip():
        if required:
            raise ManagementError(400, "The request body is missing")
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ManagementError(400, "The request body is not valid JSON") from None
    if data is None and not required:
        return {}
    if not isinstance(data, dict):
        raise ManagementError(400, "The request body must be a JSON object")
    return data


def set_up_webhook(call: Call) -> Response:
    body = _management_body(call.body, required=True)
    return json_response(call.backend.set_up_webhook(call.path_params["merchantId"], body))


def generate_hmac(call: Call) -> Response:
    _management_body(call.body, required=False)
    return json_response(call.backend.generate_hmac(call.path_params["merchantId"],
                                                    call.path_params["webhookId"]))
