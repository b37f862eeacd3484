"""The security surface of the API: ``POST /oauth/token`` (OAuth2 client credentials,
RFC 6749 §4.4 with §5.1 answers and §5.2 errors), ``GET /audit`` (the audit trail), and the
handler that turns a refused request into an RFC 9457 problem with its RFC 6750 challenge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, Query, Request, Security
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from .. import audit, correlation
from ..auth import TOKEN_PATH, AuthError, Authority, TokenError, require
from ..auth_settings import SCOPES
from ..residency import ResidencyViolation
from .problems import problem
from .timestamps import rfc3339

router = APIRouter(tags=["security"])


def scoped(*scopes: str) -> list[Any]:
    """The dependencies of a route that needs ``scopes`` (documented in the OpenAPI)."""
    return [Security(require, scopes=list(scopes))]


class TokenOut(BaseModel):
    """RFC 6749 §5.1: a successful token answer."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2: a refused token request."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant",
                   "unauthorized_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str | None = None


_FORM = {
    "type": "object", "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string", "minLength": 1, "maxLength": 200},
        "client_secret": {"type": "string", "minLength": 1, "maxLength": 500},
        "scope": {"type": "string", "description": "space-separated subset of: "
                                                   + " ".join(sorted(SCOPES))},
    },
}
_OAUTH_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorOut"}}}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_error(err: TokenError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if err.status == 401:
        # §5.2: 401 with the authentication scheme the client may use (HTTP Basic)
        headers["WWW-Authenticate"] = 'Basic realm="o2c-integration"'
    body: dict[str, Any] = {"error": err.error, "error_description": err.description}
    return JSONResponse(body, status_code=err.status, headers=headers)


@router.post(TOKEN_PATH, summary="OAuth2 token (client credentials grant)",
             response_model=TokenOut,
             responses={400: {"description": "RFC 6749 §5.2 error (invalid_request, "
                                             "unsupported_grant_type, invalid_scope)",
                              "content": _OAUTH_ERROR},
                        401: {"description": "invalid_client", "content": _OAUTH_ERROR}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-www-form-urlencoded": {"schema": _FORM}}},
                 "security": []})
async def token(request: Request) -> JSONResponse:
    authority: Authority = request.app.state.authority
    db = request.app.state.services.db
    try:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            raise TokenError("invalid_request", "the body must be "
                             "application/x-www-form-urlencoded (RFC 6749 §4.4.2)")
        try:
            pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True,
                              strict_parsing=False)
        except UnicodeDecodeError:
            raise TokenError("invalid_request", "the body is not UTF-8") from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:  # §3.2: parameters MUST NOT be included more than once
                raise TokenError("invalid_request", f"{name} is repeated")
            form[name] = value
        grant_type = form.get("grant_type")
        if not grant_type:
            raise TokenError("invalid_request", "grant_type is missing")
        client = authority.issuer.authenticate(request.headers.get("authorization"), form)
        if grant_type != "client_credentials":
            raise TokenError("unsupported_grant_type", "only client_credentials is supported",
                             client_id=client.client_id)
        grant = authority.issuer.grant(client, form.get("scope"))
    except TokenError as err:
        audit.record(db, client_id=err.client_id or "anonymous", action="auth.token",
                     method="POST", target=TOKEN_PATH, outcome=audit.outcome_of(err.status),
                     status=err.status, correlation_id=correlation.current_id(),
                     detail=f"{err.error}: {err.description}")
        return _token_error(err)
    audit.record(db, client_id=client.client_id, action="auth.token", method="POST",
                 target=TOKEN_PATH, outcome="ok", status=200,
                 correlation_id=correlation.current_id(), detail=f"scope: {grant.scope}")
    return JSONResponse(grant.body(), headers=_NO_STORE)


#: an RFC 3339 date-time with offset (not a number of seconds, not a local time)
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(rfc3339)]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    client_id: str
    action: str
    method: str
    target: str
    outcome: str
    status: int
    detail: str
    correlation_id: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page; "
                                                  "null on the last page")


@router.get("/audit", summary="The audit trail (oldest first, keyset paging)",
            dependencies=scoped("audit:read"), response_model=AuditPage)
async def get_audit(
        request: Request,
        client_id: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=60)] = None,
        outcome: Annotated[Literal["ok", "denied", "refused", "failed"] | None,
                           Query()] = None,
        target: Annotated[str | None, Query(max_length=500,
                                            description="a prefix of the target")] = None,
        correlation_id: Annotated[str | None, Query(max_length=128)] = None,
        since: Annotated[Rfc3339 | None, Query()] = None,
        until: Annotated[Rfc3339 | None, Query()] = None,
        after_id: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditPage:
    entries, cursor = audit.query(
        request.app.state.services.db,
        audit.AuditFilter(client_id=client_id, action=action, outcome=outcome, target=target,
                          correlation_id=correlation_id, since=since, until=until),
        after_id=after_id, limit=limit)
    return AuditPage(entries=[AuditEntryOut(**e) for e in entries], next_after_id=cursor)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    audit.record(request.app.state.services.db, client_id=exc.client_id or "anonymous",
                 action=audit.action_of(request.scope), method=request.method,
                 target=audit.target_of(request.scope), outcome="denied", status=exc.status,
                 correlation_id=correlation.current_id(),
                 detail=f"{exc.error or 'no token'}: {exc.description}")
    title = "Unauthorized" if exc.status == 401 else "Forbidden"
    extra = {"error": exc.error} if exc.error else {}
    if exc.scope:
        extra["scope"] = exc.scope
    return problem(exc.status, title, exc.description,
                   headers={"WWW-Authenticate": exc.challenge()}, **extra)


def refuse_residency(request: Request, err: ResidencyViolation) -> JSONResponse:
    """A data-residency refusal: a 409 problem naming the system, and an audit row."""
    v = err.violation
    principal = getattr(request.state, "principal", None)
    audit.record(request.app.state.services.db,
                 client_id=principal.client_id if principal else "anonymous",
                 action="residency.refused", method=request.method, target=v.subject,
                 outcome="refused", status=409, correlation_id=correlation.current_id(),
                 detail=f"{v.system} ({v.endpoint_region}) not allowed for {v.data_region} "
                        f"data")
    return problem(409, "Data residency violation", str(err), system=v.system,
                   endpoint_region=v.endpoint_region, data_region=v.data_region)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AuthError, _refused)
