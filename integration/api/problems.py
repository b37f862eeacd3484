"""Every error the layer answers is an RFC 9457 problem (``application/problem+json``), and
the OpenAPI documents each one an operation can answer with the schema it really has.

- :func:`install` registers the exception handlers: ``HTTPException`` (404, 405 with the
  ``Allow`` header of the whole resource, 400 for a body that does not parse, ...; these keep
  the ``application/json`` media type consumers pin) and request validation (422 with the
  pydantic errors, without echoing the input back).
- :func:`document` completes the generated OpenAPI: an operation whose inputs FastAPI
  validates documents 422 as :class:`ValidationProblem`, one with a body 400, one with path
  parameters 404, and every other documented 4xx/5xx gets the :class:`Problem` schema.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .schemas import Problem

MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One reason a request was refused (pydantic's error, without the input)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationProblem(Problem):
    """HTTP 422: the request does not match this operation's schema (``errors`` says where),
    or it cannot be processed as sent (an idempotency key reused with another request)."""

    errors: list[FieldError] = Field(default_factory=list)


def problem(status: int, title: str, detail: str, *, headers: dict[str, str] | None = None,
            media_type: str = MEDIA_TYPE, **extra: Any) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status,
                         "detail": detail, **extra}, status_code=status, headers=headers,
                        media_type=media_type)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI documents for the resource at ``path`` (Starlette's 405 lists
    only those of the first route that matched the path)."""
    methods: set[str] = set()
    for template, item in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in item if m.upper() in _METHODS}
    return sorted(methods)


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    # the media type these answers always had: consumers pin it (customer-portal's pact on
    # the 404 of a read); the body is a problem all the same
    return problem(exc.status_code, _phrase(exc.status_code), detail, headers=headers,
                   media_type="application/json")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
               "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
              for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return problem(422, "Request validation failed",
                   f"{where}: {first['msg']}" if where else str(first["msg"]), errors=errors)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_REF = "#/components/schemas/"
# refusals of schema-valid input a response documents (read by `harness fuzz`)
REJECTIONS_EXTENSION = "x-o2c-valid-input-rejections"
_CHALLENGE = {"WWW-Authenticate": {"description": "the RFC 6750 Bearer challenge (error, "
                                                  "error_description, scope)",
                                   "schema": {"type": "string"}}}


def _content(name: str) -> dict[str, Any]:
    # a route's own problems are application/problem+json; HTTPException's (the 404 of a
    # read, 405, a body that does not parse) keep application/json — same schema
    schema = {"schema": {"$ref": _REF + name}}
    return {MEDIA_TYPE: schema, "application/json": schema}


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """The generated OpenAPI with every problem response the layer can answer."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldError, ValidationProblem):
        schema = model.model_json_schema(ref_template=_REF + "{model}")
        schema.pop("$defs", None)
        schemas[model.__name__] = schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, item in spec.get("paths", {}).items():
        if path == "/oauth/token":  # RFC 6749 §5.2 errors, documented by the route itself
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if operation.get("security"):  # RFC 6750: no/bad token 401, missing scope 403
                responses.setdefault("401", {"description": "No bearer token, or an invalid "
                                                            "or expired one",
                                             "headers": _CHALLENGE})
                responses.setdefault("403", {"description": "The token lacks the scope this "
                                                            "operation needs",
                                             "headers": _CHALLENGE})
            params = operation.get("parameters", [])
            if "422" in responses:  # FastAPI validates this operation's inputs
                rejections = responses["422"].get(REJECTIONS_EXTENSION)
                responses["422"] = {"description": "The request does not match this schema, "
                                                   "or cannot be processed as sent",
                                    "content": _content("ValidationProblem")}
                if rejections:  # refusals of schema-valid input the route documents
                    responses["422"][REJECTIONS_EXTENSION] = rejections
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "The body does not parse"})
            if any(p.get("in") == "path" for p in params):
                responses.setdefault("404", {"description": "Not found"})
            for code, response in responses.items():
                if code[0] in "45" and code != "422":
                    response["content"] = _content("Problem")
    return spec
