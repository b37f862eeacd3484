"""SAP Gateway (OData v2) error shapes.

Every error renders the JSON body SAP Gateway sends::

    {"error": {"code": "<MSGCLASS>/<NO>", "message": {"lang": "en", "value": "..."},
               "innererror": {"application": {...}, "transactionid": "...",
                              "timestamp": "YYYYMMDDhhmmss.fffffff",
                              "Error_Resolution": {...},
                              "errordetails": [{"code", "message", "propertyref",
                                                "severity", "target"}]}}}

The message classes are SAP's (``/IWBEP/CM_MGW_RT`` for the Gateway runtime, ``F5`` for FI
postings, ``R1``/``R11`` for business partners); the message numbers follow SAP where they are
well known (F5/201 closed posting period, F5/702 balance, F5/263 clearing difference) and
are otherwise representative, not verified against a real system.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from simulators._kit import SimulatorError, json_response

# Gateway runtime
RESOURCE_NOT_FOUND = "/IWBEP/CM_MGW_RT/020"
METHOD_NOT_ALLOWED = "/IWBEP/CM_MGW_RT/021"
SYNTAX_ERROR = "/IWBEP/CM_MGW_RT/022"
INVALID_PROPERTY = "/IWBEP/CM_MGW_RT/004"
VALUE_INVALID = "/IWBEP/CM_MGW_RT/002"
INTERNAL = "/IWBEP/CM_MGW_RT/000"
NOT_AUTHORIZED = "/IWFND/CM_CONSUMER/101"
CSRF_FAILED = "/IWFND/CM_CONSUMER/106"
SERVICE_UNAVAILABLE = "/IWFND/CM_BEC/026"
RATE_LIMITED = "/IWFND/CM_CONSUMER/429"
TIMEOUT = "/IWFND/CM_BEC/030"
# business partner / customer master
BP_NAME_TOO_LONG = "R1/166"
BP_CATEGORY_INVALID = "R11/061"
BP_NAME_MISSING = "R11/401"
BP_NUMBER_INTERNAL = "R1/087"
COUNTRY_INVALID = "AM/216"
CUSTOMER_COMPANY_EXISTS = "F2/108"
# financial accounting
COMPANY_CODE_UNKNOWN = "F5/165"
CUSTOMER_NOT_IN_COMPANY = "F5/151"
PERIOD_CLOSED = "F5/201"
DUPLICATE_REFERENCE = "F5/117"
BALANCE_NOT_ZERO = "F5/702"
CLEARING_DIFFERENCE = "F5/263"
NO_OPEN_ITEMS = "F5/185"
CURRENCY_MISMATCH = "F5/045"
DOCUMENT_TYPE_INVALID = "F5/814"
AMOUNT_INVALID = "F5/024"


def sap_timestamp(at: float) -> str:
    """SAP's ``YYYYMMDDhhmmss.fffffff`` UTC timestamp."""
    whole = int(at)
    frac = round((at - whole) * 10_000_000)
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(whole)) + f".{min(frac, 9_999_999):07d}"


@dataclass
class ErrorDetail:
    """One entry of ``innererror.errordetails``."""

    code: str
    message: str
    propertyref: str = ""
    severity: str = "error"
    target: str = ""

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "propertyref": self.propertyref,
                "severity": self.severity, "target": self.target}


class SapError(SimulatorError):
    """An SAP Gateway error; ``service`` and ``at`` are filled in by whoever knows them."""

    def __init__(self, status: int, code: str, message: str, *,
                 details: list[ErrorDetail] | None = None, headers: dict[str, str] | None = None,
                 service: str = "", at: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else [ErrorDetail(code, message)]
        self.headers = dict(headers or {})
        self.service = service
        self.at = at

    def body(self) -> dict[str, Any]:
        at = self.at if self.at is not None else time.time()
        return {"error": {
            "code": self.code,
            "message": {"lang": "en", "value": self.message},
            "innererror": {
                "application": {
                    "component_id": _COMPONENT.get(self.service, "OPU-GW-COR"),
                    "service_namespace": "/SAP/",
                    "service_id": self.service or "",
                    "service_version": "0001",
                },
                "transactionid": uuid.uuid4().hex.upper(),
                "timestamp": sap_timestamp(at),
                "Error_Resolution": {
                    "SAP_Transaction": "For backend administrators: use ADT feed reader \"SAP "
                                       "Gateway Error Log\" or run transaction /IWFND/ERROR_LOG "
                                       "on SAP Gateway hub system and search for entries with "
                                       "the timestamp above for more details",
                    "SAP_Note": "See SAP Note 1797736 for error analysis "
                                "(https://service.sap.com/sap/support/notes/1797736)",
                },
                "errordetails": [d.as_json() for d in self.details],
            },
        }}

    def to_response(self) -> Response:
        return json_response(self.body(), self.status, headers=self.headers or None)


_COMPONENT = {
    "API_BUSINESS_PARTNER": "LO-MD-BP-OM",
    "API_O2C_JOURNALENTRY_SRV": "FI-GL-IS",
    "API_O2C_INCOMINGPAYMENT_SRV": "FI-AR-AR",
}


def bad_request(code: str, message: str, propertyref: str = "", target: str = "") -> SapError:
    """A 400 with one error detail pointing at the offending property."""
    return SapError(400, code, message,
                    details=[ErrorDetail(code, message, propertyref=propertyref, target=target)])


def not_found(segment: str) -> SapError:
    return SapError(404, RESOURCE_NOT_FOUND, f"Resource not found for segment '{segment}'")
