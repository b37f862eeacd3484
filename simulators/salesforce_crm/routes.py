"""Thin handlers: REST wire ↔ :class:`SalesforceBackend`. Errors are raised, never built."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import orjson
from starlette.responses import Response

from harness.canonical.secrets import reveal
from simulators._kit import Call, is_digits, json_response

from . import composite
from .errors import OAuthError, SalesforceError, SoapLoginFault, invalid_grant, not_found
from .models import (
    DEFAULT_BATCH_SIZE,
    SUPPORTED_VERSIONS,
    SalesforceBackend,
    version_label,
)
from .schema import ORG_ID, SOBJECTS, USER_ID


def api_version(call: Call) -> str:
    """``59.0`` from the ``v59.0`` path segment; unknown versions are not found."""
    raw = call.path_params.get("version", "")
    if not raw.startswith("v") or raw[1:] not in SUPPORTED_VERSIONS:
        raise not_found()
    return str(raw[1:])


def json_body(call: Call) -> Any:
    if not call.body.strip():
        raise SalesforceError(400, "JSON_PARSER_ERROR",
                              "No content to map to Object due to end of input")
    try:
        return orjson.loads(call.body)
    except orjson.JSONDecodeError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR",
                              f"Unexpected character in the request body: {exc}") from None


def base_url(call: Call) -> str:
    """The simulator's own base URL as the caller reached it (scheme and host)."""
    return str(call.request.base_url).rstrip("/")


def backend(call: Call) -> SalesforceBackend:
    return call.backend  # type: ignore[no-any-return]


# -- discovery ------------------------------------------------------------------------------
def versions(call: Call) -> Response:
    return json_response([{"label": version_label(v), "url": f"/services/data/v{v}",
                           "version": v} for v in SUPPORTED_VERSIONS])


def resources(call: Call) -> Response:
    v = api_version(call)
    base = f"/services/data/v{v}"
    return json_response({name: f"{base}/{name}" for name in
                          ("sobjects", "query", "queryAll", "composite", "limits")})


def global_describe(call: Call) -> Response:
    v = api_version(call)
    return json_response({"encoding": "UTF-8", "maxBatchSize": 200,
                          "sobjects": [t.summary(v) for t in SOBJECTS.values()]})


def sobject_basic_info(call: Call) -> Response:
    v = api_version(call)
    t = backend(call).sobject_type(call.path_params["sobject"])
    recent = sorted((d for d in backend(call).records(t.name).values() if not d["IsDeleted"]),
                    key=lambda d: d["LastModifiedDate"], reverse=True)[:3]
    return json_response({"objectDescribe": t.summary(v), "recentItems": [
        backend(call).render(t, d, v, ["Id", "Name"]) for d in recent]})


def sobject_describe(call: Call) -> Response:
    v = api_version(call)
    return json_response(backend(call).sobject_type(call.path_params["sobject"]).describe(v))


def limits(call: Call) -> Response:
    api_version(call)
    return json_response(backend(call).limits())


# -- records ----------------------------------------------------------------------------------
def _fields_param(call: Call) -> list[str] | None:
    raw = call.query.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def create_record(call: Call) -> Response:
    v = api_version(call)
    new_id = backend(call).create(call.path_params["sobject"], json_body(call), v)
    return json_response({"id": new_id, "success": True, "errors": []}, 201)


def get_record(call: Call) -> Response:
    v = api_version(call)
    return json_response(backend(call).get(call.path_params["sobject"],
                                           call.path_params["record_id"], v,
                                           _fields_param(call)))


def update_record(call: Call) -> Response:
    v = api_version(call)
    backend(call).update(call.path_params["sobject"], call.path_params["record_id"],
                         json_body(call), v)
    return Response(status_code=204)


def delete_record(call: Call) -> Response:
    api_version(call)
    backend(call).delete(call.path_params["sobject"], call.path_params["record_id"])
    return Response(status_code=204)


def get_by_external_id(call: Call) -> Response:
    v = api_version(call)
    b = backend(call)
    t = b.sobject_type(call.path_params["sobject"])
    _, doc = b.find_by_external_id(t, call.path_params["field"], call.path_params["value"])
    if doc is None:
        raise not_found()
    return json_response(b.render(t, doc, v, _fields_param(call)))


