"""Adyen's error shape (``ServiceError``) as exceptions.

Every non-2xx answer of the Checkout and Management APIs is
``{"status", "errorCode", "message", "errorType", "pspReference"?}``. The codes used here are
Adyen's documented ones (docs.adyen.com/development-resources/error-codes); where Adyen
documents none for a situation the simulator invents (rate limit, injected 5xx), the choice is
marked in the factory's docstring.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from simulators._kit import SimulatorError, json_response


class AdyenError(SimulatorError):
    """One Adyen ``ServiceError``; ``to_response`` renders it with its HTTP status."""

    def __init__(self, status: int, error_code: str, message: str, error_type: str,
                 psp_reference: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.error_type = error_type
        self.psp_reference = psp_reference
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "errorCode": self.error_code,
                               "message": self.message, "errorType": self.error_type}
        if self.psp_reference:
            out["pspReference"] = self.psp_reference
        return out

    def to_response(self) -> Response:
        headers = dict(self.headers)
        if self.psp_reference:
            headers.setdefault("pspReference", self.psp_reference)
        return json_response(self.body(), self.status, headers or None)


class ValidationError(AdyenError):
    """422 ``errorType: validation`` (the request is readable but semantically wrong)."""

    def __init__(self, error_code: str, message: str, psp_reference: str | None = None) -> None:
        super().__init__(422, error_code, message, "validation", psp_reference)


def unauthorized() -> AdyenError:
    """Missing or unknown ``X-API-Key`` (Adyen's documented 401 body)."""
    return AdyenError(401, "000", "HTTP Status Response - Unauthorized", "security")


def invalid_merchant_account(psp_reference: str | None = None) -> AdyenError:
    """``merchantAccount`` is not one the API credential may use."""
    return AdyenError(403, "901", "Invalid Merchant Account", "security", psp_reference)


def unexpected_input(detail: str) -> AdyenError:
    """Unparseable JSON or a value of the wrong JSON type (Adyen's 400 code 702)."""
    return AdyenError(400, "702", f"Unexpected input: {detail}", "validation")


def not_found(path: str) -> AdyenError:
    """No such route: Adyen answers 404 with the generic code 000."""
    return AdyenError(404, "000", f"HTTP Status Response - Not Found: {path}", "validation")


def method_not_allowed(method: str) -> AdyenError:
    return AdyenError(405, "000", f"HTTP Status Response - Method {method} Not Allowed",
                      "validation")


def internal(message: str = "An internal error occurred",
             psp_reference: str | None = None, status: int = 500) -> AdyenError:
    """A server-side failure. Adyen documents no single code for it; ``000`` is used."""
    return AdyenError(status, "000", message, "internal", psp_reference)


def too_many_requests(retry_after_s: float) -> AdyenError:
    """Rate limited. Adyen documents no body for 429; this mirrors its ServiceError shape."""
    seconds = max(1, round(retry_after_s))
    return AdyenError(429, "000", "Too Many Requests", "internal",
                      headers={"Retry-After": str(seconds)})


def idempotency_in_flight() -> AdyenError:
    """A second request with a key whose first request is still running (documented 704)."""
    return AdyenError(409, "704", "request already processed or in progress", "validation",
                      headers={"transient-error": "true"})


def idempotency_reused() -> AdyenError:
    """A key reused with a different request. Adyen's code 704 with ``transient-error:
    false`` (do not retry); the exact wording for this case is the simulator's choice."""
    return AdyenError(422, "704", "request already processed or in progress", "validation",
                      headers={"transient-error": "false"})


class ManagementError(SimulatorError):
    """The Management API's RFC 7807 ``RestServiceError``: type, title, detail, status,
    errorCode (``00_<status>`` for the generic cases)."""

    _TITLES = {400: ("validation", "Invalid request"), 401: ("unauthorized", "Unauthorized"),
               403: ("forbidden", "Forbidden"), 404: ("not-found", "Entity was not found"),
               422: ("validation", "Invalid webhook configuration")}

    def __init__(self, status: int, detail: str, request_id: str | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.request_id = request_id

    def to_response(self) -> Response:
        slug, title = self._TITLES.get(self.status, ("general", "Error"))
        body: dict[str, Any] = {"type": f"https://docs.adyen.com/errors/{slug}",
                                "errorCode": f"00_{self.status}", "title": title,
                                "detail": self.detail, "status": self.status}
        if self.request_id:
            body["requestId"] = self.request_id
        return json_response(body, self.status)
