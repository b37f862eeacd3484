"""The kit's per-request shortcuts (issue 14) keep the pipeline's behaviour.

Shortcuts: endpoints mounted as plain ASGI apps, no fault decision while no rule is set,
no receive loop for a request without a body, metric children looked up once per label set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Router

import simulators
from simulators._kit import (
    Call,
    Endpoint,
    FaultDecision,
    IdFactory,
    JSONResponse,
    PreparedJSONResponse,
    Simulator,
    SimulatorError,
    StateStore,
    build_app,
    header_value,
    json_response,
    serve_in_thread,
)
from simulators._kit.routing import IndexedRouter


class EchoError(SimulatorError):
    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code

    def to_response(self) -> Response:
        return json_response({"error": self.code}, self.status)


class EchoSimulator(Simulator):
    name = "echo"

    def endpoints(self) -> list[Endpoint]:
        def echo(call: Call) -> Response:
            return json_response({"body": call.body.decode(), "path": call.path_params})

        def boom(call: Call) -> Response:
            raise RuntimeError("unexpected")

        return [Endpoint("POST", "/echo/{id}", echo), Endpoint("GET", "/echo/{id}", echo),
                Endpoint("GET", "/boom", boom)]

    def authenticate(self, request: Request) -> str | None:
        if request.headers.get("authorization") != "Bearer ok":
            raise EchoError(401, "unauthorized")
        return "ok"

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        return EchoError(decision.status, decision.action or "fault")

    def not_found(self, request: Request) -> SimulatorError:
        return EchoError(404, "no_route")

    def internal_error(self) -> SimulatorError:
        return EchoError(500, "internal")


AUTH = {"Authorization": "Bearer ok"}


@pytest.fixture
def echo() -> Iterator[httpx.Client]:
    with serve_in_thread(build_app(EchoSimulator())) as server, \
            httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_bodies_are_read_with_length_or_chunked_and_empty_without(echo: httpx.Client) -> None:
    assert echo.post("/echo/1", content=b"a=1", headers=AUTH).json()["body"] == "a=1"

    def chunks():  # type: ignore[no-untyped-def]
        yield b"part1&"
        yield b"part2"

    chunked = echo.post("/echo/2", content=chunks(), headers=AUTH)
    assert chunked.json() == {"body": "part1&part2", "path": {"id": "2"}}
    assert echo.get("/echo/3", headers=AUTH).json() == {"body": "", "path": {"id": "3"}}


def test_errors_and_routing_render_in_the_vendor_shape(echo: httpx.Client) -> None:
    assert echo.get("/echo/1").json() == {"error": "unauthorized"}
    assert echo.get("/boom", headers=AUTH).json() == {"error": "internal"}
    missing = echo.get("/nowhere", headers=AUTH)
    assert (missing.status_code, missing.json()) == (404, {"error": "no_route"})
    assert echo.delete("/echo/1", headers=AUTH).json() == {"error": "no_route"}  # 405 hook


def test_faults_apply_once_configured_and_stop_when_cleared(echo: httpx.Client) -> None:
    assert echo.get("/echo/1", headers=AUTH).status_code == 200
    rule = {"rules": [{"kind": "error", "status": 503, "route": "/echo/*"}]}
    assert echo.put("/_sim/faults", json=rule).status_code == 200
    faulted = echo.get("/echo/1", headers=AUTH)
    assert (faulted.status_code, faulted.json()) == (503, {"error": "error"})
    assert echo.delete("/_sim/faults").status_code in (200, 204)
    assert echo.get("/echo/1", headers=AUTH).status_code == 200


def test_journal_and_metrics_count_every_request(echo: httpx.Client) -> None:
    app_kit = echo.get("/_sim/health")  # admin calls are neither journaled nor counted
    assert app_kit.status_code == 200
    for _ in range(3):
        echo.get("/echo/1", headers={**AUTH, "X-Correlation-ID": "c-1"})
    echo.get("/echo/1")  # 401
    journal = echo.get("/_sim/journal").json()
    entries = journal["data"]
    assert [e["status"] for e in entries] == [200, 200, 200, 401]
    assert entries[0]["correlation_id"] == "c-1" and entries[-1]["correlation_id"] is None
    assert entries[0]["route"] == "/echo/{id}"
    metrics = echo.get("/_sim/metrics").text
    assert ('sim_requests_total{method="GET",route="/echo/{id}",simulator="echo",'
            'status="200"} 3.0') in metrics
    assert 'status="401"} 1.0' in metrics
    assert 'sim_request_duration_seconds_count{route="/echo/{id}",simulator="echo"} 4.0' \
        in metrics


def test_metrics_registry_is_the_kits() -> None:
    app = build_app(EchoSimulator())
    kit = app.state.kit
    assert b"sim_requests_total" in generate_latest(kit.metrics.registry)


def _chosen(router: Any, method: str, path: str) -> tuple[str, Any]:
    """What a router does with a request: the route it hands it to, or its fallback."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    candidates = (router.candidates(path, method) if hasattr(router, "candidates")
                  else router.routes)
    for route in candidates:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return "full", route
    return "fallback", None  # Starlette's own scan decides: partial (405), redirect or 404


