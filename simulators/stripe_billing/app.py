"""The Stripe simulator: endpoints, API-key auth, Stripe-shaped faults and webhook signing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any, ClassVar

from pydantic import Field
from starlette.requests import Request

from harness.canonical.secrets import Secret, builtin_secret, reveal
from simulators._kit import (
    Endpoint,
    FaultDecision,
    Simulator,
    SimulatorConfig,
    SimulatorError,
    header_value,
)
from simulators._kit.base import Port

from . import openapi
from .errors import (
    API_VERSION,
    APIError,
    IdempotencyError,
    InvalidRequestError,
    invalid_key,
    missing_key,
    publishable_key,
)
from .models import StripeBackend
from .routes import handler, operations

IDEMPOTENCY_KEY_MAX = 255


class Config(SimulatorConfig):
    """Settings of the Stripe simulator."""

    port: Port = 8102
    api_keys: list[Secret] = Field(default_factory=lambda: [builtin_secret("sk_test_o2c_harness")],
                                description="secret keys accepted (Bearer or Basic username)")
    publishable_keys: list[str] = Field(
        default_factory=lambda: ["pk_test_o2c_harness"],
        description="publishable keys of the account: known, but refused on the secret-key "
                    "API (401 secret_key_required, as Stripe answers)")


class StripeSimulator(Simulator):
    """Stripe Billing, in Stripe's dialect, for the official ``stripe`` SDK."""

    name: ClassVar[str] = "billing"
    title: ClassVar[str] = "Stripe Billing (simulated)"
    description: ClassVar[str] = (
        "Customers, products, prices, tax rates, subscriptions, billing meters, invoice items, "
        "invoices, credit notes, events, webhook endpoints and test clocks, as the Stripe API "
        f"(version {API_VERSION}) serves them. Request bodies are form-encoded with bracket "
        "notation.")
    api_version: ClassVar[str] = API_VERSION
    backend_class = StripeBackend
    config_class = Config

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        super().__init__(config)
        keys = [reveal(k) for k in getattr(self.config, "api_keys", [])]
        self._keys = set(keys)
        self._publishable = set(getattr(self.config, "publishable_keys", []))
        # exact Authorization header values → key: the hot path is one dict lookup
        self._headers: dict[str, str] = {}
        for key in keys:
            self._headers[f"Bearer {key}"] = key
            for user in (f"{key}:", key):
                self._headers["Basic " + base64.b64encode(user.encode()).decode()] = key

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint(op.method, op.path, handler(op), operation=openapi.operation(op),
                         idempotent=op.idempotent) for op in operations()]

    def authenticate(self, request: Request) -> str | None:
        raw = header_value(request.scope, b"authorization")  # as request.headers.get finds it
        if raw is None:
            raise missing_key()
        header = raw.decode("latin-1")
        key = self._headers.get(header)
        if key is not None:
            return key
        scheme, _, cred = header.strip().partition(" ")
        cred = cred.strip()
        if scheme.lower() == "bearer":
            key = cred
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = cred
        else:
            key = header.strip()
        if not key:
            raise missing_key()
        if key in self._keys:
            return key
        if key in self._publishable:
            raise publishable_key()
        raise invalid_key(key)

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        status = decision.status or 500
        if decision.action == "rate_limit" or status == 429:
            retry = f"{max(decision.retry_after_s, 0):g}"
            return InvalidRequestError(
                "Too many requests hit the API too quickly. We recommend an exponential "
                "backoff of your requests.", status=429, code="rate_limit",
                headers={"Retry-After": retry})
        if decision.action == "outage":
            return APIError("Stripe is temporarily unavailable. Please try again later.",
                            status=status if status >= 500 else 503)
        if status < 500:
            return InvalidRequestError("Injected fault: the request was rejected.",
                                       status=status)
        return APIError("An unknown error occurred while processing your request. Please "
                        "try again later.", status=status)

    def not_found(self, request: Request) -> SimulatorError:
        return InvalidRequestError(
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            status=404)

    def method_not_allowed(self, request: Request) -> SimulatorError:
        # Stripe itself answers a method a path lacks like an unknown URL (404); the simulator
        # says 405 with Allow (RFC 9110, schemathesis' unsupported_method check) in Stripe's
        # error shape and wording, which no client branches on
        return InvalidRequestError(
            f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            status=405)

    def internal_error(self) -> SimulatorError:
        return APIError("An unknown error occurred while processing your request.",
                        status=500)

    def idempotency_mismatch(self, key: str) -> SimulatorError:
        return IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.", status=400)

    def idempotency_key_invalid(self, key: str) -> SimulatorError | None:
        if len(key) > IDEMPOTENCY_KEY_MAX:  # Stripe: keys are at most 255 characters
            return IdempotencyError(
                f"Keys for idempotent requests can only be {IDEMPOTENCY_KEY_MAX} characters "
                "long and should contain only ASCII characters.", status=400)
        return None

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return IdempotencyError(
            "There is currently another in-progress request using this Idempotent Key (that "
            "probably means you submitted twice, and the other request is still going "
            f"through): {key}. Please try again later.", status=409,
            code="idempotency_key_in_use")

    def sign_webhook(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        """Stripe's ``Stripe-Signature: t=<ts>,v1=<HMAC-SHA256(secret, "<ts>.<body>")>``."""
        payload = f"{timestamp}.".encode() + body
        sig = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={timestamp},v1={sig}"}

    def openapi_components(self) -> dict[str, Any]:
        return openapi.components()

    def openapi_error_content(self) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return [{"bearerAuth": []}, {"basicAuth": []}]
