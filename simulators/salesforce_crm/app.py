"""The Salesforce simulator: REST API (``/services/data/vXX.X``), OAuth token endpoint,
SOAP partner login, and the CRM-specific admin routes.

Simulator conventions worth knowing:

- **Limits.** Every authenticated REST call counts against ``daily_api_limit`` (per
  simulator-clock UTC day) and every response to one carries
  ``Sforce-Limit-Info: api-usage=N/LIMIT``. Past the limit: 403 ``REQUEST_LIMIT_EXCEEDED``.
- **Injected faults.** Salesforce has no 429: the kit's ``rate_limit`` fault answers
  Salesforce's real 403 ``REQUEST_LIMIT_EXCEEDED``, with a ``Retry-After`` header anyway so
  clients can back off; 5xx faults answer ``SERVER_UNAVAILABLE`` (503) or
  ``UNKNOWN_EXCEPTION`` (500); timeouts ``REQUEST_RUNNING_TOO_LONG``.
- **Change events.** Salesforce pushes Change Data Capture over the streaming API (CometD /
  Pub/Sub); the simulator POSTs the same event JSON to ``change_event_urls`` and to URLs
  registered with ``POST /_sim/crm/subscriptions``, signed with the simulator's own scheme
  ``X-Sfdc-Timestamp: <unix seconds of the delivery attempt>`` and
  ``X-Sfdc-Signature: base64(HMAC-SHA256(secret, "<timestamp>." + body))`` (re-signed per
  attempt, so a receiver can refuse stale or replayed deliveries by the timestamp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, ClassVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.canonical.secrets import reveal
from simulators._kit import Call, Endpoint, FaultDecision, Kit, Simulator, SimulatorError
from simulators._kit import json_response as _json

from . import openapi, routes
from .errors import SalesforceError, invalid_session, request_limit_exceeded
from .models import Config, SalesforceBackend
from .schema import USER_ID

V = "/services/data/{version}"


def _with_limit_info(handler: Callable[[Call], Response]) -> Callable[[Call], Response]:
    """Render errors here too, so every answer to a counted call carries the usage header."""

    def run(call: Call) -> Response:
        try:
            response = handler(call)
        except SalesforceError as err:
            response = err.to_response()
        response.headers["Sforce-Limit-Info"] = call.backend.limit_info()
        return response

    run.__name__ = handler.__name__
    return run


class SalesforceSimulator(Simulator):
    """Salesforce REST API v31.0 to v62.0 subset: Account, Contact, Opportunity."""

    name: ClassVar[str] = "crm"
    title: ClassVar[str] = "Salesforce CRM (simulated)"
    description: ClassVar[str] = (
        "Salesforce REST API subset: OAuth2 token, sObject CRUD and upsert by external id, "
        "SOQL query with paging, composite, limits, Opportunity Closed Won change events."
    )
    api_version: ClassVar[str] = "59.0"
    backend_class = SalesforceBackend
    config_class = Config

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self._kit: Kit | None = None

    def endpoints(self) -> list[Endpoint]:
        ops = openapi.ops()
        eps: list[Endpoint] = []

        def add(method: str, paths: list[str], handler: Callable[[Call], Response],
                auth: bool = True) -> None:
            op = ops[handler.__name__]
            wrapped = _with_limit_info(handler) if auth else handler
            for path in paths:
                eps.append(Endpoint(method, path, wrapped, operation=op, auth=auth))

        add("GET", ["/services/data", "/services/data/"], routes.versions, auth=False)
        add("POST", ["/services/oauth2/token"], routes.oauth_token, auth=False)
        add("POST", ["/services/Soap/u/{version}"], routes.soap_login, auth=False)
        add("GET", [V, f"{V}/"], routes.resources)
        add("GET", [f"{V}/sobjects", f"{V}/sobjects/"], routes.global_describe)
        add("GET", [f"{V}/limits", f"{V}/limits/"], routes.limits)
        add("GET", [f"{V}/query", f"{V}/query/"], routes.query)
        add("GET", [f"{V}/queryAll", f"{V}/queryAll/"], routes.query_all)
        add("GET", [f"{V}/query/{{locator}}", f"{V}/queryAll/{{locator}}"], routes.query_more)
        add("POST", [f"{V}/composite/sobjects"], routes.composite_sobjects)
        add("POST", [f"{V}/composite"], routes.composite_request)
        add("GET", [f"{V}/sobjects/{{sobject}}", f"{V}/sobjects/{{sobject}}/"],
            routes.sobject_basic_info)
        add("POST", [f"{V}/sobjects/{{sobject}}", f"{V}/sobjects/{{sobject}}/"],
            routes.create_record)
        add("GET", [f"{V}/sobjects/{{sobject}}/describe", f"{V}/sobjects/{{sobject}}/describe/"],
            routes.sobject_describe)
        rec = f"{V}/sobjects/{{sobject}}/{{record_id}}"
        add("GET", [rec], routes.get_record)
        add("PATCH", [rec], routes.update_record)
        add("DELETE", [rec], routes.delete_record)
        ext = f"{V}/sobjects/{{sobject}}/{{field}}/{{value}}"
        add("GET", [ext], routes.get_by_external_id)
        add("PATCH", [ext], routes.upsert_by_external_id)
        return eps

    # -- auth and errors ---------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | None:
        backend: SalesforceBackend = request.app.state.kit.backend
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not backend.session_valid(token.strip()):
            raise invalid_session()
        backend.count_api_call()
        return USER_ID

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        if decision.action == "rate_limit" or decision.status == 429:
            err = request_limit_exceeded(decision.retry_after_s or 1.0)
        elif decision.action == "timeout":
            err = SalesforceError(decision.status or 504, "REQUEST_RUNNING_TOO_LONG",
                                  "Your request was running for too long, and has been "
                                  "stopped.")
        elif decision.status == 503 or decision.action == "outage":
            err = SalesforceError(decision.status or 503, "SERVER_UNAVAILABLE",
                                  "Server temporarily unavailable. Please try again later.")
        elif decision.status >= 500:
            err = SalesforceError(decision.status, "UNKNOWN_EXCEPTION",
                                  "An unexpected error occurred. Please include this ErrorId "
                                  "if you contact support: 1449177261-25412 (-1406281046)")
        else:
            code = {400: "MALFORMED_REQUEST", 401: "INVALID_SESSION_ID",
                    403: "INSUFFICIENT_ACCESS", 404: "NOT_FOUND"}.get(decision.status,
                                                                     "UNKNOWN_EXCEPTION")
            err = SalesforceError(decision.status, code, f"Injected fault: {code}")
        if self._kit is not None:
            err.headers["Sforce-Limit-Info"] = self._kit.backend.limit_info()
        return err

    def not_found(self, request: Request) -> SimulatorError:
        return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")

    def method_not_allowed(self, request: Request) -> SimulatorError:
        return SalesforceError(405, "METHOD_NOT_ALLOWED",
                               f"HTTP Method '{request.method}' not allowed for this resource")

    def internal_error(self) -> SimulatorError:
        return SalesforceError(500, "UNKNOWN_EXCEPTION",
                               "An unexpected error occurred. Please include this ErrorId if "
                               "you contact support: 1449177261-25412 (-1406281046)")

    def idempotency_mismatch(self, key: str) -> SimulatorError:  # no idempotent routes
        return SalesforceError(400, "INVALID_INPUT", f"Idempotency key reused: {key}")

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return SalesforceError(409, "INVALID_INPUT", f"Request in flight: {key}")

    def sign_webhook(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        """The timestamp is signed with the body (like Stripe's scheme): changing either
        breaks the signature, so a receiver's replay window cannot be sidestepped."""
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
        return {"X-Sfdc-Timestamp": str(timestamp),
                "X-Sfdc-Signature": base64.b64encode(mac).decode()}

    # -- OpenAPI -------------------------------------------------------------------------------
    def openapi_components(self) -> dict[str, Any]:
        return openapi.components()

    def openapi_error_content(self) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return [{"bearerAuth": []}]

    def openapi_paths(self) -> dict[str, Any]:
        return openapi.admin_paths()

    # -- admin: session expiry, change event subscriptions --------------------------------------
    def extra_routes(self, kit: Kit) -> list[Any]:
        # fault_error has no request; it reads the usage header through the kit kept here
        self._kit = kit
        backend: SalesforceBackend = kit.backend  # type: ignore[assignment]

        def admin_error(status: int, code: str, message: str) -> Response:
            return _json({"error": {"code": code, "message": message}}, status)

        async def list_subscriptions(request: Request) -> Response:
            return _json({"data": [{k: v for k, v in s.items() if k != "secret"}
                                   for s in backend.subscriptions()]})

        async def subscribe(request: Request) -> Response:
            try:
                data = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return admin_error(400, "invalid_json", "body is not JSON")
            url = data.get("url") if isinstance(data, dict) else None
            secret = data.get("secret", reveal(kit.config.change_event_secret)) \
                if isinstance(data, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return admin_error(422, "invalid_request", "url: an http(s) URL is required")
            if not isinstance(secret, str):
                return admin_error(422, "invalid_request", "secret: must be a string")
            sub = backend.subscribe(url, secret)
            kit.store.flush()
            return _json({k: v for k, v in sub.items() if k != "secret"}, 201)

        async def unsubscribe(request: Request) -> Response:
            if not backend.unsubscribe(request.path_params["subscription_id"]):
                return admin_error(404, "not_found", "no such subscription")
            kit.store.flush()
            return _json({"deleted": True})

        async def expire_sessions(request: Request) -> Response:
            ended = backend.expire_sessions()
            kit.store.flush()
            return _json({"expired": ended})

        return [
            Route("/_sim/crm/sessions/expire", expire_sessions, methods=["POST"]),
            Route("/_sim/crm/subscriptions", list_subscriptions, methods=["GET"]),
            Route("/_sim/crm/subscriptions", subscribe, methods=["POST"]),
            Route("/_sim/crm/subscriptions/{subscription_id}", unsubscribe, methods=["DELETE"]),
        ]
