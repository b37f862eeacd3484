"""The apps' own cost per request, in process, with no sockets and no load generator.

``python -m bench.inproc`` calls each app of :mod:`bench.apps` directly as ASGI for N
requests of each reference exchange and reports CPU microseconds per request
(``time.process_time``, so another engineer's tests on the other core disturb it far less
than they disturb wrk). It leaves out what every Python app shares (uvicorn, httptools,
the socket), so the differences are what the apps themselves cost: the kit's pipeline,
the simulator's handler. ``--profile APP`` runs pyinstrument over the same loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .apps import APPS, billing_available, build
from .reference import Exchange, Reference, capture_asgi, fixture_reference

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope(ex: Exchange) -> dict[str, Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in ex.request_headers.items()]
    headers += [(b"host", b"127.0.0.1"), (b"user-agent", b"bench.inproc")]
    if ex.request_body:
        headers.append((b"content-length", str(len(ex.request_body)).encode()))
    path, _, query = ex.path.partition("?")
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": ex.method, "scheme": "http", "path": path,
            "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
            "state": {}}


async def call(app: ASGIApp, ex: Exchange) -> tuple[int, bytes]:
    """One request through ``app``; its status and body."""
    body = ex.request_body.encode()
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(_scope(ex), receive, send)
    return status, b"".join(chunks)


async def per_request_us(app: ASGIApp, ex: Exchange, n: int, rounds: int = 5) -> float:
    """CPU microseconds per request: the best of ``rounds`` rounds of ``n // rounds``
    requests, after a 10% warm-up (the best round is the one least disturbed by others)."""
    for _ in range(max(1, n // 10)):
        await call(app, ex)
    per_round = max(1, n // rounds)
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        for _ in range(per_round):
            await call(app, ex)
        best = min(best, (time.process_time() - started) / per_round)
    return best * 1e6


def reference_for(name: str) -> Reference:
    """The reference answers: captured in process from ours when it is available."""
    if billing_available() is None:
        return asyncio.run(capture_asgi(build("billing", fixture_reference())))
    return fixture_reference()


async def _prepare(name: str, ref: Reference) -> ASGIApp:
    app: ASGIApp = build(name, ref)  # type: ignore[assignment]
    if name.startswith("billing"):
        await call(app, ref.post)  # the reference customer (seeded ids: the same id)
    return app


async def measure_all(names: list[str], n: int, ref: Reference) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in names:
        app = await _prepare(name, ref)
        out[name] = {method: round(await per_request_us(app, ex, n), 1)
                     for method, ex in ref.exchanges().items()}
    return out


def profile(name: str, method: str, n: int, ref: Reference) -> str:
    from pyinstrument import Profiler

    ex = ref.exchanges()[method]

    text = ""

    async def run() -> None:
        app = await _prepare(name, ref)
        for _ in range(n // 10):
            await call(app, ex)
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        profiler.start()
        for _ in range(n):
            await call(app, ex)
        profiler.stop()
        nonlocal text
        text = profiler.output_text(unicode=False, color=False, show_all=False)

    asyncio.run(run())
    return text


def calls_per_request(name: str, method: str, ref: Reference, small: int = 100,
                      large: int = 600) -> float:
    """Python function calls per request (cProfile's count, difference of two runs): as
    deterministic as callgrind's instructions, a second instead of minutes, but a proxy."""
    import cProfile
    import pstats

    ex = ref.exchanges()[method]

    async def count(n: int) -> int:
        app = await _prepare(name, ref)
        for _ in range(50):
            await call(app, ex)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            await call(app, ex)
        profiler.disable()
        return int(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]

    return (asyncio.run(count(large)) - asyncio.run(count(small))) / (large - small)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="requests per exchange")
    parser.add_argument("--only", default=",".join(APPS))
    parser.add_argument("--profile", choices=APPS, help="pyinstrument one app instead")
    parser.add_argument("--method", choices=("GET", "POST"), default="GET")
    parser.add_argument("--calls", action="store_true",
                        help="Python function calls per request instead of CPU time")
    args = parser.parse_args(argv)
    names = [a for a in APPS if a in args.only.split(",")]
    if billing_available() is not None:
        names = [a for a in names if not a.startswith("billing")]
    ref = reference_for("billing")
    if args.profile:
        print(profile(args.profile, args.method, args.n, ref))
        return
    if args.calls:
        print("Python function calls per request (cProfile, (600 - 100) requests)")
        print(f"{'app':<14}{'GET':>9}{'POST':>9}")
        for name in names:
            counts = [calls_per_request(name, m, ref) for m in ("GET", "POST")]
            print(f"{name:<14}{counts[0]:>9.1f}{counts[1]:>9.1f}", flush=True)
        return
    results = asyncio.run(measure_all(names, args.n, ref))
    print(f"CPU us per request, in process, n={args.n} (reference from {ref.source})")
    print(f"{'app':<14}{'GET':>9}{'POST':>9}")
    for name, row in results.items():
        print(f"{name:<14}{row['GET']:>9.1f}{row['POST']:>9.1f}")
    if "ceiling" in results:
        base = results["ceiling"]
        for name, row in results.items():
            if name != "ceiling":
                print(f"  {name} / ceiling cost: GET {row['GET'] / base['GET']:.2f}x, "
                      f"POST {row['POST'] / base['POST']:.2f}x")


if __name__ == "__main__":
    main()
