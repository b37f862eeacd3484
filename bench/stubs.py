"""Peer stub definitions and the load script, all generated from one :class:`Reference`.

Each peer is given the work a hand-written Stripe stub would do: match method, path and the
``Authorization`` header (Prism checks that the bearer scheme is present), and answer with
the reference status, headers and body byte for byte. Nothing here starts a process.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qsl

from .reference import Exchange, Reference

# Response headers the peers send besides the body; Mountebank closes every connection
# unless the stub asks for keep-alive (PERF-NOTES), which would measure TCP set-up instead.
_KEEP_ALIVE = {"Connection": "keep-alive"}


def _headers(ex: Exchange) -> dict[str, str]:
    headers = {k: v for k, v in ex.response_headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = ex.response_headers.get("content-type", "application/json")
    return headers


def wiremock_mappings(ref: Reference) -> list[dict[str, Any]]:
    """One WireMock mapping per exchange (files for ``<root>/mappings/``)."""
    out = []
    for ex in ref.exchanges().values():
        request: dict[str, Any] = {
            "method": ex.method,
            "url": ex.path,
            "headers": {"Authorization": {"equalTo": ex.request_headers["Authorization"]}},
        }
        out.append({
            "request": request,
            "response": {"status": ex.status, "body": ex.body, "headers": _headers(ex)},
        })
    return out


def mountebank_config(ref: Reference, port: int) -> dict[str, Any]:
    """A Mountebank config file with one HTTP imposter on ``port`` serving both exchanges."""
    stubs = []
    for ex in ref.exchanges().values():
        stubs.append({
            "predicates": [{"equals": {
                "method": ex.method,
                "path": ex.path,
                "headers": {"Authorization": ex.request_headers["Authorization"]},
            }}],
            # a string body is sent as is (an object would be re-serialized by Mountebank)
            "responses": [{"is": {"statusCode": ex.status, "headers": {**_headers(ex),
                                                                        **_KEEP_ALIVE},
                                  "body": ex.body}}],
        })
    return {"imposters": [{"protocol": "http", "port": port, "host": "127.0.0.1",
                           "name": "stripe-customers", "recordRequests": False,
                           "stubs": stubs}]}


def _find_operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The operation of ``spec`` whose templated path matches ``path``."""
    want = path.strip("/").split("/")
    for template, item in spec.get("paths", {}).items():
        parts = template.strip("/").split("/")
        if len(parts) != len(want) or method.lower() not in item:
            continue
        if all(p == w or (p.startswith("{") and p.endswith("}")) for p, w in zip(parts, want,
                                                                                  strict=True)):
            return item[method.lower()]  # type: ignore[no-any-return]
    raise KeyError(f"{method} {path} is not in the OpenAPI document")


def prism_spec(spec: dict[str, Any], ref: Reference) -> dict[str, Any]:
    """Our served OpenAPI with the reference bodies as the static examples Prism returns.

    Prism's static mode answers with the example of the lowest 2xx response; a named
    ``examples`` map would win over ``example``, so it is dropped for these two operations.
    """
    spec = copy.deepcopy(spec)
    for ex in ref.exchanges().values():
        operation = _find_operation(spec, ex.method, ex.path)
        responses = operation.setdefault("responses", {})
        ok = responses.setdefault(str(ex.status), {"description": "OK"})
        for code in [c for c in responses if c.startswith("2") and c != str(ex.status)]:
            del responses[code]  # the lowest 2xx must be the reference one
        media = ok.setdefault("content", {}).setdefault("application/json", {})
        media.pop("examples", None)
        media["example"] = json.loads(ex.body)
        _unused_encodings_dropped(operation, ex)
    return spec


def _unused_encodings_dropped(operation: dict[str, Any], ex: Exchange) -> None:
    """Drop the form ``encoding`` entries of properties the request does not send.

    Prism 5.14 deserializes a declared ``deepObject`` property that is absent from the body
    as an empty object and then fails its ``required`` fields (``shipping must have required
    property 'name'``), answering 400 to every create. Without the entry it validates the
    request as sent; the schema itself is unchanged.
    """
    form = (operation.get("requestBody", {}).get("content", {})
            .get("application/x-www-form-urlencoded"))
    if not form or "encoding" not in form:
        return
    sent = {key.split("[", 1)[0] for key, _ in parse_qsl(ex.request_body,
                                                         keep_blank_values=True)}
    for name in list(form["encoding"]):
        if name.split("[", 1)[0] not in sent:
            del form["encoding"][name]


def fixture_spec(ref: Reference) -> dict[str, Any]:
    """A minimal OpenAPI of the two operations, for Prism while our simulator is absent."""
    customer = {"type": "object", "additionalProperties": True}
    bearer: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    form = {"content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "additionalProperties": True}}}}
    return prism_spec({
        "openapi": "3.0.3",
        "info": {"title": "Stripe customers (bench fixture)", "version": "1"},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": bearer,
        "paths": {
            "/v1/customers": {"post": {
                "operationId": "PostCustomers", "requestBody": form,
                "responses": {"200": {"description": "OK", "content": {
                    "application/json": {"schema": customer}}}}}},
            "/v1/customers/{customer}": {"get": {
                "operationId": "GetCustomersCustomer",
                "parameters": [{"name": "customer", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK", "content": {
                    "application/json": {"schema": customer}}}}}},
        },
    }, ref)


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII


def wrk_script(ex: Exchange) -> str:
    """A wrk Lua script sending ``ex`` and printing one JSON line of results at the end."""
    lines = [f"wrk.method = {_lua_string(ex.method)}"]
    for name, value in ex.request_headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if ex.request_body:
        lines.append(f"wrk.body = {_lua_string(ex.request_body)}")
    lines.append("""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
""")
    return "\n".join(lines)