@pytest.mark.parametrize("name", simulators.names())
def test_indexed_router_picks_the_route_starlette_picks(name: str) -> None:
    if not simulators.is_available(name):
        pytest.skip(f"{name} is not built yet")
    app = build_app(simulators.simulator_class(name)())
    assert isinstance(app.router, IndexedRouter)
    plain = Router(list(app.router.routes))
    paths = set()
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if path is None:
            continue
        filled = re.sub(r"\{[^}]+\}", "x1", path)
        paths.update({filled, filled + "/", filled.rstrip("/") + "/extra", filled[:-1]})
    paths.update({"/", "/nowhere", "/v1", "/_sim", "/_sim/"})
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            want = _chosen(plain, method, path)
            got = _chosen(app.router, method, path)
            assert got == want, (method, path)


def test_ids_are_the_digit_by_digit_base62_of_the_hash() -> None:
    """The chunked base-62 encoding mints exactly the ids the digit-by-digit one did."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def by_digit(seed: int, prefix: str, n: int, length: int) -> str:
        digest = hashlib.blake2b(f"{seed}:{prefix}:{n}".encode(), digest_size=16).digest()
        num, chars = int.from_bytes(digest, "big"), []
        for _ in range(length):
            num, rem = divmod(num, 62)
            chars.append(alphabet[rem])
        return f"{prefix}_{''.join(chars)}" if prefix else "".join(chars)

    for seed in (0, 7):
        ids = IdFactory(StateStore(), seed)
        for n in range(1, 40):
            length = n % 27 + 1  # every length from 1 to 27, tails of 0-3 digits included
            assert ids.new("cus", length) == by_digit(seed, "cus", n, length)


@pytest.mark.parametrize("status", [200, 201, 204, 304, 404, 500])
@pytest.mark.parametrize("headers", [None, {}, {"Request-Id": "req_1", "Stripe-Version": "v"},
                                     {"Content-Type": "application/problem+json"},
                                     {"content-length": "3"}, {"X-A": "1", "x-a": "2"}])
@pytest.mark.parametrize("media_type", [None, "application/json", "text/plain"])
def test_json_headers_are_starlettes(status: int, headers: dict[str, str] | None,
                                     media_type: str | None) -> None:
    """The kit's JSONResponse builds exactly the header list Starlette's Response would."""
    class StarlettesJSON(Response):
        media_type = "application/json"

    content = {"id": "cus_1", "name": "Jenny Rosen", "ü": [1, 2]}
    ours = JSONResponse(content, status, headers, media_type)
    theirs = StarlettesJSON(ours.body, status, headers, media_type)
    assert ours.raw_headers == theirs.raw_headers
    assert ours.body == orjson.dumps(content)


@pytest.mark.parametrize("status", [200, 201, 204, 304, 404, 500])
@pytest.mark.parametrize("headers", [{}, {"Request-Id": "req_1", "Stripe-Version": "v"},
                                     {"X-A": "1", "x-a": "2"}])
def test_prepared_json_is_json_response(status: int, headers: dict[str, str]) -> None:
    """Pre-serialized bytes and wire-form headers give the response json_response gives."""
    content = {"id": "cus_1", "name": "Jenny Rosen", "ü": [1, 2]}
    want = json_response(content, status, headers)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    got = PreparedJSONResponse(orjson.dumps(content), status, raw)
    assert (got.status_code, got.body, got.raw_headers, got.media_type) == \
        (want.status_code, want.body, want.raw_headers, want.media_type)
    assert dict(got.headers) == dict(want.headers)


def test_header_value_is_the_first_as_starlette_finds_it() -> None:
    scope = {"type": "http", "headers": [(b"stripe-version", b"a"), (b"x", b""),
                                         (b"stripe-version", b"b")]}
    request = Request(scope)
    for name in ("stripe-version", "x", "missing"):
        value = header_value(scope, name.encode())
        assert (None if value is None else value.decode("latin-1")) == request.headers.get(name)


def test_vendor_requests_take_the_direct_path_and_the_rest_starlettes(
        echo: httpx.Client) -> None:
    """A fully matched vendor request skips Starlette's middleware; errors, admin calls and
    unknown routes still get it, and every vendor request is journaled either way."""
    assert echo.get("/echo/7?x=1", headers=AUTH).json() == {"body": "", "path": {"id": "7"}}
    assert echo.get("/echo/7/").status_code in (307, 404)  # Starlette's redirect or 404
    assert echo.get("/boom", headers=AUTH).json() == {"error": "internal"}
    assert echo.patch("/echo/7", headers=AUTH).json() == {"error": "no_route"}
    assert echo.get("/_sim/journal").status_code == 200
    entries = echo.get("/_sim/journal", params={"limit": 10}).json()["data"]
    assert [(e["method"], e["path"], e["route"], e["status"]) for e in entries][:3] == [
        ("GET", "/echo/7", "/echo/{id}", 200), ("GET", "/echo/7/", "unmatched",
                                                 entries[1]["status"]),
        ("GET", "/boom", "/boom", 500)]
    assert entries[0]["query"] == "x=1"
    assert entries[-1]["method"] == "PATCH" and entries[-1]["route"] == "unmatched"


def test_direct_path_is_off_when_more_middleware_is_added() -> None:
    """Middleware a user adds runs on every vendor request: the direct path steps aside."""
    seen: list[str] = []

    class Spy:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.app(scope, receive, send)

    app = build_app(EchoSimulator())
    app.add_middleware(Spy)
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/echo/1", headers=AUTH).status_code == 200
    assert seen == ["/echo/1"]


def test_a_reset_is_journaled_with_the_status_it_had_started(echo: httpx.Client) -> None:
    """A reset fault starts a 200 and then drops the connection: the journal and the metrics
    say 200 (what was started), on the direct path as before it existed."""
    rule = {"rules": [{"kind": "reset", "route": "/echo/*"}]}
    assert echo.put("/_sim/faults", json=rule).status_code == 200
    with pytest.raises(httpx.HTTPError):
        echo.get("/echo/1", headers=AUTH)
    assert echo.delete("/_sim/faults").status_code in (200, 204)
    entries = echo.get("/_sim/journal").json()["data"]
    assert [(e["status"], e["fault"]) for e in entries] == [(200, "reset")]
    assert ('sim_requests_total{method="GET",route="/echo/{id}",simulator="echo",'
            'status="200"} 1.0') in echo.get("/_sim/metrics").text
