"""Stripe's error shapes: ``{"error": {"type", "code", "message", "param", "doc_url"}}``.

Every error the simulator returns is one of these classes; the kit renders them with
``to_response``. Messages follow the wording Stripe's API returns.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from starlette.responses import Response

from simulators._kit import SimulatorError, json_response

API_VERSION = "2026-10-28.endive"
_REQ_PREFIX = "req_" + os.urandom(4).hex()[:6]
_req_counter = itertools.count(1)


def request_id() -> str:
    """A fresh ``Request-Id`` (cheap: a per-process prefix and a counter)."""
    return f"{_REQ_PREFIX}{next(_req_counter):08d}"


def stripe_headers(version: str = API_VERSION) -> dict[str, str]:
    return {"Request-Id": request_id(), "Stripe-Version": version}


class StripeError(SimulatorError):
    """One Stripe API error; ``type`` is Stripe's error type, ``code`` its error code."""

    type = "api_error"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None,
                 param: str | None = None, type: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        if type is not None:
            self.type = type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        rid = request_id()
        err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{rid}"
        return {"error": err}

    def to_response(self) -> Response:
        headers = {**stripe_headers(), **self.headers}
        return json_response(self.body(), self.status, headers)


class InvalidRequestError(StripeError):
    type = "invalid_request_error"


class AuthenticationError(StripeError):
    """401 with type ``invalid_request_error`` — what Stripe really sends for key problems."""

    type = "invalid_request_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, status=401, code=code)


class IdempotencyError(StripeError):
    type = "idempotency_error"


class APIError(StripeError):
    type = "api_error"


def resource_missing(kind: str, obj_id: str, param: str = "id") -> InvalidRequestError:
    return InvalidRequestError(f"No such {kind}: '{obj_id}'", status=404,
                               code="resource_missing", param=param)


def missing_key() -> AuthenticationError:
    return AuthenticationError(
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
        "https://stripe.com/docs/api#authentication for details, or we can help at "
        "https://support.stripe.com/."
    )


def mask_key(key: str) -> str:
    """``sk_test_abc...wxyz`` → ``sk_test_********wxyz`` (Stripe's masking)."""
    prefix = ""
    parts = key.split("_")
    if len(parts) >= 3:
        prefix = f"{parts[0]}_{parts[1]}_"
    rest = key[len(prefix):]
    tail = rest[-4:] if len(rest) > 4 else ""
    return prefix + "*" * (len(rest) - len(tail)) + tail


def invalid_key(key: str) -> AuthenticationError:
    return AuthenticationError(f"Invalid API Key provided: {mask_key(key)}",
                               code="api_key_invalid")


def publishable_key() -> AuthenticationError:
    """A publishable key (``pk_...``) on an endpoint that needs the secret key."""
    return AuthenticationError(
        "This API call cannot be made with a publishable API key. Please use a secret API "
        "key. You can find a list of your API keys at "
        "https://dashboard.stripe.com/account/apikeys.", code="secret_key_required")


def state_error(message: str, code: str | None = None, param: str | None = None
                ) -> InvalidRequestError:
    return InvalidRequestError(message, code=code, param=param)
