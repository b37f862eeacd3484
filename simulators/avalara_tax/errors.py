"""AvaTax's error shape as exception classes.

Every AvaTax REST v2 error is ``{"error": {"code", "message", "target", "details": [...]}}``
where each detail carries ``code``, ``number`` (the ErrorCodeId), ``message``, ``description``,
``faultCode``, ``helpLink``, ``refersTo`` and ``severity``. Codes and numbers below are the
vendor's own (``ErrorCodeId`` in the official SDKs).
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from simulators._kit import SimulatorError, json_response

HELP = "https://developer.avalara.com/avatax/errors/"

# the subset of AvaTax's ErrorCodeId this simulator can return
NUMBERS = {
    "EntityNotFoundError": 4,
    "ValueRequiredError": 5,
    "RangeError": 6,
    "StringLengthError": 13,
    "DateFormatError": 26,
    "AuthenticationException": 30,
    "ModelRequiredException": 38,
    "JsonFormatError": 47,
    "UnhandledException": 50,
    "ModelStateInvalid": 70,
    "InvalidCountry": 125,
    "InvalidCountryRegion": 126,
    "InvalidEnumValue": 164,
    "TransactionAlreadyCancelled": 198,
    "InternalServerError": 209,
    "GetTaxError": 300,
    "MissingAddress": 304,
    "InvalidAddress": 309,
    "AddressLocationNotFound": 310,
    "MissingLine": 311,
    "InvalidAddressTextCase": 312,
    "InvalidPostalCode": 317,
    "ServerUnreachable": 500,
    "CannotModifyLockedTransaction": 1100,
    "ServiceNotReady": 1718,
    "RateLimitExceededError": 1723,
    "IncorrectPathError": 139,
    "InvalidQueryField": 17,
    "InvalidQueryValue": 18,
}


def detail(code: str, message: str, description: str = "", *, refers_to: str | None = None,
           fault_code: str = "Client", severity: str = "Error") -> dict[str, Any]:
    """One entry of ``error.details`` (AvaTax's ``ErrorDetail``)."""
    out: dict[str, Any] = {
        "code": code,
        "number": NUMBERS.get(code, 0),
        "message": message,
        "description": description,
        "faultCode": fault_code,
        "helpLink": f"{HELP}{code}",
        "severity": severity,
    }
    if refers_to is not None:
        out["refersTo"] = refers_to
    return out


class AvaTaxError(SimulatorError):
    """An AvaTax error response; ``details`` defaults to one detail mirroring the error."""

    status = 400

    def __init__(self, code: str, message: str, description: str = "", *, status: int | None = None,
                 target: str = "IncorrectData", refers_to: str | None = None,
                 details: list[dict[str, Any]] | None = None, fault_code: str = "Client",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.target = target
        if status is not None:
            self.status = status
        self.details = details if details is not None else [
            detail(code, message, description, refers_to=refers_to, fault_code=fault_code)]
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "target": self.target,
                          "details": self.details}}

    def to_response(self) -> Response:
        # AvaTax tags every response with a correlation id; the official SDK's logger reads it
        headers = {"X-Correlation-Id": str(uuid.uuid4()), **self.headers}
        return json_response(self.body(), self.status, headers=headers)


def authentication_failed() -> AvaTaxError:
    return AvaTaxError(
        "AuthenticationException", "Authentication failed.",
        "Missing authentication or unable to authenticate the user or the account.",
        status=401, target="HttpRequestHeaders")


def entity_not_found(entity: str, key: str) -> AvaTaxError:
    return AvaTaxError("EntityNotFoundError", f"{entity} not found.",
                       f"The {entity} with code '{key}' was not found.", status=404,
                       target="HttpRequest")


def route_not_found(path: str) -> AvaTaxError:
    return AvaTaxError("IncorrectPathError", "The URL path is not valid.",
                       f"There is no AvaTax API at '{path}'.", status=404, target="HttpRequest")


def model_required(model: str) -> AvaTaxError:
    return AvaTaxError("ModelRequiredException", "Your request must include a model.",
                       f"Your request must include a JSON body of type '{model}'.",
                       target="HttpRequest")


def value_required(field: str) -> AvaTaxError:
    return AvaTaxError("ValueRequiredError", f"Field '{field}' is required.",
                       f"You must provide a value for '{field}'.", refers_to=field)


def invalid_value(field: str, description: str) -> AvaTaxError:
    return AvaTaxError("ModelStateInvalid", f"Field '{field}' has an invalid value.", description,
                       refers_to=field)


def address_incomplete(which: str) -> AvaTaxError:
    # the message and description are the vendor's wording for error 309
    return AvaTaxError(
        "InvalidAddress", "The address value was incomplete.",
        f"The address value {which} was incomplete. You must provide either a valid postal code, "
        "line1 + city + region, or line1 + postal code. For international transactions outside "
        "of US/CA, only a country code is required.",
        refers_to=f"Addresses[{which}]")


def doc_status_invalid(expected: str, status: str) -> AvaTaxError:
    """AvaTax's 'DocStatusError': the document's status forbids the operation."""
    return AvaTaxError("GetTaxError", "DocStatus is invalid for this operation.",
                       f"Expected {expected}; the document is {status}.", target="IncorrectData",
                       details=[
                           detail("GetTaxError", "DocStatus is invalid for this operation.",
                                  f"Expected {expected}", refers_to="DocStatus",
                                  fault_code="Client")])


def rate_limited(retry_after_s: float) -> AvaTaxError:
    return AvaTaxError("RateLimitExceededError", "Rate limit exceeded.",
                       "Too many requests in a short period. Retry after the period in the "
                       "Retry-After header.", status=429, target="HttpRequest",
                       headers={"Retry-After": str(max(0, round(retry_after_s)))})


def server_error(status: int = 500) -> AvaTaxError:
    if status == 503:
        return AvaTaxError("ServiceNotReady", "The service is not ready.",
                           "AvaTax is temporarily unavailable. Please retry.", status=503,
                           target="Unknown", fault_code="Server")
    if status == 504:
        return AvaTaxError("ServerUnreachable", "The server did not respond in time.",
                           "The request timed out inside AvaTax. Please retry.", status=504,
                           target="Unknown", fault_code="Server")
    return AvaTaxError("InternalServerError", "Internal server error.",
                       "An unexpected error occurred while processing the request.",
                       status=status if 500 <= status <= 599 else 500, target="Unknown",
                       fault_code="Server")
