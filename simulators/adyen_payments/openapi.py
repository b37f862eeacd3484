"""OpenAPI operations and component schemas of the served subset, trimmed from Adyen's
CheckoutService v71/v72 and ManagementService v3 specifications to what is implemented.

Request schemas stay open (``additionalProperties`` allowed) because the simulator ignores
fields it does not model, as long as the ones it reads are well-typed.
"""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"
CHECKOUT_TAG = "Checkout"
MANAGEMENT_TAG = "Management"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

AMOUNT = {
    "type": "object", "required": ["currency", "value"],
    "properties": {"currency": {"type": "string", "minLength": 3, "maxLength": 3},
                   "value": {"type": "integer", "format": "int64"}},
}
SERVICE_ERROR = {
    "type": "object", "required": ["status", "errorCode", "message", "errorType"],
    "properties": {"status": _INT, "errorCode": _STR, "message": _STR, "errorType": _STR,
                   "pspReference": _STR, "additionalData": _STR_MAP},
}
REST_SERVICE_ERROR = {
    "type": "object", "required": ["type", "errorCode", "title", "detail", "status"],
    "properties": {"type": _STR, "errorCode": _STR, "title": _STR, "detail": _STR,
                   "status": _INT, "requestId": _STR},
}
CHECKOUT_PAYMENT_METHOD = {
    "type": "object", "description": "Card (scheme) or SEPA Direct Debit details",
    "properties": {
        "type": {"type": "string", "description": "scheme | sepadirectdebit"},
        "number": _STR, "expiryMonth": _STR, "expiryYear": _STR, "cvc": _STR,
        "holderName": _STR, "encryptedCardNumber": _STR, "encryptedExpiryMonth": _STR,
        "encryptedExpiryYear": _STR, "encryptedSecurityCode": _STR,
        "iban": _STR, "ownerName": _STR,
    },
}
PAYMENT_REQUEST = {
    "type": "object",
    "required": ["amount", "merchantAccount", "paymentMethod", "reference", "returnUrl"],
    "properties": {
        "amount": _ref("Amount"), "merchantAccount": _STR,
        "paymentMethod": _ref("CheckoutPaymentMethod"),
        "reference": {"type": "string", "maxLength": 80}, "returnUrl": _STR,
        "shopperReference": _STR, "metadata": _STR_MAP, "countryCode": _STR,
        "captureDelayHours": {"type": "integer", "minimum": 0},
        "additionalData": {"type": "object",
                           "description": "RequestedTestAcquirerResponseCode selects a test "
                                          "outcome"},
    },
}
PAYMENT_RESPONSE = {
    "type": "object",
    "properties": {
        "additionalData": _STR_MAP, "amount": _ref("Amount"), "merchantReference": _STR,
        "paymentMethod": {"type": "object", "properties": {"brand": _STR, "type": _STR}},
        "pspReference": {"type": "string", "minLength": 16, "maxLength": 16},
        "refusalReason": _STR, "refusalReasonCode": _STR,
        "resultCode": {"type": "string", "enum": ["Authorised", "Cancelled", "Error",
                                                  "Pending", "Received", "Refused"]},
    },
}
PAYMENT_METHODS_REQUEST = {
    "type": "object", "required": ["merchantAccount"],
    "properties": {"merchantAccount": _STR, "countryCode": _STR, "amount": _ref("Amount"),
                   "shopperLocale": _STR, "channel": _STR},
}
PAYMENT_METHODS_RESPONSE = {
    "type": "object",
    "properties": {"paymentMethods": {"type": "array", "items": {
        "type": "object", "required": ["type"],
        "properties": {"type": _STR, "name": _STR, "brands": {"type": "array",
                                                                "items": _STR}}}}},
}


