"""OpenAPI 3.1 assembly: the vendor operations declared on each endpoint + the admin API."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .admin import ClockAdvance, ClockSet, Snapshot
from .base import ImportRequest, SeedRequest
from .data import LOCALE_COUNTRY
from .faults import PROFILES, FaultConfig

if TYPE_CHECKING:
    from .app import Endpoint, Simulator

ADMIN_TAG = "admin"
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ADMIN_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "detail": {}}}},
}
_OBJ = {"type": "object"}


def _query(name: str, schema: dict[str, Any], description: str = "",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def _enumerate_known_names(components: dict[str, Any]) -> None:
    """Only the built-in fault profiles and the supported Faker locales are accepted (custom
    profiles are expanded by the harness before they reach a simulator)."""
    components["FaultConfig"]["properties"]["profile"] = {
        "anyOf": [{"type": "string", "enum": sorted(PROFILES)}, {"type": "null"}]}
    components["SeedRequest"]["properties"]["locales"]["items"] = {
        "type": "string", "enum": sorted(LOCALE_COUNTRY)}
    # a latency rule needs its distribution (FaultRule._check)
    components["FaultRule"]["allOf"] = [{
        "if": {"properties": {"kind": {"const": "latency"}}, "required": ["kind"]},
        "then": {"required": ["latency"],
                 "properties": {"latency": {"$ref": "#/components/schemas/Latency"}}}}]


def _enumerate_import_kinds(components: dict[str, Any], kinds: tuple[str, ...]) -> None:
    """``kind`` names one of the simulator's import kinds (any other is a 422 unknown_kind)."""
    kind = {"type": "string", "enum": list(kinds)}
    components["ImportBatch"]["properties"]["kind"] = kind
    components["ImportRequest"]["properties"]["kind"] = {"anyOf": [kind, {"type": "null"}]}


