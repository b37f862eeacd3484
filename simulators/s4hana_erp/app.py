"""The S/4HANA simulator: OData v2 services, Basic auth, the CSRF handshake and SAP-shaped
errors for everything the kit injects or cannot route.

CSRF: a GET/HEAD with ``x-csrf-token: Fetch`` returns a token in the ``x-csrf-token`` response
header and a session cookie (``SAP_SESSIONID_O2C_<client>``); writes must send both the token
and the cookie, else 403 with ``x-csrf-token: Required``. Sessions live in memory: after a
restart clients fetch a new token, as they must after an SAP session expires.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.canonical.secrets import reveal
from simulators._kit import Call, Endpoint, FaultDecision, Kit, Simulator, json_response
from simulators._kit.admin import admin_error

from . import openapi as oa
from .config import Config
from .errors import (
    CSRF_FAILED,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    NOT_AUTHORIZED,
    RATE_LIMITED,
    RESOURCE_NOT_FOUND,
    SERVICE_UNAVAILABLE,
    TIMEOUT,
    SapError,
)
from .models import S4Backend
from .routes import ServiceRoutes, in_service
from .services import SERVICES

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ODATA_ROOT = "/sap/opu/odata/sap/"


def _json_integer(value: Any) -> Any:
    """A JSON Schema integer: ``2024`` or ``2024.0``, never ``"2024"`` or ``true``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class PeriodChange(BaseModel):
    """Body of ``PUT /_sim/erp/periods``, typed as the served schema says: ``"2024"`` is no
    year and ``"true"`` no boolean (``2024.0`` is a JSON integer all the same)."""

    model_config = ConfigDict(extra="forbid")
    company_code: StrictStr = Field(pattern=r"^(\*|[A-Z0-9]{4})$")
    fiscal_year: JsonInt = Field(ge=1900, le=9999)
    period: JsonInt | None = Field(default=None, ge=1, le=16)
    closed: StrictBool