def _modification_schemas(name: str, with_amount: bool, standalone: bool = False
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    req_props: dict[str, Any] = {"merchantAccount": _STR, "reference": _STR}
    required = ["merchantAccount"]
    resp_props: dict[str, Any] = {"merchantAccount": _STR, "pspReference": _STR,
                                  "reference": _STR,
                                  "status": {"type": "string", "enum": ["received"]}}
    resp_required = ["merchantAccount", "pspReference", "status"]
    if with_amount:
        req_props["amount"] = _ref("Amount")
        required.append("amount")
        resp_props["amount"] = _ref("Amount")
        resp_required.append("amount")
    if standalone:
        req_props["paymentReference"] = _STR
        required.append("paymentReference")
        resp_props["paymentReference"] = _STR
        resp_required.append("paymentReference")
    else:
        resp_props["paymentPspReference"] = _STR
        resp_required.append("paymentPspReference")
    return ({"type": "object", "required": required, "properties": req_props},
            {"type": "object", "required": resp_required, "properties": resp_props})


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Amount": AMOUNT, "ServiceError": SERVICE_ERROR, "RestServiceError": REST_SERVICE_ERROR,
        "CheckoutPaymentMethod": CHECKOUT_PAYMENT_METHOD, "PaymentRequest": PAYMENT_REQUEST,
        "PaymentResponse": PAYMENT_RESPONSE, "PaymentMethodsRequest": PAYMENT_METHODS_REQUEST,
        "PaymentMethodsResponse": PAYMENT_METHODS_RESPONSE,
        "CreateMerchantWebhookRequest": {
            "type": "object", "required": ["url", "type", "active", "communicationFormat"],
            "properties": {"url": _STR, "type": {"type": "string", "enum": ["standard"]},
                           "active": _BOOL,
                           "communicationFormat": {"type": "string", "enum": ["json"]},
                           "username": _STR, "password": _STR, "description": _STR}},
        "Webhook": {
            "type": "object", "required": ["id", "type", "url", "active", "communicationFormat"],
            "properties": {"id": _STR, "type": _STR, "url": _STR, "active": _BOOL,
                           "communicationFormat": _STR, "username": _STR, "hasPassword": _BOOL,
                           "hasError": _BOOL, "_links": {"type": "object"}}},
        "GenerateHmacKeyResponse": {"type": "object", "required": ["hmacKey"],
                                    "properties": {"hmacKey": _STR}},
    }
    for name, amount, standalone in (("PaymentCapture", True, False),
                                     ("PaymentRefund", True, False),
                                     ("PaymentCancel", False, False),
                                     ("StandalonePaymentCancel", False, True)):
        schemas[f"{name}Request"], schemas[f"{name}Response"] = _modification_schemas(
            name, amount, standalone)
    return {
        "schemas": schemas,
        "securitySchemes": {"ApiKeyAuth": {"type": "apiKey", "name": "X-API-Key",
                                           "in": "header"}},
        "parameters": {"Idempotency-Key": {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "A unique identifier for the message with a maximum of 64 "
                           "characters; a retry with the same key replays the first answer.",
            "schema": {"type": "string", "maxLength": 64}}},
    }


def _errors(schema: str, codes: dict[str, str]) -> dict[str, Any]:
    return {code: _json(_ref(schema), text) for code, text in codes.items()}


_COMMON = {"400": "Bad Request - unreadable JSON or a wrongly typed field",
           "401": "Unauthorized - missing or unknown X-API-Key",
           "429": "Too Many Requests (injected fault; see Retry-After)",
           "500": "Internal Server Error (injected fault)",
           "503": "Service Unavailable (injected fault or outage)"}


def checkout_operation(summary: str, op_id: str, request: str, response: str, status: str,
                       extra_errors: dict[str, str], path_param: bool = False,
                       idempotent: bool = True) -> dict[str, Any]:
    responses: dict[str, Any] = {status: _json(_ref(response), "OK")}
    responses.update(_errors("ServiceError", {**_COMMON, **extra_errors}))
    op: dict[str, Any] = {
        "tags": [CHECKOUT_TAG], "summary": summary, "operationId": op_id,
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": _ref(request)}}},
        "responses": responses,
    }
    params: list[dict[str, Any]] = []
    if idempotent:
        params.append({"$ref": "#/components/parameters/Idempotency-Key"})
        responses["409"] = _json(_ref("ServiceError"),
                                 "Conflict - same Idempotency-Key still in progress (704)")
    if path_param:
        params.append({"name": "paymentPspReference", "in": "path", "required": True,
                       "schema": {"type": "string"},
                       "description": "The pspReference of the payment to modify"})
    if params:
        op["parameters"] = params
    return op


