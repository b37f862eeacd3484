"""Salesforce's error shapes as exceptions.

The REST API answers errors with a JSON *array* of ``{"message", "errorCode", "fields"}``;
the OAuth token endpoint with ``{"error", "error_description"}``; the SOAP login with a
SOAP fault. ``simple-salesforce`` maps the REST status codes to its own exceptions
(400 → ``SalesforceMalformedRequest``, 401 → ``SalesforceExpiredSession``,
403 → ``SalesforceRefusedRequest``, 404 → ``SalesforceResourceNotFound``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from simulators._kit import SimulatorError, json_response


class SalesforceError(SimulatorError):
    """One REST API error; renders ``[{"message","errorCode","fields"}]`` with ``status``."""

    def __init__(self, status: int, error_code: str, message: str,
                 fields: Sequence[str] = (), headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)
        self.headers = dict(headers or {})

    def as_error(self) -> dict[str, Any]:
        """The array element (also what composite sub-responses carry)."""
        return {"message": self.message, "errorCode": self.error_code, "fields": self.fields}

    def as_save_error(self) -> dict[str, Any]:
        """The element of a SaveResult's ``errors`` (composite/sobjects uses ``statusCode``)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}

    def to_response(self) -> Response:
        return json_response([self.as_error()], self.status, self.headers or None)


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", message)


def malformed(message: str, code: str = "MALFORMED_QUERY") -> SalesforceError:
    return SalesforceError(400, code, message)


def json_parser_error(message: str) -> SalesforceError:
    return SalesforceError(400, "JSON_PARSER_ERROR", message)


class SessionError(SalesforceError):
    """401 ``INVALID_SESSION_ID``: Salesforce sends ``[{"message", "errorCode"}]`` here, with
    no ``fields`` (no record is involved), and ``WWW-Authenticate: Token``."""

    def as_error(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.error_code}


def invalid_session() -> SalesforceError:
    return SessionError(401, "INVALID_SESSION_ID", "Session expired or invalid",
                        headers={"WWW-Authenticate": "Token"})


def request_limit_exceeded(retry_after_s: float | None = None) -> SalesforceError:
    headers = {"Retry-After": str(max(1, round(retry_after_s)))} if retry_after_s else None
    return SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                           headers=headers)


class OAuthError(SimulatorError):
    """An OAuth 2.0 endpoint error: ``{"error","error_description"}`` (HTTP 400 by default)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def to_response(self) -> Response:
        return json_response({"error": self.error, "error_description": self.description},
                             self.status)


def invalid_grant() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


class SoapLoginFault(SimulatorError):
    """The partner API's ``LoginFault`` (HTTP 500 SOAP fault, as Salesforce sends it)."""

    status = 500

    def __init__(self, code: str = "INVALID_LOGIN",
                 message: str = "Invalid username, password, security token; or user locked "
                                "out.") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_response(self) -> Response:
        code, msg = escape(self.code), escape(self.message)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
            'xmlns:sf="urn:fault.partner.soap.sforce.com" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Body><soapenv:Fault>"
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring>"
            '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
            f"<sf:exceptionCode>{code}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{msg}</sf:exceptionMessage>"
            "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Response(body.encode(), status_code=self.status, media_type="text/xml")
