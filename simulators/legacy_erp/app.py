"""The legacy on-prem ERP simulator: SOAP 1.1 ``LegacyErp`` service with its WSDL.

Authentication (checked per request inside the SOAP handler, because the credentials travel
in the envelope): a WS-Security UsernameToken is primary (PasswordText or PasswordDigest);
HTTP Basic with the same users is accepted too. Bad or missing credentials → Client fault
``AUTH``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulators._kit import Endpoint, FaultDecision, Kit, Simulator, SimulatorError, json_response

from . import openapi
from .errors import ErpFault, client_fault, server_fault
from .models import Config, LegacyErpBackend
from .routes import soap_endpoint, wsdl_response
from .wsdl import SERVICE_PATH


class LegacyErpSimulator(Simulator):
    """An old FI-AR system behind SOAP: slow, batch-windowed and not idempotent."""

    name = "legacy_erp"
    title = "Legacy ERP (SOAP 1.1)"
    description = ("Legacy on-premise ERP: customers, AR invoice postings, payment clearing "
                   "and open items over SOAP 1.1 document/literal (WSDL at "
                   "/soap/LegacyErp?wsdl).")
    api_version = "1.0"
    backend_class = LegacyErpBackend
    config_class = Config

    def endpoints(self) -> list[Endpoint]:
        # auth=False: the WS-Security token is inside the body, so the handler checks it
        return [Endpoint("POST", SERVICE_PATH, soap_endpoint, openapi.SOAP_OPERATION,
                         auth=False)]

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        if decision.action == "rate_limit":
            retry = max(1, round(decision.retry_after_s))
            return server_fault("RATE_LIMIT_EXCEEDED", "Too many requests; retry later",
                                status=429, headers={"Retry-After": str(retry)})
        if decision.action == "timeout":
            return server_fault("GATEWAY_TIMEOUT", "The ERP did not answer in time",
                                status=decision.status or 504)
        status = decision.status or 503
        if status < 500:
            return ErpFault("REQUEST_REJECTED", "The request was rejected", status=status)
        if status == 503 or decision.action == "outage":
            return server_fault("SYSTEM_UNAVAILABLE", "The ERP system is not available",
                                status=status)
        return server_fault("SYSTEM_ERROR", "The ERP system failed to process the request",
                            status=status)

    def not_found(self, request: Request) -> SimulatorError:
        return ErpFault("NO_SUCH_ENDPOINT", f"No service at {request.url.path}", status=404)

    def method_not_allowed(self, request: Request) -> SimulatorError:
        return ErpFault("METHOD_NOT_ALLOWED", f"{request.method} is not allowed here; SOAP "
                        "requests are POSTed", status=405)

    def internal_error(self) -> SimulatorError:
        return server_fault("INTERNAL_ERROR", "Internal error in the ERP system")

    # no route is marked idempotent: the legacy system has no idempotency keys at all
    def idempotency_mismatch(self, key: str) -> SimulatorError:
        return client_fault("INVALID_REQUEST", "Idempotency keys are not supported")

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return client_fault("INVALID_REQUEST", "Idempotency keys are not supported")

    def openapi_components(self) -> dict[str, Any]:
        return openapi.components()

    def openapi_error_content(self) -> dict[str, Any]:
        return {"text/xml": {"schema": {"type": "string", "contentMediaType": "text/xml"}}}

    def openapi_paths(self) -> dict[str, Any]:
        return openapi.extra_paths()

    def extra_routes(self, kit: Kit) -> list[Any]:
        backend: LegacyErpBackend = kit.backend

        async def wsdl(request: Request) -> Response:
            return wsdl_response(request)

        async def documents(request: Request) -> Response:
            docs = backend.documents(request.query_params.get("company_code"),
                                     request.query_params.get("external_reference"))
            return json_response({"data": docs, "duplicates": backend.duplicates(),
                                  "clearings": backend.clearings()})

        async def queue(request: Request) -> Response:
            return json_response({
                "window_open": backend.config.batch_window.is_open(kit.ctx.clock.now()),
                "data": backend.queue_entries()})

        return [
            Route(SERVICE_PATH, wsdl, methods=["GET"]),
            Route(f"{SERVICE_PATH}.wsdl", wsdl, methods=["GET"]),
            Route("/_sim/legacy/documents", documents, methods=["GET"]),
            Route("/_sim/legacy/queue", queue, methods=["GET"]),
        ]


__all__ = ["Config", "ErpFault", "LegacyErpSimulator"]