class S4HanaSimulator(Simulator):
    """SAP S/4HANA Cloud as an O2C integration sees it (OData v2 over HTTPS/Basic auth)."""

    name = "cloud_erp"
    title = "SAP S/4HANA Cloud (simulated)"
    description = (
        "OData v2 services under /sap/opu/odata/sap/: API_BUSINESS_PARTNER (business partners "
        "with customer and company-code data, deep insert), API_O2C_JOURNALENTRY_SRV (customer "
        "invoices as journal entries) and API_O2C_INCOMINGPAYMENT_SRV (incoming payments with "
        "clearing, open items). Each serves $metadata (EDMX) and JSON only. Writes need the "
        "x-csrf-token handshake. The two O2C services are modeled on SAP's journal entry APIs; "
        "see the module docstring of simulators.s4hana_erp.services for the differences."
    )
    api_version = "2.0"
    backend_class = S4Backend
    config_class = Config

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self._sessions: dict[str, tuple[str, str]] = {}  # session id → (user, token)
        self._now: Callable[[], float] = time.time  # the kit's clock once extra_routes ran

    @property
    def cfg(self) -> Config:
        return self.config  # type: ignore[return-value]

    def _at(self) -> float:
        return self._now()

    @property
    def session_cookie(self) -> str:
        return f"SAP_SESSIONID_O2C_{self.cfg.sap_client}"

    # -- endpoints -------------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        out: list[Endpoint] = []
        for model in SERVICES.values():
            routes = ServiceRoutes(model)

            def add(method: str, path: str, handler: Callable[[Call], Response],
                    operation: dict[str, Any], op_id: str, model: Any = model) -> None:
                wrapped = self._csrf_fetch(in_service(model, self._at)(handler))
                out.append(Endpoint(method, model.root + path, wrapped,
                                    {"operationId": op_id, **operation}))

            def op_id(verb: str, es_name: str = "", nav: str = "", model: Any = model) -> str:
                return oa.operation_id(model, verb, es_name, nav)

            add("GET", "/", routes.service_document, oa.service_document(model),
                op_id("service_document"))
            add("GET", "/$metadata", routes.metadata, oa.metadata(model), op_id("metadata"))
            for es in model.sets:
                add("GET", f"/{es.name}", routes.read_set(es), oa.read_set(model, es),
                    op_id("query", es.name))
                add("GET", f"/{es.name}/$count", routes.count(es), oa.count(model, es),
                    op_id("count", es.name))
                if es.creatable:
                    add("POST", f"/{es.name}", routes.create(es),
                        oa.create(model, es, SERVICES), op_id("create", es.name))
                add("GET", f"/{es.name}({{key}})", routes.get(es), oa.get(model, es),
                    op_id("get", es.name))
                for nav in model.entity_type(es.type).navs:
                    add("GET", f"/{es.name}({{key}})/{nav.name}", routes.navigate(es, nav),
                        oa.navigate(model, es, nav), op_id("", es.name, nav.name))
        return out

    def _csrf_fetch(self, handler: Callable[[Call], Response]) -> Callable[[Call], Response]:
        def run(call: Call) -> Response:
            response = handler(call)
            wants = (call.header("x-csrf-token") or "").lower() == "fetch"
            if wants and call.request.method in ("GET", "HEAD") and call.principal:
                session, token = self._issue_token(call.request, call.principal)
                response.headers["x-csrf-token"] = token
                response.set_cookie(self.session_cookie, session, path="/", httponly=True)
            return response

        return run

    def _issue_token(self, request: Request, user: str) -> tuple[str, str]:
        session = request.cookies.get(self.session_cookie, "")
        known = self._sessions.get(session)
        if known is not None and known[0] == user:
            return session, known[1]
        session = secrets.token_urlsafe(24)
        token = base64.b64encode(secrets.token_bytes(18)).decode()
        self._sessions[session] = (user, token)
        return session, token

    # -- auth ------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> str | None:
        user = self._basic_user(request)
        if request.method not in SAFE_METHODS and self.cfg.csrf_protection:
            token = request.headers.get("x-csrf-token", "")
            session = self._sessions.get(request.cookies.get(self.session_cookie, ""))
            if not token or session is None or session != (user, token):
                raise SapError(403, CSRF_FAILED, "CSRF token validation failed",
                               headers={"x-csrf-token": "Required"},
                               service=_service_of(request), at=self._at())
        return user

    def _basic_user(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        user = password = None
        if header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:], validate=True).decode(
                    "utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = None
        if user is None or reveal(self.cfg.users.get(user)) != password:
            raise SapError(401, NOT_AUTHORIZED, "Logon failed: user or password is incorrect",
                           headers={"www-authenticate": 'Basic realm="SAP NetWeaver '
                                    f'Application Server [O2C/{self.cfg.sap_client}]"'},
                           service=_service_of(request), at=self._at())
        return user

    # -- vendor errors for the kit -----------------------------------------------------------
    def fault_error(self, decision: FaultDecision) -> SapError:
        if decision.action == "rate_limit":
            wait = max(1, math.ceil(decision.retry_after_s))
            return SapError(429, RATE_LIMITED, f"Rate limit exceeded for the communication "
                            f"arrangement; retry after {wait} seconds",
                            headers={"Retry-After": str(wait)}, at=self._at())
        if decision.action == "timeout":
            return SapError(504, TIMEOUT, "Gateway timeout: the backend did not answer in time",
                            at=self._at())
        status = decision.status or 500
        if status == 503 or decision.action == "outage":
            return SapError(status, SERVICE_UNAVAILABLE, "Service temporarily unavailable: "
                            "the backend system is not reachable", at=self._at())
        if status == 429:
            return SapError(429, RATE_LIMITED, "Rate limit exceeded", headers={
                "Retry-After": str(max(1, math.ceil(decision.retry_after_s)))}, at=self._at())
        return SapError(status, INTERNAL if status >= 500 else f"/IWBEP/CM_MGW_RT/{status}",
                        "In the context of Data Services an unknown internal server error "
                        "occurred" if status >= 500 else f"Request failed with status {status}",
                        at=self._at())

    def not_found(self, request: Request) -> SapError:
        service = _service_of(request)
        path = request.url.path
        if path.startswith(ODATA_ROOT) and service not in SERVICES:
            return SapError(404, "/IWFND/MED/170", f"No service found for namespace '/SAP/', "
                            f"name '{service}', version '0001'", service=service, at=self._at())
        segment = path.rstrip("/").rsplit("/", 1)[-1].split("(", 1)[0]
        return SapError(404, RESOURCE_NOT_FOUND, f"Resource not found for segment '{segment}'",
                        service=service, at=self._at())

    def method_not_allowed(self, request: Request) -> SapError:
        return SapError(405, METHOD_NOT_ALLOWED, f"The HTTP method '{request.method}' is not "
                        f"allowed for the resource '{request.url.path}'",
                        service=_service_of(request), at=self._at())

    def internal_error(self) -> SapError:
        return SapError(500, INTERNAL, "In the context of Data Services an unknown internal "
                        "server error occurred", at=self._at())

    def idempotency_mismatch(self, key: str) -> SapError:
        return SapError(400, INTERNAL, "Idempotency is not supported", at=self._at())

    def idempotency_in_flight(self, key: str) -> SapError:
        return SapError(409, INTERNAL, "Idempotency is not supported", at=self._at())

    # -- OpenAPI and extra routes ------------------------------------------------------------
    def openapi_components(self) -> dict[str, Any]:
        return oa.components(list(SERVICES.values()))

    def openapi_error_content(self) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": "#/components/schemas/SapError"}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return [{"basicAuth": []}]

    def openapi_paths(self) -> dict[str, Any]:
        return oa.periods_paths()

    def extra_routes(self, kit: Kit) -> list[Any]:
        self._now = kit.ctx.clock.now
        backend: S4Backend = kit.backend

        async def list_periods(request: Request) -> Response:
            return json_response({"data": backend.ledger.periods()})

        async def change_period(request: Request) -> Response:
            raw = await request.body()
            try:
                change = PeriodChange.model_validate(orjson.loads(raw or b"{}"))
            except orjson.JSONDecodeError as exc:
                return admin_error(400, "invalid_json", f"body is not JSON: {exc}")
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "body"
                return admin_error(422, "invalid_request", f"{where}: {first['msg']}")
            backend.ledger.set_period(change.company_code, change.fiscal_year, change.period,
                                      change.closed)
            kit.store.flush()
            return json_response({"data": backend.ledger.periods()})

        return [Route("/_sim/erp/periods", list_periods, methods=["GET"]),
                Route("/_sim/erp/periods", change_period, methods=["PUT"])]


def _service_of(request: Request) -> str:
    path = request.url.path
    if not path.startswith(ODATA_ROOT):
        return ""
    return path[len(ODATA_ROOT):].split("/", 1)[0]