def upsert_by_external_id(call: Call) -> Response:
    """201 with the new id when created; an update answers 200 with ``created: false`` from
    API 46.0 on and 204 before (as Salesforce does)."""
    v = api_version(call)
    created, rec_id = backend(call).upsert(call.path_params["sobject"], call.path_params["field"],
                                           call.path_params["value"], json_body(call), v)
    if created:
        return json_response({"id": rec_id, "success": True, "errors": [], "created": True}, 201)
    if float(v) < 46.0:
        return Response(status_code=204)
    return json_response({"id": rec_id, "success": True, "errors": [], "created": False}, 200)


# -- query ----------------------------------------------------------------------------------
def _batch_size(call: Call) -> int:
    """``Sforce-Query-Options: batchSize=N`` (Salesforce honours 200..2000)."""
    for option in (call.header("sforce-query-options") or "").split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "batchsize" and is_digits(value.strip()):
            return int(value.strip())
    return DEFAULT_BATCH_SIZE


def _run_query(call: Call, include_deleted: bool) -> Response:
    v = api_version(call)
    q = call.query.get("q")
    if q is None:
        raise SalesforceError(400, "MALFORMED_QUERY",
                              "A query string must be provided (parameter 'q').")
    return json_response(backend(call).query(q, include_deleted=include_deleted,
                                             batch_size=_batch_size(call), version=v))


def query(call: Call) -> Response:
    return _run_query(call, include_deleted=False)


def query_all(call: Call) -> Response:
    return _run_query(call, include_deleted=True)


def query_more(call: Call) -> Response:
    v = api_version(call)
    return json_response(backend(call).query_more(call.path_params["locator"], v))


# -- composite --------------------------------------------------------------------------------
def composite_sobjects(call: Call) -> Response:
    v = api_version(call)
    return json_response(composite.create_collection(backend(call), json_body(call), v))


def composite_request(call: Call) -> Response:
    v = api_version(call)
    return json_response(composite.run_composite(backend(call), json_body(call), v))


# -- authentication ---------------------------------------------------------------------------
def oauth_token(call: Call) -> Response:
    """``grant_type=password`` or ``client_credentials`` (credentials in the form or Basic)."""
    b = backend(call)
    cfg = b.config
    try:
        form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8"),
                                                keep_blank_values=True).items()}
    except UnicodeDecodeError:
        form = {}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    basic = call.header("authorization") or ""
    if basic.lower().startswith("basic "):
        try:
            pair = base64.b64decode(basic[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials") from None
        client_id, _, client_secret = pair.partition(":")
    grant = form.get("grant_type")
    if grant not in ("password", "client_credentials"):
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    if client_id is None or not hmac.compare_digest(client_id.encode(), cfg.client_id.encode()):
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if client_secret is None or not hmac.compare_digest(client_secret.encode(),
                                                        str(reveal(cfg.client_secret)).encode()):
        raise OAuthError("invalid_client", "invalid client credentials")
    if grant == "password" and not b.check_password(form.get("username", ""),
                                                    form.get("password", "")):
        raise invalid_grant()
    token = b.issue_session(base_url(call))
    return json_response(token)


_PARTNER = "urn:partner.soap.sforce.com"


def soap_login(call: Call) -> Response:
    """The partner API ``login`` call simple-salesforce uses for username/password/token.

    The SOAP endpoint's version has no leading ``v`` (``/services/Soap/u/59.0``)."""
    v = str(call.path_params.get("version", ""))
    if v not in SUPPORTED_VERSIONS:
        raise not_found()
    try:
        root = ElementTree.fromstring(call.body)
    except ElementTree.ParseError:
        raise SoapLoginFault("INVALID_LOGIN", "Invalid request: the body is not XML") from None
    username = root.findtext(f".//{{{_PARTNER}}}username") or ""
    password = root.findtext(f".//{{{_PARTNER}}}password") or ""
    b = backend(call)
    if not b.check_password(username, password):
        raise SoapLoginFault()
    base = base_url(call)
    token = b.issue_session(base)["access_token"]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{_PARTNER}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{v}/{ORG_ID[:15]}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{v}/{ORG_ID[:15]}</serverUrl>"
        f"<sessionId>{token}</sessionId><userId>{USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userId>{USER_ID}</userId>"
        f"<userName>{escape(b.config.username)}</userName>"
        f"<sessionSecondsValid>{b.config.session_lifetime_s}</sessionSecondsValid>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body.encode(), media_type="text/xml; charset=utf-8")