_VALIDATION = {"422": "Unprocessable Entity - a request validation error (Adyen error code)"}
_MERCHANT = {"403": "Forbidden - invalid merchant account (901)"}


def checkout_operations() -> dict[str, dict[str, Any]]:
    """Operation objects keyed by path suffix (served under /v71 and /v72)."""
    return {
        "/payments": checkout_operation(
            "Start a transaction", "payments", "PaymentRequest", "PaymentResponse", "200",
            {**_MERCHANT, **_VALIDATION}),
        "/paymentMethods": checkout_operation(
            "Get a list of available payment methods", "paymentMethods",
            "PaymentMethodsRequest", "PaymentMethodsResponse", "200",
            {**_MERCHANT, **_VALIDATION}, idempotent=False),
        "/payments/{paymentPspReference}/captures": checkout_operation(
            "Capture an authorised payment", "captures", "PaymentCaptureRequest",
            "PaymentCaptureResponse", "201", {**_MERCHANT, **_VALIDATION}, path_param=True),
        "/payments/{paymentPspReference}/refunds": checkout_operation(
            "Refund a captured payment", "refunds", "PaymentRefundRequest",
            "PaymentRefundResponse", "201", {**_MERCHANT, **_VALIDATION}, path_param=True),
        "/payments/{paymentPspReference}/cancels": checkout_operation(
            "Cancel an authorised payment", "cancels", "PaymentCancelRequest",
            "PaymentCancelResponse", "201", {**_MERCHANT, **_VALIDATION}, path_param=True),
        "/cancels": checkout_operation(
            "Cancel an authorised payment by your own reference", "standaloneCancels",
            "StandalonePaymentCancelRequest", "StandalonePaymentCancelResponse", "201",
            {**_MERCHANT, **_VALIDATION}),
    }


def versioned(op: dict[str, Any], version: str) -> dict[str, Any]:
    out = dict(op)
    out["operationId"] = f"{op['operationId']}_{version}"
    out["tags"] = [f"{CHECKOUT_TAG} {version}"]
    return out


def _mgmt_path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": description}


def management_operations() -> dict[str, dict[str, Any]]:
    errors = _errors("RestServiceError", {
        "400": "Bad Request", "401": "Unauthorized - missing or unknown X-API-Key",
        "403": "Forbidden - merchant account not accessible",
        "422": "Unprocessable Entity - invalid webhook configuration"})
    faults = _errors("ServiceError", {k: v for k, v in _COMMON.items() if k not in ("400", "401")})
    return {
        "/v3/merchants/{merchantId}/webhooks": {
            "tags": [MANAGEMENT_TAG], "summary": "Set up a webhook",
            "operationId": "setUpWebhook",
            "parameters": [_mgmt_path("merchantId", "The merchant account")],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("CreateMerchantWebhookRequest")}}},
            "responses": {"200": _json(_ref("Webhook"), "OK"), **faults, **errors},
        },
        "/v3/merchants/{merchantId}/webhooks/{webhookId}/generateHmac": {
            "tags": [MANAGEMENT_TAG], "summary": "Generate an HMAC key",
            "operationId": "generateHmacKey",
            "parameters": [_mgmt_path("merchantId", "The merchant account"),
                           _mgmt_path("webhookId", "The webhook id")],
            "responses": {"200": _json(_ref("GenerateHmacKeyResponse"), "OK"), **faults,
                          **errors, "404": _json(_ref("RestServiceError"), "Webhook not found")},
        },
    }
