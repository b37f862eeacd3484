"""The Adyen simulator: Checkout API v71/v72 subset, a Management API webhook subset, API-key
auth, Adyen-shaped errors and faults, and standard notifications accepted with ``[accepted]``.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from starlette.requests import Request

from harness.canonical.secrets import reveal
from simulators._kit import Endpoint, FaultDecision, Simulator, SimulatorError, WebhookResponse

from . import errors, openapi, routes
from .errors import ManagementError
from .models import AdyenBackend, Config

CHECKOUT_VERSIONS = ("v71", "v72")
MANAGEMENT_PREFIX = "/v3/"


class AdyenSimulator(Simulator):
    """Adyen Checkout (``/v71`` and ``/v72``) and Management (``/v3``) as the ``Adyen`` SDK
    calls them; point the SDK's service ``baseUrl`` at ``<server>/v71`` (or ``/v72``)."""

    name = "payments"
    title = "Adyen Checkout (simulated)"
    description = ("Adyen Checkout API v71/v72 subset (payments, paymentMethods, captures, "
                   "refunds, cancels), Management API webhooks and HMAC-signed standard "
                   "notifications.")
    api_version = "72"
    backend_class = AdyenBackend
    config_class = Config

    def endpoints(self) -> list[Endpoint]:
        handlers = {
            "/payments": routes.payments,
            "/paymentMethods": routes.payment_methods,
            "/payments/{paymentPspReference}/captures": routes.capture,
            "/payments/{paymentPspReference}/refunds": routes.refund,
            "/payments/{paymentPspReference}/cancels": routes.cancel,
            "/cancels": routes.cancel_by_reference,
        }
        ops = openapi.checkout_operations()
        out: list[Endpoint] = []
        for version in CHECKOUT_VERSIONS:
            for suffix, handler in handlers.items():
                out.append(Endpoint("POST", f"/{version}{suffix}", handler,
                                    operation=openapi.versioned(ops[suffix], version),
                                    idempotent=suffix != "/paymentMethods"))
        mgmt = openapi.management_operations()
        out.append(Endpoint("POST", "/v3/merchants/{merchantId}/webhooks", routes.set_up_webhook,
                            operation=mgmt["/v3/merchants/{merchantId}/webhooks"]))
        path = "/v3/merchants/{merchantId}/webhooks/{webhookId}/generateHmac"
        out.append(Endpoint("POST", path, routes.generate_hmac, operation=mgmt[path]))
        return out

    def authenticate(self, request: Request) -> str | None:
        key = request.headers.get("x-api-key")
        config: Any = self.config
        if key and any(hmac.compare_digest(key.encode(), str(reveal(good)).encode())
                       for good in config.api_keys):
            return key
        if request.url.path.startswith(MANAGEMENT_PREFIX):
            raise ManagementError(401, "Not authorized to access this service.")
        raise errors.unauthorized()

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        if decision.action == "rate_limit":
            return errors.too_many_requests(decision.retry_after_s)
        status = decision.status or 500
        if decision.action == "timeout":
            return errors.internal("Gateway Timeout", status=504)
        if decision.action == "outage" or status == 503:
            return errors.internal("Service Unavailable", status=status)
        if status == 429:
            return errors.too_many_requests(decision.retry_after_s)
        if status < 500:
            return errors.AdyenError(status, "000", "Injected client error", "validation")
        return errors.internal(status=status)

    def not_found(self, request: Request) -> SimulatorError:
        return errors.not_found(request.url.path)

    def method_not_allowed(self, request: Request) -> SimulatorError:
        return errors.method_not_allowed(request.method)

    def internal_error(self) -> SimulatorError:
        return errors.internal()

    def idempotency_mismatch(self, key: str) -> SimulatorError:
        return errors.idempotency_reused()

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return errors.idempotency_in_flight()

    def sign_webhook(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        """Adyen signs inside the body (``hmacSignature``); the header side is only the
        optional basic auth the webhook was configured with (``secret`` = ``user:pass``)."""
        if not secret:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}

    def webhook_accepted(self, response: WebhookResponse) -> bool:
        """Adyen counts a delivery as accepted only when the body is ``[accepted]``."""
        return 200 <= response.status_code < 300 and response.text.strip() == "[accepted]"

    def openapi_components(self) -> dict[str, Any]:
        return openapi.components()

    def openapi_error_content(self) -> dict[str, Any]:
        return {"application/json": {"schema": {"anyOf": [
            {"$ref": "#/components/schemas/ServiceError"},
            {"$ref": "#/components/schemas/RestServiceError"}]}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return [{"ApiKeyAuth": []}]
