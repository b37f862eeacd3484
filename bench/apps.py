"""The Python servers of the benchmark, each runnable as ``python -m bench.apps NAME``.

- ``billing``: our billing simulator exactly as ``harness up`` serves it (kit app factory,
  kit serving: uvicorn on uvloop + httptools, one worker), stateful: every POST creates a
  customer.
- ``billing-bare``: the same simulator's handlers and backend with the kit's per-request
  pipeline removed (no journal, metrics, fault decision, idempotency or store flush; auth
  kept because it is vendor behaviour). ``billing`` / ``billing-bare`` is the kit's overhead
  on real work.
- ``kit-hello``: the kit pipeline around handlers that return the reference bytes;
  ``kit-hello`` / ``ceiling`` is the kit's overhead on no work.
- ``ceiling``: bare Starlette + uvicorn (uvloop, httptools) returning the pre-serialized
  reference bytes: the most a one-worker Python server does on this machine.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .reference import API_KEY, Reference, fixture_reference

APPS = ("billing", "billing-bare", "kit-hello", "ceiling")


def billing_available() -> str | None:
    """None when our billing simulator can be built, else why not."""
    try:
        from simulators.stripe_billing import StripeSimulator  # noqa: F401
    except Exception as exc:  # the package is being built by another engineer
        return f"simulators.stripe_billing not importable yet ({type(exc).__name__}: {exc})"
    return None


def _billing_simulator() -> Any:
    from simulators.stripe_billing import StripeSimulator

    return StripeSimulator()


def billing_app() -> Starlette:
    from simulators._kit import build_app

    return build_app(_billing_simulator())


def billing_bare_app() -> Starlette:
    """The billing handlers on the same backend, without the kit's per-request pipeline."""
    from simulators._kit import Call, Kit, SimulatorError

    simulator = _billing_simulator()
    kit = Kit(simulator)

    def wrap(endpoint: Any) -> Callable[[Request], Awaitable[Response]]:
        is_async = inspect.iscoroutinefunction(endpoint.handler)

        async def run(request: Request) -> Response:
            try:
                principal = simulator.authenticate(request) if endpoint.auth else None
                call = Call(request, await request.body(), principal, kit.backend, simulator)
                response = endpoint.handler(call)
                return await response if is_async else response  # type: ignore[no-any-return]
            except SimulatorError as err:
                return err.to_response()

        return run

    routes = [Route(ep.path, wrap(ep), methods=[ep.method]) for ep in kit.endpoints]
    app = Starlette(routes=routes)
    app.state.kit = kit
    return app


def kit_hello_app(ref: Reference) -> Starlette:
    """The kit's full pipeline (journal, metrics, faults, auth) around pre-serialized bytes."""
    from simulators._kit import (
        Call,
        Endpoint,
        FaultDecision,
        Simulator,
        SimulatorError,
        build_app,
        json_response,
    )

    class HelloError(SimulatorError):
        def __init__(self, status: int, message: str) -> None:
            self.status, self.message = status, message

        def to_response(self) -> Response:
            return json_response({"error": {"message": self.message}}, self.status)

    get_body, post_body = ref.get.body_bytes, ref.post.body_bytes
    auth = f"Bearer {API_KEY}"

    class HelloSimulator(Simulator):
        name = "hello"
        title = "kit pipeline around fixed bytes"

        def endpoints(self) -> list[Endpoint]:
            def get(call: Call) -> Response:
                return Response(get_body, media_type="application/json")

            def post(call: Call) -> Response:
                return Response(post_body, media_type="application/json")

            return [Endpoint("GET", "/v1/customers/{customer}", get),
                    Endpoint("POST", "/v1/customers", post)]

        def authenticate(self, request: Request) -> str | None:
            if request.headers.get("authorization") != auth:
                raise HelloError(401, "invalid key")
            return API_KEY

        def fault_error(self, decision: FaultDecision) -> SimulatorError:
            return HelloError(decision.status or 500, "fault")

        def not_found(self, request: Request) -> SimulatorError:
            return HelloError(404, "not found")

        def internal_error(self) -> SimulatorError:
            return HelloError(500, "internal")

    return build_app(HelloSimulator())


def ceiling_app(ref: Reference) -> Starlette:
    """Bare Starlette returning pre-serialized bytes (still reads the POST body)."""
    get_body, post_body = ref.get.body_bytes, ref.post.body_bytes

    async def get(request: Request) -> Response:
        return Response(get_body, media_type="application/json")

    async def post(request: Request) -> Response:
        await request.body()
        return Response(post_body, media_type="application/json")

    return Starlette(routes=[Route("/v1/customers/{customer}", get, methods=["GET"]),
                             Route("/v1/customers", post, methods=["POST"])])


def build(name: str, ref: Reference) -> Starlette:
    if name == "billing":
        return billing_app()
    if name == "billing-bare":
        return billing_bare_app()
    if name == "kit-hello":
        return kit_hello_app(ref)
    if name == "ceiling":
        return ceiling_app(ref)
    raise ValueError(f"unknown app {name!r}; one of {', '.join(APPS)}")


def serve(name: str, port: int, ref: Reference) -> None:
    """Serve one app on 127.0.0.1:port until SIGTERM (blocking)."""
    app = build(name, ref)
    if name == "ceiling":
        import uvicorn

        uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                    access_log=False, log_level="warning", lifespan="off")
        return
    # our apps are served the way `harness up` serves them: the kit's uvicorn set-up
    from simulators._kit.server import Served, bind, run_async, serve_all

    run_async(serve_all([Served(name, app, bind("127.0.0.1", port))]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.apps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("app", choices=APPS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference JSON written by bench.peers (default: the fixture)")
    args = parser.parse_args(argv)
    ref = Reference.load(args.reference) if args.reference else fixture_reference()
    serve(args.app, args.port, ref)


if __name__ == "__main__":
    main()
