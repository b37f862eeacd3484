"""The app factory: a Starlette app per simulator with the kit's pipeline on every endpoint.

Per request: fault decision → authentication → idempotency reservation → injected latency →
handler → store flush → idempotent result saved. Vendor errors raised anywhere render in the
vendor's shape; an unexpected exception renders as the vendor's 500 and is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .base import Backend, SimContext, SimulatorConfig, SimulatorError
from .faults import FaultDecision
from .http import ResetResponse, json_response, quiet_reset_faults
from .observe import Metrics, ObserveMiddleware, RequestJournal
from .routing import IndexedRouter
from .store import open_store
from .webhooks import WebhookResponse

log = logging.getLogger("o2c.simulators")


@dataclass
class Call:
    """What a handler gets: the request, its body read once, the caller, and the backend."""

    request: Request
    body: bytes
    principal: str | None
    backend: Any
    simulator: Simulator

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def query(self) -> Any:
        return self.request.query_params

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.request.headers.get(name, default)


Handler = Callable[[Call], Response | Awaitable[Response]]


@dataclass
class Endpoint:
    """One vendor route. ``operation`` is its OpenAPI operation object (served as the truth)."""

    method: str
    path: str
    handler: Handler
    operation: dict[str, Any] = field(default_factory=dict)
    auth: bool = True
    idempotent: bool = False


def generic_error(status: int, message: str) -> SimulatorError:
    """A plain JSON error, the fallback of the error hooks below (vendors override them)."""
    err = SimulatorError(message)
    err.status = status
    return err


class Simulator:
    """A simulated vendor system. Subclasses set the class attributes and override the hooks;
    every vendor simulator overrides the error hooks with its vendor's own error bodies."""

    name: ClassVar[str] = "simulator"
    title: ClassVar[str] = "Simulator"
    description: ClassVar[str] = ""
    api_version: ClassVar[str] = "1.0"
    backend_class: ClassVar[type[Backend]] = Backend
    config_class: ClassVar[type[SimulatorConfig]] = SimulatorConfig

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or self.config_class()

    # -- hooks -----------------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        return []

    def authenticate(self, request: Request) -> str | None:
        """Return the principal or raise the vendor's auth error."""
        return None

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        """The vendor's error for an injected error/rate-limit/outage/timeout."""
        return generic_error(decision.status or 500, f"injected fault: {decision.action}")

    def not_found(self, request: Request) -> SimulatorError:
        """The vendor's error for an unknown route or resource."""
        return generic_error(404, f"no such resource: {request.url.path}")

    def method_not_allowed(self, request: Request) -> SimulatorError:
        return self.not_found(request)

    def internal_error(self) -> SimulatorError:
        """The vendor's error for a failure inside the simulator (a 500)."""
        return generic_error(500, "internal error")

    def idempotency_mismatch(self, key: str) -> SimulatorError:
        """The vendor's error for a key reused with other parameters."""
        return generic_error(400, f"idempotency key {key!r} was used with other parameters")

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        """The vendor's error for a key whose first request is still running."""
        return generic_error(409, f"idempotency key {key!r} is in use by a request still running")

    def idempotency_key_invalid(self, key: str) -> SimulatorError | None:
        """The vendor's error for a key it refuses outright (e.g. too long); None: accepted."""
        return None

    def sign_webhook(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        return {}

    def webhook_accepted(self, response: WebhookResponse) -> bool:
        return 200 <= response.status_code < 300

    def openapi_components(self) -> dict[str, Any]:
        return {}

    def openapi_error_content(self) -> dict[str, Any]:
        """The vendor's error body as OpenAPI ``content`` (media type → schema): what a
        refused ``POST /_sim/import`` record answers with. Vendors override it."""
        return {"application/json": {"schema": {
            "type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["message"],
                "properties": {"message": {"type": "string"}}}}}}}

    def openapi_security(self) -> list[dict[str, list[str]]]:
        return []

    def extra_routes(self, kit: Kit) -> list[Any]:
        """Non-vendor routes a simulator serves outside the pipeline (e.g. a WSDL file)."""
        return []

    def openapi_paths(self) -> dict[str, Any]:
        """OpenAPI path items of the ``extra_routes`` (merged into ``/openapi.json``)."""
        return {}