def _import_refusals(err: dict[str, Any], vendor_error: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sim/import``'s error responses: the kit's own (bad request body, unknown kind)
    or, for a record the vendor refuses, the vendor's error body under the vendor's 4xx status
    (a vendor that puts refusals on HTTP 500, as SOAP 1.1 does, answers 422 here: a refused
    record is the caller's error). Header X-Sim-Import-Failed-At names the record."""
    def either(description: str) -> dict[str, Any]:
        content = {media: dict(body) for media, body in vendor_error.items()}
        vendor_json = content.get("application/json", {}).get("schema")
        content["application/json"] = {"schema": {"anyOf": [err, vendor_json]}
                                       if vendor_json else err}
        return {"description": description, "content": content}

    return {
        "400": either("Bad body, or a record the vendor refuses with 400"),
        "422": either("Invalid body or unknown kind, or a record the vendor refuses"),
        "default": {"description": "A record the vendor refuses: the vendor's own error body; "
                                   "header X-Sim-Import-Failed-At names it (kind[index])",
                    "content": vendor_error,
                    # records are the vendor's wire shapes, judged by the vendor's own
                    # rules (harness.fuzz: documented refusals of schema-valid input)
                    "x-o2c-valid-input-rejections": [{
                        "header": "X-Sim-Import-Failed-At",
                        "why": "a record the vendor itself would refuse"}]},
    }


def admin_paths(components: dict[str, Any], import_kinds: tuple[str, ...] = (),
                vendor_error: dict[str, Any] | None = None) -> dict[str, Any]:
    err = {"$ref": "#/components/schemas/AdminError"}
    components["AdminError"] = _ADMIN_ERROR
    bad = {"400": _json(err, "Bad query or body"), "422": _json(err, "Invalid body")}

    def op(summary: str, responses: dict[str, Any], body: dict[str, Any] | None = None,
           params: list[dict[str, Any]] | None = None, required: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"tags": [ADMIN_TAG], "summary": summary, "responses": responses}
        if body is not None:
            out["requestBody"] = {"required": required,
                                  "content": {"application/json": {"schema": body}}}
        if params:
            out["parameters"] = params
        return out

    snapshot = _model_schema(Snapshot, components)
    limit = _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000})
    paths = {
        "/_sim/reset": {"post": op("Forget all state", {"200": _json(_OBJ)})},
        "/_sim/seed": {"post": op("Generate realistic data", {"200": _json(_OBJ), **bad},
                                  _model_schema(SeedRequest, components))},
        "/_sim/import": {"post": op(
            "Import records in the vendor's wire shape (history: '_at' per record)",
            {"200": _json(_OBJ), **_import_refusals(err, vendor_error or {
                "application/json": {"schema": _OBJ}})},
            _model_schema(ImportRequest, components))},
        "/_sim/snapshot": {
            "get": op("Export the whole state", {"200": _json(snapshot)}),
            "put": op("Restore a state", {"200": _json(_OBJ), **bad,
                                          "409": _json(err, "Snapshot of another simulator")},
                      snapshot, required=True),
        },
        "/_sim/snapshot/digest": {"get": op(
            "SHA-256 of the bytes GET /_sim/snapshot would return now", {"200": _json({
                "type": "object", "required": ["simulator", "sha256", "bytes"],
                "properties": {"simulator": {"type": "string"}, "sha256": {"type": "string"},
                               "bytes": {"type": "integer"}}})})},
        "/_sim/journal": {"get": op("Requests received", {"200": _json(_OBJ), **bad}, params=[
            limit, _query("path", {"type": "string"}, "path prefix"),
            _query("method", {"type": "string"})])},
        "/_sim/webhooks": {"get": op("Webhook deliveries and their attempts",
                                     {"200": _json(_OBJ), **bad}, params=[
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 5000}),
            _query("event_id", {"type": "string"}),
            _query("body", {"type": "boolean"}, "include the delivered body")])},
        "/_sim/faults": {
            "get": op("Active fault rules", {"200": _json(_OBJ)}),
            "put": op("Set fault rules (a named profile and/or rules)", {"200": _json(_OBJ), **bad},
                      _model_schema(FaultConfig, components)),
            "delete": op("Clear all faults", {"200": _json(_OBJ)}),
        },
        "/_sim/clock": {"get": op("The simulator clock", {"200": _json(_OBJ)}),
                        "put": op("Put the clock at an instant, running or frozen",
                                  {"200": _json(_OBJ), **bad},
                                  _model_schema(ClockSet, components), required=True)},
        "/_sim/clock/advance": {"post": op("Move the clock forward and run what is due",
                                           {"200": _json(_OBJ), **bad, "409": _json(
                                               err, "'to' is before the clock's current time")},
                                           _model_schema(ClockAdvance, components),
                                           required=True)},
        "/_sim/await": {"get": op("Long-poll until a fact is recorded", {"200": _json(_OBJ), **bad},
                                  params=[
            _query("kind", {"type": "string", "minLength": 1}, "fact kind", True),
            _query("key", {"type": "string", "minLength": 1}, "business key", True),
            _query("timeout", {"type": "number", "minimum": 0, "maximum": 300}, "seconds")])},
        "/_sim/facts": {"get": op("Recorded facts", {"200": _json(_OBJ), **bad}, params=[
            _query("kind", {"type": "string"}),
            _query("since", {"type": "number", "minimum": 0, "maximum": 1e12}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 100000})])},
        "/_sim/metrics": {"get": op("Prometheus metrics", {"200": {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}}}})},
        "/_sim/health": {"get": op("Liveness", {"200": _json(_OBJ)})},
    }
    _enumerate_known_names(components)
    _enumerate_import_kinds(components, import_kinds)
    return paths


def build_openapi(simulator: Simulator, endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for ep in endpoints:
        path = _PARAM.sub(r"{\1}", ep.path)
        operation = dict(ep.operation)
        if not ep.auth:
            operation.setdefault("security", [])
        paths.setdefault(path, {})[ep.method.lower()] = operation
    vendor_components = simulator.openapi_components()
    schemas = dict(vendor_components.get("schemas", {}))
    paths.update(admin_paths(schemas, simulator.backend_class.import_kinds,
                             simulator.openapi_error_content()))
    for path, item in simulator.openapi_paths().items():  # may add methods to a vendor path
        paths.setdefault(path, {}).update(item)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": simulator.title, "version": simulator.api_version,
                 "description": simulator.description},
        "paths": paths,
        "components": {**vendor_components, "schemas": schemas},
        "tags": [{"name": ADMIN_TAG,
                  "description": "Simulator control (not part of the vendor API)"}],
    }
    security = simulator.openapi_security()
    if security:
        spec["security"] = security
        for path, ops in paths.items():
            if path.startswith("/_sim/"):
                for operation in ops.values():
                    operation["security"] = []
    return spec