class Kit:
    """One running simulator: its config, context, backend, journal and metrics."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.config = simulator.config
        self.store = open_store(self.config.store)
        self.ctx = SimContext(simulator=simulator, config=self.config, store=self.store)
        self.backend = simulator.backend_class(self.ctx)
        self.journal = RequestJournal()
        self.metrics = Metrics(simulator.name)
        self.endpoints = simulator.endpoints()
        self._inflight_keys: set[str] = set()
        meta = self.store.collection("_meta").get("clock")
        if meta:
            self.ctx.clock.restore(meta)
        if not self.store.collection("_meta").get("initialized"):
            self.reset()
        else:
            self.apply_startup_faults()

    def apply_startup_faults(self) -> None:
        if self.config.faults is not None:
            self.ctx.faults.configure(self.config.faults, self.ctx.clock.now())

    def reset(self) -> None:
        self.store.clear()
        self.ctx.webhooks.clear()
        self.journal.clear()
        self.ctx.faults.clear()
        self._inflight_keys.clear()
        self.backend.reset()
        self.apply_startup_faults()  # configured faults outlive a reset, like the config
        self.store.collection("_meta").put("initialized", {"at": self.ctx.clock.now()})
        self.save_clock()
        self.store.flush()

    def save_clock(self) -> None:
        self.store.collection("_meta").put("clock", self.ctx.clock.persisted())

    def tick(self) -> None:
        self.backend.tick(self.ctx.clock.now())
        self.store.flush()

    # -- the pipeline ---------------------------------------------------------------------
    def asgi(self, endpoint: Endpoint) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """An endpoint as the plain ASGI app ``build_app`` mounts.

        Starlette would wrap a function endpoint in a second exception-handling layer and
        build the request itself; the adapter already turns every exception into the vendor's
        response, so the route gets this thinner one (same behaviour, less per request).
        """
        return _EndpointApp(self, endpoint)

    async def _run(self, request: Request, endpoint: Endpoint, is_async: bool) -> Response:
        sim = self.simulator
        # no rules (the usual case under load): skip the decision, and the URL it would parse
        decision = (self.ctx.faults.decide(request.method, request.url.path,
                                           self.ctx.clock.now())
                    if self.ctx.faults.rules else _NO_FAULT)
        if decision.rules:
            request.scope["o2c.fault"] = ",".join(decision.rules)
            for kind in decision.rules:
                self.metrics.faults.labels(sim.name, kind).inc()
        if decision.action == "reset":
            return ResetResponse()
        if decision.action == "timeout":
            await asyncio.sleep(decision.timeout_s)
            raise sim.fault_error(decision)
        if decision.action is not None:
            if decision.delay_s:
                await asyncio.sleep(decision.delay_s)
            raise sim.fault_error(decision)
        principal = sim.authenticate(request) if endpoint.auth else None
        body = await _read_body(request)
        idem_key = request.headers.get("idempotency-key") if endpoint.idempotent else None
        if idem_key is None:
            if decision.delay_s:
                await asyncio.sleep(decision.delay_s)
            call = Call(request, body, principal, self.backend, sim)  # _handle, inlined
            response = (await endpoint.handler(call)  # type: ignore[misc]
                        if is_async else endpoint.handler(call))
            self.store.flush()
            return response  # type: ignore[return-value]
        return await self._idempotent(request, endpoint, body, principal, is_async, idem_key,
                                      decision)

    async def _handle(self, request: Request, endpoint: Endpoint, body: bytes,
                      principal: str | None, is_async: bool) -> Response:
        call = Call(request, body, principal, self.backend, self.simulator)
        if is_async:
            return await endpoint.handler(call)  # type: ignore[no-any-return,misc]
        return endpoint.handler(call)  # type: ignore[return-value]

    async def _idempotent(self, request: Request, endpoint: Endpoint, body: bytes,
                          principal: str | None, is_async: bool, key: str,
                          decision: FaultDecision) -> Response:
        sim = self.simulator
        refused = sim.idempotency_key_invalid(key)
        if refused is not None:
            raise refused
        scoped = f"{principal or ''}|{key}"
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
        ).hexdigest()
        saved_coll = self.store.collection("_idempotency")
        saved = saved_coll.get(scoped)
        if saved is not None:
            if saved["fingerprint"] != fingerprint:
                raise sim.idempotency_mismatch(key)
            headers = dict(saved["headers"])
            headers["Idempotent-Replayed"] = "true"
            return Response(saved["body"].encode(), status_code=saved["status"], headers=headers,
                            media_type=saved.get("media_type"))
        if scoped in self._inflight_keys:
            raise sim.idempotency_in_flight(key)
        self._inflight_keys.add(scoped)
        try:
            if decision.delay_s:
                await asyncio.sleep(decision.delay_s)
            try:
                response = await self._handle(request, endpoint, body, principal, is_async)
            except SimulatorError as err:
                response = err.to_response()
            if response.status_code < 500 and response.status_code != 429:
                saved_coll.put(scoped, {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "body": bytes(response.body).decode("utf-8", "replace"),
                    "media_type": response.media_type,
                    "headers": {k: v for k, v in response.headers.items()
                                if k.lower() not in ("content-length", "content-type")},
                    "at": self.ctx.clock.now(),
                })
            self.store.flush()
            response.headers["Idempotency-Key"] = key
            return response
        finally:
            self._inflight_keys.discard(scoped)


class _EndpointApp:
    """An ASGI app (a class, so Starlette's Route mounts it as is) around one endpoint: the
    kit's pipeline, every exception rendered as the vendor's response."""

    __slots__ = ("endpoint", "is_async", "kit")

    def __init__(self, kit: Kit, endpoint: Endpoint) -> None:
        self.kit = kit
        self.endpoint = endpoint
        self.is_async = inspect.iscoroutinefunction(endpoint.handler)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> int:
        """Serve one request; the status it was answered with."""
        scope["o2c.route"] = self.endpoint.path
        request = Request(scope, receive, send)
        try:
            response = await self.kit._run(request, self.endpoint, self.is_async)
        except SimulatorError as err:
            response = err.to_response()
        except Exception:
            sim = self.kit.simulator
            log.exception("%s: unhandled error on %s %s", sim.name, request.method,
                          request.url.path)
            response = sim.internal_error().to_response()
        try:
            await response(scope, receive, send)
        except BaseException:  # a reset fault, a client gone: what had been started
            scope["o2c.status"] = response.status_code
            raise
        return response.status_code


class KitStarlette(Starlette):
    """Starlette, with a direct path for vendor requests.

    A request that fully matches a vendor endpoint goes straight to the request journal and
    the endpoint: every exception is already rendered by the endpoint, so Starlette's
    server-error and exception middleware (and the router's own call) only cost time on it.
    Everything else (admin API, 404, 405, redirects, lifespan) takes Starlette's full stack.
    """

    observer: ObserveMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observer = self.observer
        if (observer is not None and scope["type"] == "http"
                and not scope["path"].startswith("/_sim/")
                and len(self.user_middleware) == 1):  # the observer alone: nothing skipped
            router = self.router
            if isinstance(router, IndexedRouter):
                scope["app"] = self
                scope["router"] = router
                endpoint = getattr(router.full_match(scope), "app", None)
                if isinstance(endpoint, _EndpointApp):
                    await observer.observe_endpoint(endpoint, scope, receive, send)
                    return
                for key in ("route", "path_params", "endpoint"):  # as if never matched
                    scope.pop(key, None)
        await super().__call__(scope, receive, send)


_NO_FAULT = FaultDecision()  # read-only: what decide() returns when no rule applies


async def _read_body(request: Request) -> bytes:
    """The request body; a request with neither Content-Length nor Transfer-Encoding has
    none (RFC 9112 6.3), so most GETs skip the receive loop."""
    headers = request.scope["headers"]
    for name, _ in headers:
        if name == b"content-length" or name == b"transfer-encoding":
            return await request.body()
    return b""


def _allowed_methods(request: Request) -> str:
    """Every method served on the request's resource (one Route per method, so ask them all).

    The resource is the first path template that matches, as in routing: ``/describe`` also
    matches a later ``/{record_id}`` template, whose methods are not this resource's (an
    ``Allow`` listing them was found by schemathesis' allow_header_conformance)."""
    routes = [r for r in request.app.routes if getattr(r, "path_regex", None) is not None]
    first = next((r for r in routes if r.path_regex.match(request.url.path)), None)
    if first is None:
        return ""
    methods = {m for r in routes if r.path == first.path for m in (r.methods or ())}
    return ", ".join(sorted(methods))


def build_app(simulator: Simulator) -> Starlette:
    """The ASGI app of one simulator; ``app.state.kit`` is its :class:`Kit`."""
    from .admin import admin_routes
    from .openapi import build_openapi

    quiet_reset_faults()
    kit = Kit(simulator)
    routes: list[Any] = [
        Route(ep.path, kit.asgi(ep), methods=[ep.method]) for ep in kit.endpoints
    ]
    spec_cache: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        if "spec" not in spec_cache:
            spec_cache["spec"] = build_openapi(simulator, kit.endpoints)
        return json_response(spec_cache["spec"])

    routes.append(Route("/openapi.json", openapi, methods=["GET"]))
    routes.extend(admin_routes(kit))
    routes.extend(simulator.extra_routes(kit))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await kit.ctx.webhooks.start()
        ticker = asyncio.create_task(_tick_forever(kit), name=f"{simulator.name}-ticker")
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await kit.ctx.webhooks.stop()
            kit.save_clock()
            kit.store.close()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/_sim/") or request.url.path == "/openapi.json":
            # the harness's own API answers in its own shape, with 405 + Allow (not a vendor's)
            from .admin import admin_error

            response = admin_error(exc.status_code, "method_not_allowed"
                                   if exc.status_code == 405 else "not_found", exc.detail)
            if exc.status_code == 405:
                response.headers["Allow"] = _allowed_methods(request)
            return response
        if exc.status_code == 405:  # RFC 9110 §15.5.6: a 405 carries Allow (found by fuzzing)
            response = simulator.method_not_allowed(request).to_response()
            if response.status_code == 405:
                response.headers["Allow"] = _allowed_methods(request)
            return response
        return simulator.not_found(request).to_response()

    app = KitStarlette(routes=routes, lifespan=lifespan,
                       exception_handlers={HTTPException: http_error})
    # same routes and lifespan as Starlette's own router, tried in a cheaper order
    app.router = IndexedRouter(routes, lifespan=lifespan)
    app.state.kit = kit
    app.add_middleware(ObserveMiddleware, journal=kit.journal, metrics=kit.metrics,
                       clock=kit.ctx.clock)
    # the same journal and metrics on the direct path of vendor requests
    app.observer = ObserveMiddleware(app.router, journal=kit.journal, metrics=kit.metrics,
                                     clock=kit.ctx.clock)
    return app


async def _tick_forever(kit: Kit) -> None:
    while True:
        await asyncio.sleep(kit.config.tick_interval_s)
        try:
            kit.tick()
        except Exception:  # a bad tick must not kill the simulator
            log.exception("%s: tick failed", kit.simulator.name)
